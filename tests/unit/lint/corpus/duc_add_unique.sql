-- expect: disallowed-unique-constraint
ALTER TABLE "sets" ADD CONSTRAINT "sets_set_number_unique" UNIQUE("set_number");
