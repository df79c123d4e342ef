ALTER TABLE "moc_instructions" ADD COLUMN "is_featured" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "moc_instructions" ADD COLUMN "published_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sets" ADD COLUMN "retired" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "avatar_url" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "moc_instructions" ADD CONSTRAINT "moc_instructions_piece_count_non_negative" CHECK ("moc_instructions"."piece_count" >= 0);--> statement-breakpoint
ALTER TABLE "sets" ADD CONSTRAINT "sets_year_check" CHECK ("sets"."year" >= 1949);