-- expect: adding-serial-primary-key-field
ALTER TABLE "account" ADD COLUMN "id" bigserial NOT NULL PRIMARY KEY;
