-- expect: none
CREATE TABLE "recipe" ("id" bigint PRIMARY KEY);
--> statement-breakpoint
ALTER TABLE "recipe" ADD COLUMN "public" boolean NOT NULL;
