CREATE TABLE "gallery_images" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"moc_id" uuid,
	"url" text NOT NULL,
	"width" integer,
	"height" integer,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"metadata" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "gallery_images" ADD CONSTRAINT "gallery_images_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "gallery_images" ADD CONSTRAINT "gallery_images_moc_id_moc_instructions_id_fk" FOREIGN KEY ("moc_id") REFERENCES "public"."moc_instructions"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "gallery_images_user_created_idx" ON "gallery_images" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "gallery_images_lower_url_idx" ON "gallery_images" USING btree (lower("url"));--> statement-breakpoint
CREATE INDEX "gallery_images_moc_id_idx" ON "gallery_images" USING btree ("moc_id") WHERE "gallery_images"."moc_id" is not null;--> statement-breakpoint
CREATE INDEX "gallery_images_tags_idx" ON "gallery_images" USING gin ("tags");