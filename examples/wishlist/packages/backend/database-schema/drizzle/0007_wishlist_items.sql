CREATE TYPE "public"."wishlist_currency" AS ENUM('USD', 'EUR', 'GBP', 'CAD', 'AUD');--> statement-breakpoint
CREATE TYPE "public"."wishlist_store" AS ENUM('LEGO', 'Barweer', 'Cata', 'BrickLink', 'Other');--> statement-breakpoint
CREATE TABLE "wishlist_items" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"title" text NOT NULL,
	"store" "wishlist_store" NOT NULL,
	"set_number" text,
	"source_url" text,
	"image_url" text,
	"price" numeric(10, 2),
	"currency" "wishlist_currency" DEFAULT 'USD' NOT NULL,
	"piece_count" integer,
	"release_date" timestamp with time zone,
	"tags" jsonb DEFAULT '[]'::jsonb,
	"priority" integer DEFAULT 0 NOT NULL,
	"notes" text,
	"sort_order" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "wishlist_items_price_non_negative" CHECK ("wishlist_items"."price" >= 0),
	CONSTRAINT "wishlist_items_priority_range" CHECK ("wishlist_items"."priority" between 0 and 5)
);
--> statement-breakpoint
ALTER TABLE "wishlist_items" ADD CONSTRAINT "wishlist_items_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "wishlist_items_user_id_idx" ON "wishlist_items" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "wishlist_items_user_sort_idx" ON "wishlist_items" USING btree ("user_id","sort_order");