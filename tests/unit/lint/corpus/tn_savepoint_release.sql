-- expect: transaction-nesting
SAVEPOINT "before_cleanup";
DELETE FROM "sessions" WHERE "expires_at" < now();
RELEASE SAVEPOINT "before_cleanup";
