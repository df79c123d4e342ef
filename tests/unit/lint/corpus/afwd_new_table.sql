-- expect: none
CREATE TABLE "carts" ("id" bigint PRIMARY KEY);
--> statement-breakpoint
ALTER TABLE "carts" ADD COLUMN "token" uuid DEFAULT gen_random_uuid();
