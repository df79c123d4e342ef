-- Undo 20261124140325_init: users and its enum. Every user row is lost.
DROP TABLE "users";--> statement-breakpoint
DROP TYPE "user_role";
