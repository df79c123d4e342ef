-- Undo 0007_wishlist_items (WISH-2007): drop wishlist_items, then the two enums only it uses.
-- Its two indexes, two check constraints and foreign key to users go with the table.
-- DATA LOSS: every wishlist item is deleted. Re-applying 0007 creates an empty table.
-- Take a copy first if the rows matter: \copy wishlist_items to 'wishlist_items.csv' csv header
DROP TABLE "wishlist_items";--> statement-breakpoint
DROP TYPE "public"."wishlist_store";--> statement-breakpoint
DROP TYPE "public"."wishlist_currency";
