-- expect: none
CREATE TABLE "user_emails" AS SELECT "id", "email" FROM "users";
--> statement-breakpoint
CREATE INDEX "user_emails_email_idx" ON "user_emails" ("email");
