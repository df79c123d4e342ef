"""disallowed-unique-constraint: ADD UNIQUE builds its index under an ACCESS EXCLUSIVE lock."""

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
        if constraint is not None and constraint.contype is ConstrType.CONSTR_UNIQUE and not constraint.indexname:
            name = f" {constraint.conname}" if constraint.conname else ""
            yield Violation(f"ADD CONSTRAINT{name} UNIQUE builds an index on {table} with reads and writes blocked")
        elif column is not None and column_has(column, ConstrType.CONSTR_UNIQUE):
            yield Violation(
                f"ADD COLUMN {column.colname} … UNIQUE builds an index on {table} with reads and writes blocked"
            )


RULE = Rule(
    id="disallowed-unique-constraint",
    squawk="disallowed-unique-constraint",
    severity=Severity.WARNING,
    summary="Build the unique index CONCURRENTLY, then ADD CONSTRAINT … UNIQUE USING INDEX.",
    problem=(
        "ADD CONSTRAINT … UNIQUE (or ADD COLUMN … UNIQUE) builds a unique index while holding an "
        "ACCESS EXCLUSIVE lock: the table can be neither read nor written until the index is built."
    ),
    fix=(
        "CREATE UNIQUE INDEX CONCURRENTLY in a `-- drizzle-ops: no-transaction` migration, then "
        "ALTER TABLE … ADD CONSTRAINT … UNIQUE USING INDEX, which only updates the catalog."
    ),
    bad='ALTER TABLE "sets" ADD CONSTRAINT "sets_set_number_unique" UNIQUE("set_number");',
    good=(
        "-- drizzle-ops: no-transaction\n"
        'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "sets_set_number_idx" ON "sets" ("set_number");\n'
        "-- in the next migration:\n"
        'ALTER TABLE "sets" ADD CONSTRAINT "sets_set_number_unique" UNIQUE USING INDEX "sets_set_number_idx";'
    ),
    check=check,
)
