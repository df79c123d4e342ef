-- expect: transaction-nesting
COMMIT PREPARED 'backfill';
