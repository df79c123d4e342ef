-- expect: ban-drop-table
DROP TABLE IF EXISTS "gallery_images" CASCADE;
