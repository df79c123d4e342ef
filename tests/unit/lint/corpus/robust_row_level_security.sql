-- drizzle-ops: no-transaction
-- expect: none
CREATE TABLE IF NOT EXISTS "notes" ("id" bigint);
ALTER TABLE "notes" ENABLE ROW LEVEL SECURITY;
