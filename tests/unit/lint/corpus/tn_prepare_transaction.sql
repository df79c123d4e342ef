-- expect: transaction-nesting
UPDATE "users" SET "display_name" = "email" WHERE "display_name" IS NULL;
PREPARE TRANSACTION 'backfill';
