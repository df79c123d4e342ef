-- Undo 0002_sets_and_user_sets: drop user_sets first (it references sets), then sets.
-- The sets_id_seq sequence belongs to sets.id (serial), so it goes with the table.
-- DATA LOSS: every set and every user's set collection is deleted. Re-applying 0002 creates empty tables,
-- and sets.id numbering starts again at 1.
DROP TABLE "user_sets";--> statement-breakpoint
DROP TABLE "sets";
