-- expect: none
ALTER TABLE "sets" VALIDATE CONSTRAINT "sets_year_check";
