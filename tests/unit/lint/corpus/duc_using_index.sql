-- expect: none
ALTER TABLE "sets" ADD CONSTRAINT "sets_set_number_unique" UNIQUE USING INDEX "sets_set_number_idx";
