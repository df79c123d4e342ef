-- expect: adding-serial-primary-key-field
ALTER TABLE "account" ADD COLUMN "id" serial PRIMARY KEY;
