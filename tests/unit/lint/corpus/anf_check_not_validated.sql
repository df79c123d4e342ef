-- expect: adding-not-nullable-field
ALTER TABLE "recipe" ADD CONSTRAINT "view_count_not_null" CHECK ("view_count" IS NOT NULL) NOT VALID;
--> statement-breakpoint
ALTER TABLE "recipe" ALTER COLUMN "view_count" SET NOT NULL;
