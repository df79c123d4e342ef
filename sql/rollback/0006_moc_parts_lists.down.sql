-- Undo 0006_moc_parts_lists: drop moc_parts_lists, and remove the value 'archived' from the moc_status enum.
-- DATA LOSS: every parts list row is deleted. Re-applying 0006 creates an empty table.
--
-- PostgreSQL cannot drop a value from an enum, so the type is recreated without it:
--   1. rows that use 'archived' become 'draft' (an archived MOC stays hidden rather than being
--      published again; re-applying 0006 does NOT turn them back into 'archived');
--   2. the old type is renamed aside, the type is created again with its 0001 values, in order;
--   3. the one column that uses it, moc_instructions.status, is converted through text (its default
--      is dropped first and set again after, because a default is typed);
--   4. the old type is dropped; it fails, and the whole step with it, if anything else still uses it.
-- Step 1 fires the set_updated_at trigger from 0005, so those rows get a new updated_at.
DROP TABLE "moc_parts_lists";--> statement-breakpoint
UPDATE "moc_instructions" SET "status" = 'draft' WHERE "status" = 'archived';--> statement-breakpoint
ALTER TYPE "public"."moc_status" RENAME TO "moc_status_before_rollback";--> statement-breakpoint
CREATE TYPE "public"."moc_status" AS ENUM('draft', 'published');--> statement-breakpoint
ALTER TABLE "moc_instructions" ALTER COLUMN "status" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "moc_instructions" ALTER COLUMN "status" SET DATA TYPE "public"."moc_status" USING "status"::text::"public"."moc_status";--> statement-breakpoint
ALTER TABLE "moc_instructions" ALTER COLUMN "status" SET DEFAULT 'draft';--> statement-breakpoint
DROP TYPE "public"."moc_status_before_rollback";
