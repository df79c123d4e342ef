-- expect: none
ALTER TABLE "account" ADD COLUMN "seq" serial NOT NULL;
