-- drizzle-ops: no-transaction
-- expect: none
CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_billing_email_idx" ON "users" ("billing_email");
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_created_at_idx" ON "users" ("created_at");
