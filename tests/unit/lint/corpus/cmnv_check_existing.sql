-- expect: constraint-missing-not-valid
ALTER TABLE "sets" ADD CONSTRAINT "sets_year_check" CHECK ("sets"."year" >= 1949);
