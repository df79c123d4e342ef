CREATE TABLE "sets" (
	"id" integer PRIMARY KEY,
	"user_id" uuid,
	"name" text NOT NULL
);
--> statement-breakpoint
CREATE INDEX "sets_user_idx" ON "sets" ("user_id");--> statement-breakpoint
ALTER TABLE "sets" ADD CONSTRAINT "sets_user_id_users_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id");