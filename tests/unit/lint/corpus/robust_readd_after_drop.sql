-- drizzle-ops: no-transaction
-- expect: prefer-robust-stmts
ALTER TABLE "orders" DROP CONSTRAINT IF EXISTS "orders_ref_key";
ALTER TABLE "orders" ADD CONSTRAINT "orders_ref_key" UNIQUE USING INDEX "orders_ref_idx";
ALTER TABLE "orders" ADD CONSTRAINT "orders_ref_key" UNIQUE USING INDEX "orders_ref_idx";
