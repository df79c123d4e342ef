-- expect: none
ALTER TABLE "orders" ADD COLUMN "ref" text DEFAULT next_order_ref();
