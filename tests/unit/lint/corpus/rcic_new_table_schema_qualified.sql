-- expect: none
CREATE TABLE "public"."wishlist_items" ("id" uuid PRIMARY KEY, "user_id" uuid NOT NULL);
--> statement-breakpoint
CREATE INDEX "wishlist_items_user_id_idx" ON "public"."wishlist_items" ("user_id");
