-- expect: adding-field-with-default
ALTER TABLE "account" ADD COLUMN "id" bigint NOT NULL GENERATED ALWAYS AS IDENTITY;
