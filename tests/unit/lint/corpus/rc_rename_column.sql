-- expect: renaming-column
ALTER TABLE "users" RENAME COLUMN "display_name" TO "nickname";
