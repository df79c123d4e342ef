-- expect: none
CREATE TABLE "wishlist_items" ("id" uuid PRIMARY KEY, "user_id" uuid NOT NULL);
--> statement-breakpoint
ALTER TABLE "wishlist_items" ADD CONSTRAINT "wishlist_items_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;
