CREATE TYPE "public"."moc_status" AS ENUM('draft', 'published');--> statement-breakpoint
CREATE TABLE "moc_instructions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"title" text NOT NULL,
	"description" text,
	"status" "moc_status" DEFAULT 'draft' NOT NULL,
	"piece_count" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "moc_instructions" ADD CONSTRAINT "moc_instructions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "moc_instructions_user_id_idx" ON "moc_instructions" USING btree ("user_id");