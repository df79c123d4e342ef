-- expect: none
CREATE TABLE "recipe" ("id" bigint PRIMARY KEY, "name" varchar(10));
--> statement-breakpoint
ALTER TABLE "recipe" ALTER COLUMN "name" SET DATA TYPE text;
