-- expect: none
CREATE TABLE "sets" ("id" serial PRIMARY KEY, "year" integer);
--> statement-breakpoint
ALTER TABLE "sets" ADD CONSTRAINT "sets_year_check" CHECK ("sets"."year" >= 1949);
