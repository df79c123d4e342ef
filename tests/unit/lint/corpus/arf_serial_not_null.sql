-- expect: adding-field-with-default
ALTER TABLE "account" ADD COLUMN "seq" serial NOT NULL;
