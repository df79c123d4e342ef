-- expect: adding-not-nullable-field
ALTER TABLE "recipe" ALTER COLUMN "view_count" SET NOT NULL;
