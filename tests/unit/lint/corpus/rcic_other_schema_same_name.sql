-- expect: require-concurrent-index-creation
CREATE TABLE "audit"."users" ("id" uuid PRIMARY KEY);
--> statement-breakpoint
CREATE INDEX "users_id_idx" ON "public"."users" ("id");
