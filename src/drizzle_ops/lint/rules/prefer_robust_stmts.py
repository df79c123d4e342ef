"""prefer-robust-stmts: statements of a non-transactional migration that a rerun trips over."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import AlterTableType, ObjectType

from drizzle_ops.analysis.sqlast import TableKey, added_constraint, alter_table_commands, dotted, table_key, table_name
from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.rule import Rule, RuleContext, Statement, Violation


def _track_drops(node: ast.Node, dropped: set[tuple[TableKey, str]]) -> None:
    """A DROP CONSTRAINT IF EXISTS makes the next ADD of that constraint rerunnable; that ADD uses it up."""
    relation = getattr(node, "relation", None)
    if relation is None:
        return
    for cmd in alter_table_commands(node):
        constraint = added_constraint(cmd)
        if cmd.subtype is AlterTableType.AT_DropConstraint and cmd.missing_ok:
            dropped.add((table_key(relation), str(cmd.name)))
        elif constraint is not None and constraint.conname:
            dropped.discard((table_key(relation), constraint.conname))


def _dropped_if_exists(context: RuleContext) -> set[tuple[TableKey, str]]:
    """Constraints that earlier statements drop with IF EXISTS and do not add again since.

    The whole file, not only the current transaction: a rerun repeats every statement.
    """
    found: set[tuple[TableKey, str]] = set()
    for earlier in context.earlier:
        _track_drops(earlier.node, found)
    return found


def _indexes_dropped_if_exists(context: RuleContext) -> set[str]:
    """Index names an earlier DROP INDEX IF EXISTS removes and no statement since builds again.

    DROP INDEX IF EXISTS i, then CREATE INDEX i, reruns safely, and better than IF NOT EXISTS: a failed
    CONCURRENTLY build leaves an INVALID index, which IF NOT EXISTS keeps and the drop rebuilds.
    """
    found: set[str] = set()
    for earlier in context.earlier:
        node = earlier.node
        if isinstance(node, ast.DropStmt) and node.removeType is ObjectType.OBJECT_INDEX and node.missing_ok:
            found |= {str(n[-1].sval) for n in node.objects or () if isinstance(n, tuple) and n}
        elif isinstance(node, ast.IndexStmt) and node.idxname:
            found.discard(node.idxname)
    return found


def _alter_table(node: ast.AlterTableStmt, context: RuleContext) -> Iterator[str]:
    table = table_name(node.relation)
    dropped = _dropped_if_exists(context)
    for cmd in alter_table_commands(node):
        kind = cmd.subtype
        if kind is AlterTableType.AT_AddColumn and not cmd.missing_ok:
            name = cmd.def_.colname if isinstance(cmd.def_, ast.ColumnDef) else "?"
            yield f"ADD COLUMN {name} without IF NOT EXISTS fails on a rerun"
        elif kind is AlterTableType.AT_DropColumn and not cmd.missing_ok:
            yield f"DROP COLUMN {cmd.name} without IF EXISTS fails on a rerun"
        elif kind is AlterTableType.AT_DropConstraint and not cmd.missing_ok:
            yield f"DROP CONSTRAINT {cmd.name} without IF EXISTS fails on a rerun"
        elif kind is AlterTableType.AT_DropConstraint and node.relation is not None:
            dropped.add((table_key(node.relation), str(cmd.name)))  # … DROP CONSTRAINT IF EXISTS c, ADD CONSTRAINT c
        elif (constraint := added_constraint(cmd)) is not None:
            name = constraint.conname
            if name is None:
                yield f"an unnamed constraint on {table} is added a second time on a rerun"
            elif node.relation is not None and (table_key(node.relation), name) not in dropped:
                yield f"ADD CONSTRAINT {name} fails on a rerun; drop it with IF EXISTS first"
            elif node.relation is not None:
                dropped.discard((table_key(node.relation), name))


def _temporary(node: ast.CreateStmt) -> bool:
    """A temporary table lives as long as its session; a rerun is a new session and does not meet it."""
    return node.relation is not None and node.relation.relpersistence == "t"


def _problems(node: ast.Node, context: RuleContext) -> Iterator[str]:
    if isinstance(node, ast.CreateStmt) and not node.if_not_exists and not _temporary(node):
        yield f"CREATE TABLE {table_name(node.relation)} without IF NOT EXISTS fails on a rerun"
    elif isinstance(node, ast.IndexStmt):
        if node.idxname is None:
            yield "an unnamed index is built again on a rerun (a failed CONCURRENTLY build also leaves an INVALID one)"
        elif not node.if_not_exists and node.idxname not in _indexes_dropped_if_exists(context):
            yield f"CREATE INDEX {node.idxname} fails on a rerun: drop it IF EXISTS first, or build it IF NOT EXISTS"
    elif isinstance(node, ast.DropStmt) and not node.missing_ok:
        names = ", ".join(dotted(n) if isinstance(n, tuple) else "…" for n in node.objects or ())
        yield f"DROP {names} without IF EXISTS fails on a rerun"
    elif isinstance(node, ast.AlterTableStmt):
        yield from _alter_table(node, context)
    elif isinstance(node, ast.RenameStmt):
        yield "a RENAME fails on a rerun: the old name is gone"
    elif isinstance(node, ast.AlterEnumStmt) and node.oldVal is None and not node.skipIfNewValExists:
        yield f"ADD VALUE '{node.newVal}' without IF NOT EXISTS fails on a rerun"


def check(statement: Statement, context: RuleContext) -> Iterator[Violation]:
    if context.in_transaction:
        return  # a failed transactional migration leaves nothing behind to trip over
    node = statement.node
    # A lone statement is atomic, except a CONCURRENTLY build, which leaves an INVALID index behind.
    if len(context.statements) < 2 and not (isinstance(node, ast.IndexStmt) and node.concurrent):
        return
    for problem in _problems(node, context):
        yield Violation(problem)


RULE = Rule(
    id="prefer-robust-stmts",
    squawk="prefer-robust-stmts",
    severity=Severity.WARNING,
    summary="In a migration that runs without a transaction, make every statement rerunnable.",
    problem=(
        "A `-- drizzle-ops: no-transaction` migration, or one holding CONCURRENTLY, runs statement by "
        "statement. If it fails half "
        "way, the statements before the failure stay applied and the migration is not recorded, so "
        "the next run repeats them: a plain CREATE, ADD or DROP then fails on what the first run did."
    ),
    fix=(
        "Guard each statement: CREATE … IF NOT EXISTS, DROP … IF EXISTS, ADD COLUMN IF NOT EXISTS, "
        "DROP CONSTRAINT IF EXISTS before ADD CONSTRAINT, ADD VALUE IF NOT EXISTS, and name every index."
    ),
    bad=(
        "-- drizzle-ops: no-transaction\n"
        'ALTER TABLE "users" ADD COLUMN "billing_email" text;\n'
        'CREATE INDEX CONCURRENTLY "users_billing_email_idx" ON "users" ("billing_email");'
    ),
    good=(
        "-- drizzle-ops: no-transaction\n"
        'ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "billing_email" text;\n'
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_billing_email_idx" ON "users" ("billing_email");'
    ),
    squawk_differences=(
        (
            "A migration holding CONCURRENTLY runs statement by statement in drizzle-ops even without the "
            "marker (the runner detects it), so its other statements are checked too; squawk, told to "
            "assume a transaction, skips them."
        ),
        (
            "ALTER TYPE … ADD VALUE without IF NOT EXISTS is flagged: a rerun fails with 'enum label already "
            "exists'. squawk does not flag it."
        ),
        (
            "Idempotent ALTER TABLE subcommands (SET/DROP DEFAULT, SET NOT NULL, SET DATA TYPE, VALIDATE "
            "CONSTRAINT, ENABLE/DISABLE ROW LEVEL SECURITY) are not flagged: running them twice does no harm. "
            "squawk flags every ALTER TABLE subcommand it cannot guard."
        ),
        (
            "CREATE TEMP TABLE is not flagged: a temporary table ends with its session, and a rerun is a new "
            "session. squawk flags it unless it is ON COMMIT DROP."
        ),
        (
            "A lone unnamed CREATE INDEX CONCURRENTLY is flagged: if it fails it leaves an INVALID index behind, "
            "and the rerun builds a second one. squawk skips unnamed indexes."
        ),
    ),
    check=check,
)
