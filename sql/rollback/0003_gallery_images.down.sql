-- Undo 0003_gallery_images: drop gallery_images; its four indexes and two foreign keys go with it.
-- DATA LOSS: every gallery image row is deleted. Re-applying 0003 creates an empty table.
DROP TABLE "gallery_images";
