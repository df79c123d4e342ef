-- expect: none
ALTER TABLE "account" ADD CONSTRAINT "account_pk" PRIMARY KEY USING INDEX "account_pk_idx";
