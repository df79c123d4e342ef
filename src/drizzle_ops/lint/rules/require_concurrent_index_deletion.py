"""require-concurrent-index-deletion: DROP INDEX without CONCURRENTLY."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import ObjectType

from drizzle_ops.analysis.sqlast import dotted
from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.rule import Rule, RuleContext, Statement, Violation


def check(statement: Statement, context: RuleContext) -> Iterator[Violation]:
    node = statement.node
    if not isinstance(node, ast.DropStmt) or node.removeType is not ObjectType.OBJECT_INDEX or node.concurrent:
        return
    for name in node.objects or ():
        yield Violation(f"DROP INDEX {dotted(name)} blocks reads and writes of its table while it waits and runs")


RULE = Rule(
    id="require-concurrent-index-deletion",
    squawk="require-concurrent-index-deletion",
    severity=Severity.WARNING,
    summary="Drop indexes with DROP INDEX CONCURRENTLY.",
    problem=(
        "A plain DROP INDEX takes an ACCESS EXCLUSIVE lock on the index's table. While it waits "
        "for running queries to finish, every new query on the table queues behind it."
    ),
    fix=(
        "Use DROP INDEX CONCURRENTLY IF EXISTS in a migration of its own that starts with "
        "`-- drizzle-ops: no-transaction`."
    ),
    bad='DROP INDEX "users_email_idx";',
    good='-- drizzle-ops: no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS "users_email_idx";',
    check=check,
)
