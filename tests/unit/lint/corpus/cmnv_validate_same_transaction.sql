-- expect: constraint-missing-not-valid
ALTER TABLE "sets" ADD CONSTRAINT "sets_year_check" CHECK ("year" >= 1949) NOT VALID;
--> statement-breakpoint
ALTER TABLE "sets" VALIDATE CONSTRAINT "sets_year_check";
