ALTER TYPE "public"."moc_status" ADD VALUE 'archived';--> statement-breakpoint
CREATE TABLE "moc_parts_lists" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"moc_id" uuid NOT NULL,
	"name" text NOT NULL,
	"file_url" text NOT NULL,
	"part_count" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "moc_parts_lists_moc_id_name_unique" UNIQUE("moc_id","name")
);
--> statement-breakpoint
ALTER TABLE "moc_parts_lists" ADD CONSTRAINT "moc_parts_lists_moc_id_moc_instructions_id_fk" FOREIGN KEY ("moc_id") REFERENCES "public"."moc_instructions"("id") ON DELETE cascade ON UPDATE no action;