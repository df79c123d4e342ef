-- expect: constraint-missing-not-valid transaction-nesting
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_customer_fk" FOREIGN KEY ("customer_id") REFERENCES "customers" ("id") NOT VALID;
ALTER TABLE "invoices" VALIDATE CONSTRAINT "invoices_customer_fk";
COMMIT;
