-- expect: ban-drop-column
ALTER TABLE "users" DROP COLUMN IF EXISTS "avatar_url";
