-- expect: changing-column-type
ALTER TABLE "wishlist_items" ALTER COLUMN "price" SET DATA TYPE numeric(12, 2);
