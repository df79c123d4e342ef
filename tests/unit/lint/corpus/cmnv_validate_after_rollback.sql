-- expect: transaction-nesting
BEGIN;
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_amount_positive" CHECK ("amount" > 0) NOT VALID;
ROLLBACK;
BEGIN;
ALTER TABLE "invoices" VALIDATE CONSTRAINT "invoices_amount_positive";
COMMIT;
