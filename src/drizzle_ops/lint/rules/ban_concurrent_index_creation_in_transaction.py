"""ban-concurrent-index-creation-in-transaction: CONCURRENTLY inside a transaction fails."""

from __future__ import annotations

from collections.abc import Iterator

from ..finding import Severity
from ..rule import Context, Rule, Statement, Violation
from ..sqlast import is_concurrent_index_operation


def check(statement: Statement, context: Context) -> Iterator[Violation]:
    if not is_concurrent_index_operation(statement.node) or not context.in_transaction:
        return
    # A file holding nothing else may be run outside a transaction by the runner (as squawk assumes).
    if context.explicit_transaction or len(context.statements) > 1:
        where = "inside BEGIN … COMMIT" if context.explicit_transaction else "in a migration run as one transaction"
        yield Violation(f"CONCURRENTLY cannot run {where}: Postgres rejects it and the migration fails")


RULE = Rule(
    id="ban-concurrent-index-creation-in-transaction",
    squawk="ban-concurrent-index-creation-in-transaction",
    severity=Severity.ERROR,
    summary="Put CREATE/DROP/REINDEX … CONCURRENTLY in a migration that runs outside a transaction.",
    problem=(
        "Postgres refuses CREATE INDEX CONCURRENTLY (and DROP INDEX / REINDEX … CONCURRENTLY) inside "
        "a transaction block. drizzle-ops runs each migration in one transaction, so such a migration "
        "fails as soon as it reaches that statement."
    ),
    fix=(
        "Move the CONCURRENTLY statements to a migration of their own whose first line is "
        "`-- drizzle-ops: no-transaction`, and make them rerunnable with IF NOT EXISTS / IF EXISTS."
    ),
    bad=(
        'ALTER TABLE "users" ADD COLUMN "billing_email" text;\n'
        'CREATE INDEX CONCURRENTLY "users_billing_email_idx" ON "users" ("billing_email");'
    ),
    good=(
        "-- drizzle-ops: no-transaction\n"
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_billing_email_idx" ON "users" ("billing_email");'
    ),
    squawk_differences=(
        (
            "DROP INDEX CONCURRENTLY and REINDEX … CONCURRENTLY are flagged too: Postgres refuses them inside a "
            "transaction block just the same. squawk checks CREATE INDEX only."
        ),
    ),
    check=check,
)
