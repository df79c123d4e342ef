-- Undo 0000_init_users: drop the users table and the user_role enum.
-- drizzle-ops deletes the bookkeeping row in the same transaction; do not touch drizzle.__drizzle_migrations here.
-- DATA LOSS: every user row is deleted. Re-applying 0000 creates an empty users table.
-- No CASCADE anywhere: if anything still depends on these objects, the step fails and changes nothing.
DROP TABLE "users";--> statement-breakpoint
DROP TYPE "public"."user_role";
