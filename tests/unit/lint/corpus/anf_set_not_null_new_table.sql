-- expect: none
CREATE TABLE "recipe" ("id" bigint PRIMARY KEY, "view_count" bigint);
--> statement-breakpoint
ALTER TABLE "recipe" ALTER COLUMN "view_count" SET NOT NULL;
