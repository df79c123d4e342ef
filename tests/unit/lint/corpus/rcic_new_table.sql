-- expect: none
CREATE TABLE "wishlist_items" ("id" uuid PRIMARY KEY, "user_id" uuid NOT NULL);
--> statement-breakpoint
CREATE INDEX "wishlist_items_user_id_idx" ON "wishlist_items" USING btree ("user_id");
