-- expect: ban-concurrent-index-creation-in-transaction
ALTER TABLE "users" DROP CONSTRAINT IF EXISTS "users_email_unique";
--> statement-breakpoint
DROP INDEX CONCURRENTLY IF EXISTS "users_email_idx";
