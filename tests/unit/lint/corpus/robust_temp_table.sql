-- drizzle-ops: no-transaction
-- expect: none
CREATE TEMP TABLE "order_ids" ("id" bigint);
CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_state_idx" ON "orders" ("state");
