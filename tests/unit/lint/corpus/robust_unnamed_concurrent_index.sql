-- drizzle-ops: no-transaction
-- expect: prefer-robust-stmts
CREATE INDEX CONCURRENTLY ON "users" ("email");
