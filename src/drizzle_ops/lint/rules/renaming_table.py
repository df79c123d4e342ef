"""renaming-table: ALTER TABLE … RENAME TO."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import ObjectType

from drizzle_ops.analysis.sqlast import table_name
from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.rule import Rule, RuleContext, Statement, Violation


def check(statement: Statement, context: RuleContext) -> Iterator[Violation]:
    node = statement.node
    if isinstance(node, ast.RenameStmt) and node.renameType is ObjectType.OBJECT_TABLE:
        yield Violation(
            f"renaming {table_name(node.relation)} to {node.newname} breaks every running client "
            "that still uses the old name"
        )


RULE = Rule(
    id="renaming-table",
    squawk="renaming-table",
    severity=Severity.ERROR,
    summary="Do not rename tables that deployed code uses.",
    problem=(
        "The application version still running during the deploy queries the old name and fails "
        "as soon as the rename commits."
    ),
    fix=(
        "Rename only the Drizzle variable and keep pgTable's name, or create a view with the new name, "
        "move the code to it, then drop the view and rename the table in one later migration."
    ),
    bad='ALTER TABLE "user_stars" RENAME TO "user_favorites";',
    good=(
        'CREATE VIEW "user_favorites" AS SELECT * FROM "user_stars";\n'
        "-- in the next migration:\n-- (once no deployed code reads user_stars)\n"
        'DROP VIEW "user_favorites";\n'
        "-- lint: ignore renaming-table (nothing reads user_stars any more)\n"
        'ALTER TABLE "user_stars" RENAME TO "user_favorites";'
    ),
    check=check,
)
