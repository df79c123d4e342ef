-- expect: none
ALTER TABLE "orders" ADD COLUMN "booked_on" date DEFAULT CURRENT_DATE NOT NULL;
