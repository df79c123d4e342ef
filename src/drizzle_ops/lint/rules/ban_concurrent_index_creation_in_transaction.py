"""ban-concurrent-index-creation-in-transaction: CONCURRENTLY where a transaction is expected."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from drizzle_ops.analysis.sqlast import closes_transaction, is_concurrent_index_operation
from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.rule import Rule, RuleContext, Statement, Violation


def check(statement: Statement, context: RuleContext) -> Iterator[Violation]:
    if not is_concurrent_index_operation(statement.node):
        return
    if context.explicit_transaction:
        yield Violation("CONCURRENTLY cannot run inside BEGIN … COMMIT: Postgres rejects it and the migration fails")
    elif any(isinstance(s.node, ast.TransactionStmt) for s in context.statements):
        # a file with its own BEGIN/COMMIT: both tools honour them, so only drizzle-kit's own transaction is in
        # the way, open until the file's first COMMIT
        if not context.marked_no_transaction and not any(closes_transaction(s.node) for s in context.earlier):
            yield Violation(
                "CONCURRENTLY before the file's first COMMIT: drizzle-kit's migrate runs it inside its own "
                "transaction, where Postgres rejects it; put `COMMIT;` before it"
            )
    elif not context.marked_no_transaction and len(context.statements) > 1:
        # Alone in its file it is fine: the runner (and squawk) run such a file outside a transaction.
        yield Violation(
            "CONCURRENTLY in a migration with other statements: drizzle-ops runs the whole file without a "
            "transaction (so a failure leaves it half applied) and drizzle-kit's migrate rejects it"
        )


RULE = Rule(
    id="ban-concurrent-index-creation-in-transaction",
    squawk="ban-concurrent-index-creation-in-transaction",
    severity=Severity.ERROR,
    summary="Put CREATE/DROP/REINDEX … CONCURRENTLY in a migration of its own, or mark it no-transaction.",
    problem=(
        "Postgres refuses CREATE INDEX CONCURRENTLY (and DROP INDEX / REINDEX … CONCURRENTLY) inside a "
        "transaction block. drizzle-kit's migrate runs every pending migration in one transaction, so it "
        "fails there. drizzle-ops notices CONCURRENTLY and runs that migration statement by statement, "
        "which silently takes the transaction away from the other statements in the file."
    ),
    fix=(
        "Move the CONCURRENTLY statements to a migration of their own; or, if the file is meant to run "
        "without a transaction, say so with `-- drizzle-ops: no-transaction` as its first line and make "
        "every statement rerunnable (prefer-robust-stmts)."
    ),
    bad=(
        'ALTER TABLE "users" ADD COLUMN "billing_email" text;\n'
        'CREATE INDEX CONCURRENTLY "users_billing_email_idx" ON "users" ("billing_email");'
    ),
    good=(
        "-- drizzle-ops: no-transaction\n"
        'ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "billing_email" text;\n'
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_billing_email_idx" ON "users" ("billing_email");'
    ),
    squawk_differences=(
        (
            "DROP INDEX CONCURRENTLY and REINDEX … CONCURRENTLY are flagged too: Postgres refuses them inside "
            "a transaction block just the same. squawk checks CREATE INDEX only."
        ),
        (
            "In a file with its own BEGIN/COMMIT (the `COMMIT; CREATE INDEX CONCURRENTLY …; BEGIN;` workaround), "
            "CONCURRENTLY after a COMMIT is accepted, as squawk accepts it: drizzle-ops runs such a file by its own "
            "boundaries (transaction-nesting warns about the file itself). Before the file's first COMMIT it is "
            "flagged: drizzle-kit's own transaction is still open there."
        ),
    ),
    check=check,
)
