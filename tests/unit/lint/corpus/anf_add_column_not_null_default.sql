-- expect: none
ALTER TABLE "sets" ADD COLUMN "retired" boolean DEFAULT false NOT NULL;
