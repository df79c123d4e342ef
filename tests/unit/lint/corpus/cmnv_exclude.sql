-- expect: constraint-missing-not-valid
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_no_overlap" EXCLUDE USING gist ("room" WITH =, "during" WITH &&);
