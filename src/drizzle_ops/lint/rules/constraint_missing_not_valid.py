"""constraint-missing-not-valid: ADD CONSTRAINT that scans the table under a write-blocking lock."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import AlterTableType, ConstrType

from drizzle_ops.analysis.pg_versions import NOT_NULL_CONSTRAINTS
from drizzle_ops.analysis.sqlast import TableKey, added_constraint, alter_table_commands, table_key, table_name
from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.rule import Rule, RuleContext, Statement, Violation

# Postgres accepts NOT VALID on these only; UNIQUE and PRIMARY KEY have rules of their own.
CAN_BE_NOT_VALID = frozenset({ConstrType.CONSTR_CHECK, ConstrType.CONSTR_FOREIGN})


def _added_not_valid_in_transaction(context: RuleContext) -> set[tuple[TableKey, str]]:
    """Constraints added NOT VALID by earlier statements of the current transaction."""
    found: set[tuple[TableKey, str]] = set()
    for earlier in context.earlier_in_transaction:
        relation = getattr(earlier.node, "relation", None)
        for cmd in alter_table_commands(earlier.node):
            constraint = added_constraint(cmd)
            if constraint is not None and constraint.skip_validation and constraint.conname and relation:
                found.add((table_key(relation), constraint.conname))
    return found


def check(statement: Statement, context: RuleContext) -> Iterator[Violation]:
    found = context.alters_existing_table(statement.node)
    if found is None:
        return
    relation, commands = found
    table = table_name(relation)
    for cmd in commands:
        constraint = added_constraint(cmd)
        if constraint is not None and not constraint.skip_validation:
            if constraint.contype in CAN_BE_NOT_VALID:
                name = f" {constraint.conname}" if constraint.conname else ""
                yield Violation(f"ADD CONSTRAINT{name} scans all of {table} while blocking its writes")
            elif constraint.contype is ConstrType.CONSTR_NOTNULL and context.pg_version >= NOT_NULL_CONSTRAINTS:
                name = f" {constraint.conname}" if constraint.conname else ""
                yield Violation(
                    f"ADD CONSTRAINT{name} NOT NULL scans all of {table} under an ACCESS EXCLUSIVE lock; since "
                    f"PostgreSQL 18 it can be NOT VALID and validated later; {context.assumed_version}"
                )
            elif constraint.contype is ConstrType.CONSTR_EXCLUSION:
                yield Violation(
                    f"ADD CONSTRAINT … EXCLUDE builds an index on {table} under an ACCESS EXCLUSIVE lock",
                    help="EXCLUDE constraints cannot be NOT VALID: add them while the table is small, "
                    "or in a maintenance window.",
                )
        if (
            cmd.subtype is AlterTableType.AT_ValidateConstraint
            and relation is not None
            and (table_key(relation), str(cmd.name)) in _added_not_valid_in_transaction(context)
        ):
            yield Violation(
                f"VALIDATE CONSTRAINT {cmd.name} runs in the same transaction that added it NOT VALID, "
                f"so the ADD's lock on {table} is held for the whole scan",
                help="Move VALIDATE CONSTRAINT to a later migration, so it runs in its own transaction.",
            )


RULE = Rule(
    id="constraint-missing-not-valid",
    squawk="constraint-missing-not-valid",
    severity=Severity.WARNING,
    summary="Add CHECK and FOREIGN KEY constraints to existing tables as NOT VALID, validate later.",
    problem=(
        "ADD CONSTRAINT checks every existing row while holding a lock that blocks writes (ACCESS "
        "EXCLUSIVE for CHECK, SHARE ROW EXCLUSIVE for FOREIGN KEY). On a large table that is an outage. "
        "Validating in the same transaction as the NOT VALID add gains nothing: the add's lock is kept. "
        "Since PostgreSQL 18 a NOT NULL table constraint (ADD CONSTRAINT … NOT NULL col) scans the same way "
        "and can be NOT VALID too; it is flagged when lint judges for 18 or later."
    ),
    fix=(
        "Add the constraint with NOT VALID (instant; new rows are checked), then run "
        "ALTER TABLE … VALIDATE CONSTRAINT in a later migration: it scans under a lock that allows writes."
    ),
    bad='ALTER TABLE "sets" ADD CONSTRAINT "sets_year_check" CHECK ("year" >= 1949);',
    good=(
        'ALTER TABLE "sets" ADD CONSTRAINT "sets_year_check" CHECK ("year" >= 1949) NOT VALID;\n'
        '-- in the next migration:\nALTER TABLE "sets" VALIDATE CONSTRAINT "sets_year_check";'
    ),
    squawk_differences=(
        (
            "ADD CONSTRAINT … UNIQUE and … PRIMARY KEY are not flagged here: Postgres does not accept NOT VALID "
            "on them, so the advice would be impossible; disallowed-unique-constraint and adding-serial-primary-"
            "key-field cover them with advice that works. squawk reports them under both ids."
        ),
        (
            "ROLLBACK ends a transaction just as COMMIT does: after `BEGIN; … NOT VALID; ROLLBACK;` a VALIDATE "
            "in the next BEGIN … COMMIT runs in a transaction of its own and is not flagged. squawk only counts "
            "COMMIT and flags it."
        ),
        (
            "ADD CONSTRAINT … NOT NULL col, PostgreSQL 18 syntax, is flagged only when lint judges for 18 or later: "
            "older servers reject the statement. squawk flags it whatever the version."
        ),
    ),
    check=check,
)
