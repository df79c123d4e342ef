-- expect: ban-drop-column
ALTER TABLE "users" DROP COLUMN "avatar_url";
