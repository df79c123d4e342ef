-- Custom SQL migration file, put your code below! --
-- Backfill display names for accounts created before the profile form existed:
-- use the local part of the e-mail address.
UPDATE "users"
SET "display_name" = split_part("email", '@', 1)
WHERE "display_name" IS NULL OR btrim("display_name") = '';--> statement-breakpoint
CREATE OR REPLACE FUNCTION "public"."set_updated_at"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW."updated_at" = now();
	RETURN NEW;
END;
$$;--> statement-breakpoint
CREATE TRIGGER "users_set_updated_at" BEFORE UPDATE ON "users"
FOR EACH ROW EXECUTE FUNCTION "public"."set_updated_at"();--> statement-breakpoint
CREATE TRIGGER "moc_instructions_set_updated_at" BEFORE UPDATE ON "moc_instructions"
FOR EACH ROW EXECUTE FUNCTION "public"."set_updated_at"();
