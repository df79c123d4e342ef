-- drizzle-ops: no-transaction
-- expect: none
ALTER TABLE "users" ALTER COLUMN "role" SET DEFAULT 'member';
--> statement-breakpoint
ALTER TABLE "users" ALTER COLUMN "display_name" DROP DEFAULT;
