-- drizzle-ops: no-transaction
-- expect: none
CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_ref_idx" ON "orders" ("ref");
--> statement-breakpoint
BEGIN;
UPDATE "orders" SET "ref" = upper("ref");
UPDATE "invoices" SET "order_ref" = upper("order_ref");
COMMIT;
