"""adding-required-field: ADD COLUMN … NOT NULL with nothing to fill existing rows."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import ConstrType

from drizzle_ops.analysis.sqlast import added_column, column_has, is_serial, table_name
from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.rule import NEW_TABLE_EXEMPTION, Rule, RuleContext, Statement, Violation
from drizzle_ops.lint.rules.adding_field_with_default import FAST_DEFAULTS

_FIX = (
    "Add the column with a constant or other non-volatile DEFAULT (no table rewrite since PostgreSQL 11; "
    "a volatile one rewrites, see adding-field-with-default), or add it nullable, backfill, and make it "
    "NOT NULL later."
)
_FILLED = (ConstrType.CONSTR_DEFAULT, ConstrType.CONSTR_GENERATED, ConstrType.CONSTR_IDENTITY)
_NOT_NULL = (ConstrType.CONSTR_NOTNULL, ConstrType.CONSTR_PRIMARY)  # a primary key implies NOT NULL


def check(statement: Statement, context: RuleContext) -> Iterator[Violation]:
    found = context.alters_existing_table(statement.node)
    if found is None:
        return
    relation, commands = found
    for cmd in commands:
        column = added_column(cmd)
        if column is None or not (column.is_not_null or column_has(column, *_NOT_NULL)):
            continue
        if column_has(column, *_FILLED) or is_serial(column):  # serial brings its own DEFAULT nextval()
            continue
        yield Violation(
            f"ADD COLUMN {column.colname} is NOT NULL without a DEFAULT: it fails if {table_name(relation)} "
            "has rows, and inserts from code that does not know the column fail",
            help=_FIX if context.pg_version >= FAST_DEFAULTS else _fix_before_11(context),
        )


def _fix_before_11(context: RuleContext) -> str:
    return (
        "Add it nullable, backfill in batches, and make it NOT NULL later: before PostgreSQL 11 a DEFAULT "
        f"rewrites the whole table ({context.assumed_version})."
    )


RULE = Rule(
    id="adding-required-field",
    squawk="adding-required-field",
    severity=Severity.ERROR,
    summary="A new NOT NULL column on an existing table needs a DEFAULT.",
    problem=(
        "Adding a NOT NULL column without a DEFAULT fails on any table that has rows. Where it "
        "succeeds, the application version still running during the deploy does not set the column, "
        "so its INSERTs fail."
    ),
    fix=_FIX,
    bad='ALTER TABLE "recipe" ADD COLUMN "public" boolean NOT NULL;',
    good='ALTER TABLE "recipe" ADD COLUMN "public" boolean DEFAULT false NOT NULL;',
    squawk_differences=(
        NEW_TABLE_EXEMPTION,
        (
            "A serial column is not flagged: it comes with DEFAULT nextval(), so existing rows and old INSERTs "
            "get a value. squawk flags it."
        ),
        (
            "ADD COLUMN … PRIMARY KEY without a DEFAULT is flagged: a primary key implies NOT NULL, so it fails "
            "on a populated table exactly like NOT NULL does. squawk does not flag it here."
        ),
    ),
    check=check,
)
