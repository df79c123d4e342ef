"""adding-enum-value: ALTER TYPE … ADD VALUE cannot be undone nor used in its own transaction.

squawk has no such rule (its require-enum-value-ordering is about BEFORE/AFTER), so this
id is ours.
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from drizzle_ops.analysis.pg_versions import ADD_ENUM_VALUE_IN_TRANSACTION
from drizzle_ops.analysis.sqlast import dotted, string_constants
from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.rule import Rule, RuleContext, Statement, Violation


def used_later_in_transaction(value: str, context: RuleContext) -> bool:
    return any(value in set(string_constants(later.node)) for later in context.later_in_transaction)


def check(statement: Statement, context: RuleContext) -> Iterator[Violation]:
    node = statement.node
    if not isinstance(node, ast.AlterEnumStmt) or node.newVal is None or node.oldVal is not None:
        return  # oldVal is set for RENAME VALUE
    value, enum = node.newVal, dotted(node.typeName)
    if context.in_transaction and context.pg_version < ADD_ENUM_VALUE_IN_TRANSACTION:
        yield Violation(
            f"ADD VALUE '{value}' to {enum} runs inside a transaction: before PostgreSQL 12 Postgres rejects "
            f"that (ALTER TYPE … ADD cannot run inside a transaction block) and the migration fails; "
            f"{context.assumed_version}",
            severity=Severity.ERROR,
            help="Put the ADD VALUE in a migration of its own that starts with `-- drizzle-ops: no-transaction`.",
        )
        return
    if used_later_in_transaction(value, context):
        yield Violation(
            f"'{value}' is added to {enum} and used later in the same transaction: Postgres rejects "
            "the use (unsafe use of new value) and the migration fails",
            severity=Severity.ERROR,
            help="Move the ADD VALUE to a migration of its own, applied before the one that uses the value.",
        )
        return
    unusable = ""
    if context.in_transaction:
        unusable = (
            ", and the value is unusable until its transaction commits (allowed in a transaction since "
            f"PostgreSQL 12; {context.assumed_version})"
        )
    yield Violation(f"ADD VALUE '{value}' to {enum} cannot be rolled back{unusable}")


RULE = Rule(
    id="adding-enum-value",
    severity=Severity.WARNING,
    summary="ALTER TYPE … ADD VALUE is one-way; keep it apart from code that uses the value.",
    problem=(
        "Postgres has no DROP VALUE: a rollback of the migration cannot remove the value without "
        "recreating the type and every column that uses it. Since PostgreSQL 12 it may run inside a "
        "transaction block (before 12 that fails), but the new value cannot be used in the transaction "
        "that added it (unsafe use of new value); drizzle-kit's own "
        "migrate runs all pending migrations in one transaction, so a later migration that uses the "
        "value fails there too. Old application code may also not expect the value."
    ),
    fix=(
        "Keep ADD VALUE in a migration of its own (add IF NOT EXISTS), deploy it before code or "
        "migrations that use the value, and write the rollback as a reviewed type swap."
    ),
    bad=(
        'ALTER TYPE "public"."moc_status" ADD VALUE \'archived\';\n'
        'UPDATE "moc_instructions" SET "status" = \'archived\' WHERE "published_at" < now() - interval \'5 years\';'
    ),
    good=(
        "-- lint: ignore adding-enum-value (own migration, deployed before any code writes 'archived')\n"
        'ALTER TYPE "public"."moc_status" ADD VALUE IF NOT EXISTS \'archived\';\n'
        "-- in the next migration:\n"
        'UPDATE "moc_instructions" SET "status" = \'archived\' WHERE "published_at" < now() - interval \'5 years\';'
    ),
    squawk_differences=(
        (
            "squawk 2.70 has no rule for this. Its require-enum-value-ordering asks for BEFORE/AFTER on "
            "ADD VALUE, a different concern that drizzle-ops does not check."
        ),
    ),
    check=check,
)
