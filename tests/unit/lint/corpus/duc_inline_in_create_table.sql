-- expect: none
CREATE TABLE "moc_parts_lists" ("id" uuid PRIMARY KEY, "name" text NOT NULL, CONSTRAINT "moc_parts_lists_name_unique" UNIQUE("name"));
