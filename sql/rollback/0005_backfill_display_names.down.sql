-- Undo 0005_backfill_display_names: drop the two updated_at triggers and their function.
-- NOT UNDONE: the backfill of users.display_name. Nothing records which names were empty before 0005,
-- so the backfilled names stay. Re-applying 0005 is harmless: it only fills names that are still empty.
-- From here on, updates no longer bump updated_at automatically.
DROP TRIGGER "moc_instructions_set_updated_at" ON "moc_instructions";--> statement-breakpoint
DROP TRIGGER "users_set_updated_at" ON "users";--> statement-breakpoint
DROP FUNCTION "public"."set_updated_at"();
