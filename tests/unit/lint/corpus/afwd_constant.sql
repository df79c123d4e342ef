-- expect: none
ALTER TABLE "orders" ADD COLUMN "state" text DEFAULT 'pending' NOT NULL;
