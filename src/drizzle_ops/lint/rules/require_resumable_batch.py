"""require-resumable-batch: a statement marked ``-- drizzle-ops: batch rows=N`` that batches cannot run safely."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, ObjectType

from drizzle_ops.analysis.sqlast import (
    TableKey,
    added_column,
    added_constraint,
    alter_table_commands,
    column_has,
    table_key,
    table_name,
)
from drizzle_ops.engine.batch_statement import BatchProblem, marker_options, parse_options, shape_problem
from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.rule import Rule, RuleContext, Statement, Violation

_ALONE = (
    "a batch statement must stand alone in its migration: batches run it on its own, and the file's other "
    "statements would have no transaction to run in"
)


def check(statement: Statement, context: RuleContext) -> Iterator[Violation]:
    markers = [options for comment in statement.comments if (options := marker_options(comment)) is not None]
    if not markers:
        return
    try:
        parse_options(markers[-1])
    except BatchProblem as problem:
        yield Violation(problem.reason)
    if len(markers) > 1:
        yield Violation("two batch markers before one statement; keep one")
    shape = shape_problem(statement.node)
    if shape is not None:
        yield Violation(shape)
    if len(context.statements) > 1:
        yield Violation(_ALONE)
    relation = getattr(statement.node, "relation", None)
    known = (
        primary_key_known(context.applied_before, table_key(relation)) if isinstance(relation, ast.RangeVar) else None
    )
    if shape is None and known is False:
        yield Violation(
            f"{table_name(relation)} has no primary key (as the migrations before this one leave it), and batches "
            "walk the primary key; add one in an earlier migration"
        )


def primary_key_known(history: Sequence[Statement], table: TableKey) -> bool | None:
    """Whether ``table`` has a primary key after ``history``; None when the history does not say (never created there,
    or created in a way it cannot follow: LIKE, PARTITION OF, OF type, inheritance)."""
    known: dict[TableKey, str | None] = {}  # table -> its primary key constraint's name, None: no primary key
    for earlier in history:
        node = earlier.node
        if isinstance(node, ast.CreateStmt) and node.relation is not None:
            key = table_key(node.relation)
            if node.inhRelations or node.partbound or node.ofTypename or _has_like(node):
                known.pop(key, None)
            else:
                known[key] = _created_key(node)
        elif isinstance(node, ast.RenameStmt) and node.renameType is ObjectType.OBJECT_TABLE and node.relation:
            old = table_key(node.relation)
            if old in known:
                known[(old[0], str(node.newname))] = known.pop(old)
        elif isinstance(node, ast.DropStmt) and node.removeType is ObjectType.OBJECT_TABLE:
            for names in node.objects or ():
                parts = [str(n.sval) for n in names if isinstance(n, ast.String)]
                known.pop(("public", parts[0]) if len(parts) == 1 else (parts[-2], parts[-1]), None)
        elif isinstance(node, ast.AlterTableStmt) and node.relation is not None:
            key = table_key(node.relation)
            if key in known:
                known[key] = _altered_key(key, known[key], alter_table_commands(node))
    if table not in known:
        return None
    return known[table] is not None


def _has_like(node: ast.CreateStmt) -> bool:
    return any(isinstance(element, ast.TableLikeClause) for element in node.tableElts or ())


def _created_key(node: ast.CreateStmt) -> str | None:
    table = str(node.relation.relname) if node.relation is not None else ""
    for element in node.tableElts or ():
        if isinstance(element, ast.ColumnDef) and column_has(element, ConstrType.CONSTR_PRIMARY):
            named = [c.conname for c in element.constraints or () if isinstance(c, ast.Constraint) and c.conname]
            return str(named[0]) if named else f"{table}_pkey"
        if isinstance(element, ast.Constraint) and element.contype is ConstrType.CONSTR_PRIMARY:
            return str(element.conname or f"{table}_pkey")
    return None


def _altered_key(table: TableKey, name: str | None, commands: list[ast.AlterTableCmd]) -> str | None:
    for cmd in commands:
        constraint = added_constraint(cmd)
        column = added_column(cmd)
        if constraint is not None and constraint.contype is ConstrType.CONSTR_PRIMARY:
            name = str(constraint.conname or f"{table[1]}_pkey")
        elif column is not None and column_has(column, ConstrType.CONSTR_PRIMARY):
            name = f"{table[1]}_pkey"
        elif cmd.subtype is AlterTableType.AT_DropConstraint and name is not None and cmd.name == name:
            name = None
    return name


RULE = Rule(
    id="require-resumable-batch",
    severity=Severity.ERROR,
    summary="A statement marked `-- drizzle-ops: batch` must be one batches can run and resume safely.",
    problem=(
        "The line `-- drizzle-ops: batch rows=N` before an UPDATE or DELETE makes migrate run it in keyset "
        "batches by primary key, each batch its own short transaction, resuming after a crash from the last "
        "committed batch. That is safe only when the statement stands alone in its migration, its table has a "
        "primary key to walk, and an UPDATE's WHERE excludes the rows it has done: drizzle-kit runs the same "
        "file as one statement, and a rerun, whole or from any batch, must change no row twice. The WHERE "
        "check reads the parse tree: among the conditions the WHERE ANDs together, one must test a column the "
        "SET assigns, in every branch of an OR (`WHERE col IS NULL` for `SET col = …`). It cannot prove that "
        "the new value fails the test (`SET n = n + 1 WHERE n < 10` passes it); write the test as the new "
        "value's opposite. Whether the table has a primary key is read from the migrations before this one; a "
        "table they do not create is checked by migrate against the catalog, before the first batch."
    ),
    fix=(
        "Put the statement alone in a custom migration (`inv generate --custom`), give its table a primary key, "
        "and make the WHERE exclude finished rows: `WHERE col IS NULL` or `WHERE col IS DISTINCT FROM <new value>`."
    ),
    bad=('-- drizzle-ops: batch rows=1000\nUPDATE "users" SET "display_name" = split_part("email", \'@\', 1);'),
    good=(
        "-- Custom SQL migration file, put your code below! --\n"
        "-- drizzle-ops: batch rows=1000 pause=50ms max-lag=10s\n"
        'UPDATE "users" SET "display_name" = split_part("email", \'@\', 1) WHERE "display_name" IS NULL;'
    ),
    squawk_differences=(
        "squawk has no batched migrations: the marker is drizzle-ops' own (see the README, \"Batched data "
        'migrations").',
    ),
    check=check,
)
