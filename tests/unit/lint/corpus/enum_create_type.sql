-- expect: none
CREATE TYPE "public"."wishlist_store" AS ENUM('LEGO', 'Other');
