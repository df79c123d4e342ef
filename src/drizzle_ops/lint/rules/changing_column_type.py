"""changing-column-type: ALTER COLUMN … SET DATA TYPE on an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import AlterTableType

from drizzle_ops.analysis.sqlast import table_name
from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.rule import NEW_TABLE_EXEMPTION, Rule, RuleContext, Statement, Violation


def check(statement: Statement, context: RuleContext) -> Iterator[Violation]:
    found = context.alters_existing_table(statement.node)
    if found is None:
        return
    relation, commands = found
    for cmd in commands:
        if cmd.subtype is AlterTableType.AT_AlterColumnType:
            yield Violation(
                f"changing the type of {table_name(relation)}.{cmd.name} may rewrite the table under an "
                "ACCESS EXCLUSIVE lock, and clients that read the old type may break"
            )


RULE = Rule(
    id="changing-column-type",
    squawk="changing-column-type",
    severity=Severity.ERROR,
    summary="Do not change a column's type in place on an existing table.",
    problem=(
        "SET DATA TYPE takes an ACCESS EXCLUSIVE lock and, unless the old and new types are binary "
        "coercible (varchar(n) to a longer varchar or to text), rewrites the table and its indexes: "
        "no reads or writes until it finishes. Running clients may also not expect the new type."
    ),
    fix=(
        "Add a new column, write to both, backfill in batches, switch reads, then drop the old one. "
        "For a binary-coercible change, ignore this rule on that statement with a comment saying why."
    ),
    bad='ALTER TABLE "wishlist_items" ALTER COLUMN "price" SET DATA TYPE numeric(12, 2);',
    good=(
        'ALTER TABLE "wishlist_items" ADD COLUMN "price_v2" numeric(12, 2);\n'
        "-- dual-write and backfill, then switch the application to price_v2"
    ),
    squawk_differences=(NEW_TABLE_EXEMPTION,),
    check=check,
)
