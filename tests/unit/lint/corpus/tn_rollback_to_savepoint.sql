-- expect: transaction-nesting
SAVEPOINT "before_cleanup";
DELETE FROM "sessions" WHERE "expires_at" < now();
ROLLBACK TO SAVEPOINT "before_cleanup";
