-- expect: adding-enum-value
ALTER TYPE "public"."moc_status" ADD VALUE IF NOT EXISTS 'archived' BEFORE 'published';
