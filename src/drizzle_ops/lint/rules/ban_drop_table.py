"""ban-drop-table: DROP TABLE."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import ObjectType

from drizzle_ops.analysis.sqlast import dotted
from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.rule import Rule, RuleContext, Statement, Violation


def check(statement: Statement, context: RuleContext) -> Iterator[Violation]:
    node = statement.node
    if isinstance(node, ast.DropStmt) and node.removeType is ObjectType.OBJECT_TABLE:
        for name in node.objects or ():
            yield Violation(f"dropping {dotted(name)} destroys its data and breaks running clients that use it")


RULE = Rule(
    id="ban-drop-table",
    squawk="ban-drop-table",
    severity=Severity.ERROR,
    summary="Drop a table only after no deployed code uses it, on purpose.",
    problem=(
        "The rows are gone (a rollback cannot bring them back), and the application version still "
        "running during the deploy fails on every query of the table."
    ),
    fix=(
        "First deploy code that no longer uses the table, back it up, then drop it in a later "
        "release and mark that statement `-- lint: ignore ban-drop-table`."
    ),
    bad='DROP TABLE "gallery_images";',
    good='-- lint: ignore ban-drop-table (unused since release 42, backed up)\nDROP TABLE "gallery_images";',
    check=check,
)
