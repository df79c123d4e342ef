-- expect: adding-not-nullable-field
ALTER TABLE "orders" VALIDATE CONSTRAINT "orders_total_not_null";
ALTER TABLE "orders" ALTER COLUMN "total" SET NOT NULL;
