"""ban-drop-column: ALTER TABLE … DROP COLUMN."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import AlterTableType

from drizzle_ops.analysis.sqlast import alter_table_commands, table_name
from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.rule import Rule, RuleContext, Statement, Violation


def check(statement: Statement, context: RuleContext) -> Iterator[Violation]:
    relation = getattr(statement.node, "relation", None)
    for cmd in alter_table_commands(statement.node):
        if cmd.subtype is AlterTableType.AT_DropColumn:
            yield Violation(
                f"dropping {table_name(relation)}.{cmd.name} destroys its data and breaks running "
                "clients that still read or write it"
            )


RULE = Rule(
    id="ban-drop-column",
    squawk="ban-drop-column",
    severity=Severity.ERROR,
    summary="Drop a column only after no deployed code uses it, on purpose.",
    problem=(
        "The data is gone (a rollback cannot bring it back), and the application version still "
        "running during the deploy fails on queries that name the column."
    ),
    fix=(
        "First deploy code that no longer reads or writes the column (make it nullable if needed); "
        "drop it in a later release and mark that statement `-- lint: ignore ban-drop-column`."
    ),
    bad='ALTER TABLE "users" DROP COLUMN "avatar_url";',
    good='-- lint: ignore ban-drop-column (unused since release 42)\nALTER TABLE "users" DROP COLUMN "avatar_url";',
    check=check,
)
