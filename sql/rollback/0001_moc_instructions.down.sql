-- Undo 0001_moc_instructions: drop moc_instructions (with its index and foreign key) and the moc_status enum.
-- DATA LOSS: every MOC instruction row is deleted. Re-applying 0001 creates an empty table.
DROP TABLE "moc_instructions";--> statement-breakpoint
DROP TYPE "public"."moc_status";
