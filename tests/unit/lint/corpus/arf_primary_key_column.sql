-- expect: adding-required-field adding-serial-primary-key-field
ALTER TABLE "account" ADD COLUMN "id" bigint PRIMARY KEY;
