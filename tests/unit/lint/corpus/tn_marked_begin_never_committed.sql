-- drizzle-ops: no-transaction
-- expect: transaction-nesting
BEGIN;
UPDATE "orders" SET "ref" = upper("ref");
