-- drizzle-ops: no-transaction
-- expect: none
CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_email_idx" ON "users" ("email");
