-- expect: ban-concurrent-index-creation-in-transaction
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "billing_email" text;
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_billing_email_idx" ON "users" ("billing_email");
