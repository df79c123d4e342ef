"""adding-not-nullable-field: ALTER COLUMN … SET NOT NULL on an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import AlterTableType, ConstrType

from drizzle_ops.analysis.pg_versions import CHECK_PROVES_NOT_NULL, NOT_NULL_CONSTRAINTS
from drizzle_ops.analysis.sqlast import (
    TableKey,
    added_constraint,
    alter_table_commands,
    not_null_column,
    table_key,
    table_name,
)
from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.rule import NEW_TABLE_EXEMPTION, Rule, RuleContext, Statement, Violation


def _proven_not_null(context: RuleContext) -> set[tuple[TableKey, str]]:
    """Columns that earlier statements, here or in earlier migrations, proved NOT NULL with a
    valid CHECK constraint (since Postgres 12, SET NOT NULL then skips its scan) or with a
    valid NOT NULL constraint (PostgreSQL 18: the column is NOT NULL already).
    Statements of a transaction that was rolled back do not count.
    """
    pending: dict[tuple[TableKey, str], str] = {}  # (table, constraint) -> column, added NOT VALID
    proven: set[tuple[TableKey, str]] = set()
    for earlier in context.applied_before:
        relation = getattr(earlier.node, "relation", None)
        if relation is None:
            continue
        table = table_key(relation)
        for cmd in alter_table_commands(earlier.node):
            constraint = added_constraint(cmd)
            column = not_null_column(constraint) if constraint is not None else None
            if constraint is not None and constraint.contype is ConstrType.CONSTR_NOTNULL:
                column = column if context.pg_version >= NOT_NULL_CONSTRAINTS else None  # PostgreSQL 18 syntax
            if constraint is not None and column is not None:
                if constraint.skip_validation:
                    pending[(table, constraint.conname or "")] = column
                else:
                    proven.add((table, column))
            if cmd.subtype is AlterTableType.AT_ValidateConstraint and (table, cmd.name) in pending:
                proven.add((table, pending[(table, str(cmd.name))]))
    return proven


# Since PostgreSQL 12, SET NOT NULL skips its scan when a valid CHECK (col IS NOT NULL) proves it.


def check(statement: Statement, context: RuleContext) -> Iterator[Violation]:
    found = context.alters_existing_table(statement.node)
    if found is None:
        return
    relation, commands = found
    for cmd in commands:
        if cmd.subtype is not AlterTableType.AT_SetNotNull:
            continue
        proven = (table_key(relation), cmd.name) in _proven_not_null(context)
        if proven and context.pg_version >= CHECK_PROVES_NOT_NULL:
            continue
        why = (
            f"; the validated CHECK ({cmd.name} IS NOT NULL) is no help before PostgreSQL 12"
            if proven
            else f" (a validated CHECK ({cmd.name} IS NOT NULL) would let PostgreSQL 12+ skip the scan)"
        )
        if context.pg_version < CHECK_PROVES_NOT_NULL:
            help_ = _FIX_BEFORE_12
        elif context.pg_version >= NOT_NULL_CONSTRAINTS:
            help_ = _FIX_FROM_18
        else:
            help_ = None
        yield Violation(
            f"SET NOT NULL on {table_name(relation)}.{cmd.name} scans the whole table under an "
            f"ACCESS EXCLUSIVE lock (no reads, no writes){why}; {context.assumed_version}",
            help=help_,
        )


_FIX_FROM_18 = (
    "Since PostgreSQL 18: ADD CONSTRAINT … NOT NULL col NOT VALID (instant), backfill, then VALIDATE CONSTRAINT "
    "in a later migration, which scans without blocking writes; or a validated CHECK (col IS NOT NULL) first."
)
_FIX_BEFORE_12 = (
    "Before PostgreSQL 12 SET NOT NULL always scans: keep the validated CHECK (col IS NOT NULL) NOT VALID "
    "constraint instead of SET NOT NULL, or run SET NOT NULL while the table is small or in a maintenance window."
)


RULE = Rule(
    id="adding-not-nullable-field",
    squawk="adding-not-nullable-field",
    severity=Severity.WARNING,
    summary="Prove a column NOT NULL with a validated CHECK before SET NOT NULL.",
    problem=(
        "ALTER COLUMN … SET NOT NULL reads every row to check for NULLs while holding an ACCESS "
        "EXCLUSIVE lock, so the table can be neither read nor written meanwhile; it fails if a NULL "
        "is left, and old application code that still writes NULL starts failing."
    ),
    fix=(
        "Add CHECK (col IS NOT NULL) NOT VALID, backfill, VALIDATE CONSTRAINT in a later migration; "
        "then SET NOT NULL uses the constraint and skips the scan (Postgres 12+)."
    ),
    bad='ALTER TABLE "recipe" ALTER COLUMN "view_count" SET NOT NULL;',
    good=(
        'ALTER TABLE "recipe" ADD CONSTRAINT "view_count_not_null" CHECK ("view_count" IS NOT NULL) NOT VALID;\n'
        "-- backfill the NULLs\n"
        "-- in the next migration:\n"
        'ALTER TABLE "recipe" VALIDATE CONSTRAINT "view_count_not_null";\n'
        'ALTER TABLE "recipe" ALTER COLUMN "view_count" SET NOT NULL;'
    ),
    squawk_differences=(
        NEW_TABLE_EXEMPTION,
        (
            "VALIDATE CONSTRAINT of a constraint that the linted migrations do not show does not make a later "
            "SET NOT NULL safe: nothing says which column it proves, or that it is a NOT NULL check. `inv lint` "
            "lints the whole history (also with --pending), so an ADD CONSTRAINT … CHECK (col IS NOT NULL) NOT VALID "
            "in an earlier migration is seen. squawk trusts any VALIDATE on the same table."
        ),
    ),
    check=check,
)
