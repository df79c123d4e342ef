-- drizzle-ops: no-transaction
-- expect: transaction-nesting
BEGIN;
UPDATE "orders" SET "ref" = upper("ref");
BEGIN;
UPDATE "invoices" SET "order_ref" = upper("order_ref");
COMMIT;
