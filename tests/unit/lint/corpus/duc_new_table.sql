-- expect: none
CREATE TABLE "moc_parts_lists" ("id" uuid PRIMARY KEY, "moc_id" uuid NOT NULL, "name" text NOT NULL);
--> statement-breakpoint
ALTER TABLE "moc_parts_lists" ADD CONSTRAINT "moc_parts_lists_moc_id_name_unique" UNIQUE("moc_id","name");
