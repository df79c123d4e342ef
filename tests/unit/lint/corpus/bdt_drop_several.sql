-- expect: ban-drop-table
DROP TABLE "gallery_images", "moc_parts_lists";
