"""renaming-column: ALTER TABLE … RENAME COLUMN."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import ObjectType

from drizzle_ops.analysis.sqlast import table_name
from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.rule import Rule, RuleContext, Statement, Violation


def check(statement: Statement, context: RuleContext) -> Iterator[Violation]:
    node = statement.node
    if (
        isinstance(node, ast.RenameStmt)
        and node.renameType is ObjectType.OBJECT_COLUMN
        and node.relationType is ObjectType.OBJECT_TABLE
    ):
        yield Violation(
            f"renaming {table_name(node.relation)}.{node.subname} to {node.newname} breaks every "
            "running client that still uses the old name"
        )


RULE = Rule(
    id="renaming-column",
    squawk="renaming-column",
    severity=Severity.ERROR,
    summary="Do not rename columns that deployed code uses.",
    problem=(
        "During a deploy the old application version keeps running; after the rename its queries "
        "name a column that no longer exists and fail. drizzle-kit emits RENAME COLUMN when you "
        "answer its rename prompt."
    ),
    fix=(
        "Keep the column name and rename the field in the Drizzle schema only "
        '(`nickname: text("display_name")`), or add the new column, dual-write, backfill, and drop '
        "the old one once no deployed code uses it."
    ),
    bad='ALTER TABLE "users" RENAME COLUMN "display_name" TO "nickname";',
    good='-- no SQL: keep the column and rename the field in schema.ts: nickname: text("display_name")',
    check=check,
)
