-- expect: transaction-nesting
START TRANSACTION;
UPDATE "users" SET "display_name" = "email";
END;
UPDATE "users" SET "display_name" = NULL;
ABORT;
