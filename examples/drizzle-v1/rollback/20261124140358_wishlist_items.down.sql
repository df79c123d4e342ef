-- Undo 20261124140358_wishlist_items: the table (its index and foreign key go with it), then its enum.
DROP TABLE "wishlist_items";--> statement-breakpoint
DROP TYPE "wishlist_currency";
