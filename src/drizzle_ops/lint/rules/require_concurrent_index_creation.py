"""require-concurrent-index-creation: CREATE INDEX without CONCURRENTLY on an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from drizzle_ops.analysis.sqlast import table_name
from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.rule import Rule, RuleContext, Statement, Violation


def check(statement: Statement, context: RuleContext) -> Iterator[Violation]:
    node = statement.node
    if not isinstance(node, ast.IndexStmt) or node.concurrent or context.is_new_table(node.relation):
        return
    name = f"{node.idxname} " if node.idxname else ""
    yield Violation(f"CREATE INDEX {name}blocks writes to {table_name(node.relation)} until the whole index is built")


RULE = Rule(
    id="require-concurrent-index-creation",
    squawk="require-concurrent-index-creation",
    severity=Severity.WARNING,
    summary="Build indexes on existing tables with CREATE INDEX CONCURRENTLY.",
    problem=(
        "A plain CREATE INDEX takes a SHARE lock on the table: reads go on, but every INSERT, "
        "UPDATE and DELETE waits until the index is built, which on a large table takes minutes. "
        "An index on a table created earlier in the same migration is fine: nobody else can see it yet."
    ),
    fix=(
        "Use CREATE INDEX CONCURRENTLY IF NOT EXISTS in a migration of its own that starts with "
        "`-- drizzle-ops: no-transaction` (CONCURRENTLY cannot run inside a transaction)."
    ),
    bad='CREATE INDEX "users_email_idx" ON "users" USING btree ("email");',
    good=(
        "-- drizzle-ops: no-transaction\n"
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_email_idx" ON "users" USING btree ("email");'
    ),
    check=check,
)
