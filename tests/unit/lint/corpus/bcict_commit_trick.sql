-- expect: transaction-nesting
COMMIT;
CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_ref_idx" ON "orders" ("ref");
BEGIN;
ALTER TABLE "orders" ADD CONSTRAINT "orders_ref_key" UNIQUE USING INDEX "orders_ref_idx";
