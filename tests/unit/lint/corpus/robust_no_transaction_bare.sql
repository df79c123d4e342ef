-- drizzle-ops: no-transaction
-- expect: prefer-robust-stmts
ALTER TABLE "users" ADD COLUMN "billing_email" text;
--> statement-breakpoint
CREATE INDEX CONCURRENTLY "users_billing_email_idx" ON "users" ("billing_email");
