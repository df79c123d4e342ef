-- expect: none
CREATE TABLE "account" ("id" bigint NOT NULL);
--> statement-breakpoint
ALTER TABLE "account" ADD PRIMARY KEY ("id");
