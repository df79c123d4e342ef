-- expect: renaming-column
CREATE TABLE "recipe" ("id" bigint PRIMARY KEY, "name" text);
--> statement-breakpoint
ALTER TABLE "recipe" RENAME COLUMN "name" TO "title";
