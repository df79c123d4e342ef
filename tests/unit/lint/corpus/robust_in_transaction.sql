-- expect: none
CREATE TABLE "foo" ("id" bigint PRIMARY KEY);
--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "billing_email" text;
