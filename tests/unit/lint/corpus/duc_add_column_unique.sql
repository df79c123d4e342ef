-- expect: disallowed-unique-constraint
ALTER TABLE "sets" ADD COLUMN "slug" text UNIQUE;
