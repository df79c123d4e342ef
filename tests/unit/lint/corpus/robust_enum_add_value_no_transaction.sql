-- drizzle-ops: no-transaction
-- expect: adding-enum-value prefer-robust-stmts
ALTER TYPE "public"."moc_status" ADD VALUE 'archived';
--> statement-breakpoint
ALTER TYPE "public"."moc_status" ADD VALUE IF NOT EXISTS 'retired';
