-- expect: adding-required-field
ALTER TABLE "recipe" ADD COLUMN "public" boolean NOT NULL;
