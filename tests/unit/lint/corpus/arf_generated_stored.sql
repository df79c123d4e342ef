-- expect: adding-field-with-default
ALTER TABLE "recipe" ADD COLUMN "total" integer NOT NULL GENERATED ALWAYS AS ("a" + "b") STORED;
