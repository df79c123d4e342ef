-- expect: none
DO $$
BEGIN
  UPDATE "users" SET "display_name" = "email" WHERE "display_name" IS NULL;
END
$$;
