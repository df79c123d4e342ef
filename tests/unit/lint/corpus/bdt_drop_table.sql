-- expect: ban-drop-table
DROP TABLE "gallery_images";
