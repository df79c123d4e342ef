-- expect: none
ALTER TABLE "sets" ADD CONSTRAINT "sets_year_check" CHECK ("sets"."year" >= 1949) NOT VALID;
