-- expect: adding-field-with-default
ALTER TABLE "events" ADD COLUMN "received_at" timestamptz DEFAULT clock_timestamp();
