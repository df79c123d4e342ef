-- expect: adding-enum-value
ALTER TYPE "public"."moc_status" ADD VALUE 'archived';--> statement-breakpoint
UPDATE "moc_instructions" SET "status" = 'archived' WHERE "published_at" < now() - interval '5 years';
