-- drizzle-ops: no-transaction
-- expect: transaction-nesting
UPDATE "orders" SET "ref" = upper("ref");
COMMIT;
