-- drizzle-ops: no-transaction
-- expect: constraint-missing-not-valid
ALTER TABLE "sets" DROP CONSTRAINT IF EXISTS "sets_year_check";
--> statement-breakpoint
ALTER TABLE "sets" ADD CONSTRAINT "sets_year_check" CHECK ("year" >= 1949);
