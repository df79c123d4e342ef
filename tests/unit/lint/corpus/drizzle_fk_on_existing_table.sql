-- expect: adding-foreign-key-constraint constraint-missing-not-valid require-concurrent-index-creation
ALTER TABLE "moc_instructions" ADD COLUMN "set_id" integer;--> statement-breakpoint
ALTER TABLE "moc_instructions" ADD CONSTRAINT "moc_instructions_set_id_sets_id_fk" FOREIGN KEY ("set_id") REFERENCES "public"."sets"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "moc_instructions_set_id_idx" ON "moc_instructions" USING btree ("set_id");
