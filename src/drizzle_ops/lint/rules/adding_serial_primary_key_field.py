"""adding-serial-primary-key-field: ADD PRIMARY KEY builds its index under an ACCESS EXCLUSIVE lock."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import ConstrType

from drizzle_ops.analysis.sqlast import added_column, added_constraint, column_has, table_name
from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.rule import Rule, RuleContext, Statement, Violation


def check(statement: Statement, context: RuleContext) -> Iterator[Violation]:
    found = context.alters_existing_table(statement.node)
    if found is None:
        return
    relation, commands = found
    table = table_name(relation)
    for cmd in commands:
        constraint = added_constraint(cmd)
        column = added_column(cmd)
        if constraint is not None and constraint.contype is ConstrType.CONSTR_PRIMARY and not constraint.indexname:
            yield Violation(f"ADD PRIMARY KEY builds an index on {table} with reads and writes blocked")
        elif column is not None and column_has(column, ConstrType.CONSTR_PRIMARY):
            yield Violation(
                f"ADD COLUMN {column.colname} … PRIMARY KEY fills the column and builds an index on {table} "
                "with reads and writes blocked"
            )


RULE = Rule(
    id="adding-serial-primary-key-field",
    squawk="adding-serial-primary-key-field",
    severity=Severity.WARNING,
    summary="Build the primary key's index CONCURRENTLY, then ADD PRIMARY KEY USING INDEX.",
    problem=(
        "ALTER TABLE … ADD PRIMARY KEY (or ADD COLUMN … PRIMARY KEY, typically a serial) builds a "
        "unique index, and for a new column writes every row, while holding an ACCESS EXCLUSIVE lock."
    ),
    fix=(
        "CREATE UNIQUE INDEX CONCURRENTLY in a `-- drizzle-ops: no-transaction` migration, then "
        "ALTER TABLE … ADD CONSTRAINT … PRIMARY KEY USING INDEX."
    ),
    bad='ALTER TABLE "account" ADD PRIMARY KEY ("id");',
    good=(
        "-- drizzle-ops: no-transaction\n"
        'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "account_pk_idx" ON "account" ("id");\n'
        "-- in the next migration:\n"
        'ALTER TABLE "account" ADD CONSTRAINT "account_pk" PRIMARY KEY USING INDEX "account_pk_idx";'
    ),
    check=check,
)
