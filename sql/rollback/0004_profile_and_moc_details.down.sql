-- Undo 0004_profile_and_moc_details: drop the two check constraints, then the five added columns.
-- DATA LOSS: the values of users.avatar_url, users.updated_at, moc_instructions.is_featured,
-- moc_instructions.published_at and sets.retired are deleted. Re-applying 0004 brings the columns back
-- empty: avatar_url and published_at NULL, is_featured and retired false, updated_at the time of re-applying.
-- 0005's trigger function writes updated_at; rollback goes newest first, so 0005 is already undone here.
ALTER TABLE "sets" DROP CONSTRAINT "sets_year_check";--> statement-breakpoint
ALTER TABLE "moc_instructions" DROP CONSTRAINT "moc_instructions_piece_count_non_negative";--> statement-breakpoint
ALTER TABLE "users" DROP COLUMN "updated_at";--> statement-breakpoint
ALTER TABLE "users" DROP COLUMN "avatar_url";--> statement-breakpoint
ALTER TABLE "sets" DROP COLUMN "retired";--> statement-breakpoint
ALTER TABLE "moc_instructions" DROP COLUMN "published_at";--> statement-breakpoint
ALTER TABLE "moc_instructions" DROP COLUMN "is_featured";
