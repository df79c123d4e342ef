-- expect: transaction-nesting
BEGIN;
UPDATE "users" SET "display_name" = "email" WHERE "display_name" IS NULL;
COMMIT;
