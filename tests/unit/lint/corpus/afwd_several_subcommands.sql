-- expect: adding-field-with-default
ALTER TABLE "orders" SET LOGGED, ADD COLUMN "ref" uuid DEFAULT gen_random_uuid();
