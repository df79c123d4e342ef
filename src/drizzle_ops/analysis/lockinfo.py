"""What a DDL statement does to the tables it touches: the lock it takes, and whether it rewrites or scans.

The answers follow the PostgreSQL documentation (the "Table-Level Locks" and
ALTER TABLE pages) for the statements drizzle-kit emits and the usual hand-written
ones. Anything not recognised is reported as "unknown" rather than guessed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, ObjectType

from drizzle_ops.analysis.lockmodes import (
    ACCESS_EXCLUSIVE,
    ACCESS_SHARE,
    ROW_EXCLUSIVE,
    SHARE,
    SHARE_ROW_EXCLUSIVE,
    SHARE_UPDATE_EXCLUSIVE,
    level,
)
from drizzle_ops.analysis.sqlast import (
    TableKey,
    do_block_statements,
    is_concurrent_index_operation,
    is_serial,
    relations_written_and_read,
    table_key,
)

# what each mode conflicts with and blocks lives in analysis/lockmodes.py; re-exported for the deploy plan
__all__ = [
    "ACCESS_EXCLUSIVE",
    "ROW_EXCLUSIVE",
    "SHARE",
    "SHARE_ROW_EXCLUSIVE",
    "SHARE_UPDATE_EXCLUSIVE",
    "StatementEffect",
    "TableEffect",
    "analyse",
]

# statements that touch no table's data (the lock they take is on a catalog object, briefly)
CATALOG_ONLY = {
    "CreateEnumStmt": "create type",
    "AlterEnumStmt": "alter type",
    "CompositeTypeStmt": "create type",
    "CreateFunctionStmt": "create function",
    "CreateSchemaStmt": "create schema",
    "CreateExtensionStmt": "create extension",
    "CreateSeqStmt": "create sequence",
    "CommentStmt": "comment",
    "ViewStmt": "create view",
}


@dataclass
class TableEffect:
    table: TableKey
    lock: str
    rewrite: bool = False  # the whole table is copied
    scan: bool = False  # the whole table is read (validation, index build)
    why: list[str] = field(default_factory=list)
    index_build: bool = False
    validation: bool = False

    def merge(self, other: TableEffect) -> None:
        if level(other.lock) > level(self.lock):
            self.lock = other.lock
        self.rewrite |= other.rewrite
        self.scan |= other.scan
        self.index_build |= other.index_build
        self.validation |= other.validation
        self.why += [w for w in other.why if w not in self.why]


@dataclass
class StatementEffect:
    kind: str  # a short name: "create table", "create index", "alter table", ...
    tables: list[TableEffect]
    transactional: bool = True  # False: Postgres refuses it inside a transaction block
    creates: list[TableKey] = field(default_factory=list)  # tables this statement creates
    known: bool = True
    indexes: dict[TableKey, TableKey] = field(default_factory=dict)  # indexes it creates -> their tables


VOLATILE_DEFAULTS = frozenset(
    {"random", "gen_random_uuid", "uuid_generate_v4", "uuid_generate_v1", "clock_timestamp", "timeofday", "nextval"}
)


def _rewriting_column(column: ast.ColumnDef) -> str | None:
    """Why adding ``column`` rewrites the table, or None: a value Postgres can't store once in the catalog
    (since PG 11) must be written into every row: a volatile default, a serial's nextval(), an identity,
    a STORED generated column (all confirmed by tracing: a new relfilenode)."""
    if is_serial(column):
        return "serial: nextval() default"
    for constraint in column.constraints or ():
        if not isinstance(constraint, ast.Constraint):
            continue
        if constraint.contype is ConstrType.CONSTR_IDENTITY:
            return "identity"
        if constraint.contype is ConstrType.CONSTR_GENERATED:
            return "stored generated"
        if constraint.contype is ConstrType.CONSTR_DEFAULT:
            expr = constraint.raw_expr
            if isinstance(expr, ast.FuncCall) and _func_name(expr) in VOLATILE_DEFAULTS:
                return "volatile default"
    return None


def _func_name(call: ast.FuncCall) -> str:
    names = call.funcname or ()
    last = names[-1] if names else None
    return str(last.sval).lower() if isinstance(last, ast.String) else ""


def _label(value: object) -> str:
    """AT_DropColumn -> dropcolumn, OBJECT_TABLE -> table: enum names made readable."""
    name = str(getattr(value, "name", "unknown"))
    return name.split("_", 1)[-1].lower()


def _alter_table(node: ast.AlterTableStmt, proven: Collection[tuple[TableKey, str]]) -> StatementEffect:
    if node.relation is None:
        return StatementEffect("alter table", [], known=False)
    key = table_key(node.relation)
    effect = TableEffect(key, ROW_EXCLUSIVE)
    others: list[TableEffect] = []
    for cmd in node.cmds or ():
        if not isinstance(cmd, ast.AlterTableCmd):
            continue
        sub = cmd.subtype
        if sub is AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
            reason = _rewriting_column(cmd.def_)
            effect.merge(
                TableEffect(
                    key,
                    ACCESS_EXCLUSIVE,
                    rewrite=reason is not None,
                    why=[f"add column {cmd.def_.colname}" + (f" ({reason})" if reason else "")],
                )
            )
        elif sub is AlterTableType.AT_AlterColumnType:
            effect.merge(TableEffect(key, ACCESS_EXCLUSIVE, rewrite=True, why=[f"change type of {cmd.name}"]))
        elif sub is AlterTableType.AT_SetNotNull and (key, cmd.name) in proven:
            why = f"set {cmd.name} not null (a validated CHECK proves it: no scan)"
            effect.merge(TableEffect(key, ACCESS_EXCLUSIVE, why=[why]))
        elif sub is AlterTableType.AT_SetNotNull:
            effect.merge(
                TableEffect(key, ACCESS_EXCLUSIVE, scan=True, validation=True, why=[f"set {cmd.name} not null"])
            )
        elif sub is AlterTableType.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
            effect.merge(_constraint_effect(key, cmd.def_, others))
        elif sub is AlterTableType.AT_ValidateConstraint:
            effect.merge(
                TableEffect(key, SHARE_UPDATE_EXCLUSIVE, scan=True, validation=True, why=[f"validate {cmd.name}"])
            )
        else:  # drop column/constraint, defaults, ...: catalog-only, but under the strongest lock
            effect.merge(TableEffect(key, ACCESS_EXCLUSIVE, why=[_label(sub)]))
    return StatementEffect("alter table", [effect, *others])


def _constraint_effect(key: TableKey, constraint: ast.Constraint, others: list[TableEffect]) -> TableEffect:
    validated = not constraint.skip_validation
    name = constraint.conname or "constraint"
    kind = constraint.contype
    if kind is ConstrType.CONSTR_FOREIGN and constraint.pktable is not None:
        # both sides get SHARE ROW EXCLUSIVE; only the referencing side is scanned
        others.append(TableEffect(table_key(constraint.pktable), SHARE_ROW_EXCLUSIVE, why=[f"referenced by {name}"]))
        return TableEffect(
            key,
            SHARE_ROW_EXCLUSIVE,
            scan=validated,
            validation=validated,
            why=[f"add foreign key {name}" + ("" if validated else " not valid")],
        )
    if kind in (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_EXCLUSION):
        using_index = bool(constraint.indexname)
        return TableEffect(
            key,
            ACCESS_EXCLUSIVE,
            scan=not using_index,
            index_build=not using_index,
            why=[f"add {'primary key' if kind is ConstrType.CONSTR_PRIMARY else 'unique'} {name}"],
        )
    return TableEffect(
        key,
        ACCESS_EXCLUSIVE,
        scan=validated,
        validation=validated,
        why=[f"add check {name}" + ("" if validated else " not valid")],
    )


def _referenced_tables(node: ast.CreateStmt) -> list[TableEffect]:
    """A new table's foreign keys lock the tables they reference in SHARE ROW EXCLUSIVE (writes there wait)."""
    constraints: list[ast.Constraint] = []
    for element in node.tableElts or ():
        if isinstance(element, ast.Constraint):
            constraints.append(element)
        elif isinstance(element, ast.ColumnDef):
            constraints += [c for c in element.constraints or () if isinstance(c, ast.Constraint)]
    effects: dict[TableKey, TableEffect] = {}
    own = table_key(node.relation) if node.relation is not None else None
    for constraint in constraints:
        if constraint.contype is not ConstrType.CONSTR_FOREIGN or constraint.pktable is None:
            continue
        key = table_key(constraint.pktable)
        if key == own:
            continue  # a self-reference: the new table nobody else sees yet
        why = f"referenced by {constraint.conname or 'a foreign key'} of the new table"
        if key in effects:
            effects[key].merge(TableEffect(key, SHARE_ROW_EXCLUSIVE, why=[why]))
        else:
            effects[key] = TableEffect(key, SHARE_ROW_EXCLUSIVE, why=[why])
    return list(effects.values())


def _drop(node: ast.DropStmt) -> StatementEffect:
    tables: list[TableEffect] = []
    kind = node.removeType
    for obj in node.objects or ():
        names = [str(n.sval) for n in obj if isinstance(n, ast.String)] if isinstance(obj, tuple) else []
        key: TableKey = (names[0], names[1]) if len(names) == 2 else ("public", names[-1] if names else "?")
        if kind is ObjectType.OBJECT_TABLE:
            tables.append(TableEffect(key, ACCESS_EXCLUSIVE, why=["drop table"]))
        elif kind is ObjectType.OBJECT_INDEX:
            lock = SHARE_UPDATE_EXCLUSIVE if node.concurrent else ACCESS_EXCLUSIVE
            tables.append(TableEffect(key, lock, why=["drop index (locks its table)"]))
    return StatementEffect(
        f"drop {_label(kind)}",
        tables,
        transactional=not is_concurrent_index_operation(node),
    )


def analyse(node: ast.Node, proven_not_null: Collection[tuple[TableKey, str]] = ()) -> StatementEffect:
    """The effect of one parsed statement; ``proven_not_null``: (table, column) pairs a validated CHECK proves
    NOT NULL (sqlast.NotNullProofs), whose SET NOT NULL then skips its scan (PostgreSQL 12 and later)."""
    if isinstance(node, ast.CreateStmt) and node.relation is not None:
        return StatementEffect("create table", _referenced_tables(node), creates=[table_key(node.relation)])
    if isinstance(node, ast.CreateTrigStmt) and node.relation is not None:
        # not catalog-only: CREATE TRIGGER takes SHARE ROW EXCLUSIVE on its table (writes wait)
        name = f"create trigger {node.trigname}"
        return StatementEffect(
            "create trigger", [TableEffect(table_key(node.relation), SHARE_ROW_EXCLUSIVE, why=[name])]
        )
    if isinstance(node, ast.IndexStmt) and node.relation is not None:
        key = table_key(node.relation)
        indexes = {(key[0], node.idxname): key} if node.idxname else {}
        if node.concurrent:
            return StatementEffect(
                "create index concurrently",
                [
                    TableEffect(
                        key, SHARE_UPDATE_EXCLUSIVE, scan=True, index_build=True, why=[f"build index {node.idxname}"]
                    )
                ],
                transactional=False,
                indexes=indexes,
            )
        return StatementEffect(
            "create index",
            [TableEffect(key, SHARE, scan=True, index_build=True, why=[f"build index {node.idxname}"])],
            indexes=indexes,
        )
    if isinstance(node, ast.AlterTableStmt) and node.objtype is ObjectType.OBJECT_TABLE and node.relation is not None:
        return _alter_table(node, proven_not_null)
    if isinstance(node, ast.DropStmt):
        return _drop(node)
    if isinstance(node, ast.RenameStmt) and node.relation is not None:
        return StatementEffect("rename", [TableEffect(table_key(node.relation), ACCESS_EXCLUSIVE, why=["rename"])])
    if isinstance(node, (ast.UpdateStmt, ast.DeleteStmt, ast.InsertStmt, ast.SelectStmt)):
        return _query(node)
    if isinstance(node, ast.DoStmt):
        return _do_block(node)
    if isinstance(node, ast.VacuumStmt):
        return StatementEffect("vacuum", [], transactional=False)
    if isinstance(node, ast.ReindexStmt):
        return StatementEffect("reindex", [], transactional=not is_concurrent_index_operation(node))
    catalog_only = CATALOG_ONLY.get(type(node).__name__)
    if catalog_only:
        return StatementEffect(catalog_only, [])
    return StatementEffect(type(node).__name__.removesuffix("Stmt").lower(), [], known=False)


def _do_block(node: ast.DoStmt) -> StatementEffect:
    """A DO block does what the statements in its body do, together (one statement to the server)."""
    inner = do_block_statements(node)
    if inner is None:
        return StatementEffect("do block", [], known=False)
    effects = [analyse(statement) for statement in inner]
    tables: dict[TableKey, TableEffect] = {}
    for table in (table for effect in effects for table in effect.tables):
        tables.setdefault(table.table, TableEffect(table.table, table.lock)).merge(table)
    return StatementEffect(
        "do block",
        list(tables.values()),
        transactional=all(e.transactional for e in effects),
        creates=[key for e in effects for key in e.creates],
        known=all(e.known for e in effects),
        indexes={k: v for e in effects for k, v in e.indexes.items()},
    )


def _query(node: ast.UpdateStmt | ast.DeleteStmt | ast.InsertStmt | ast.SelectStmt) -> StatementEffect:
    """Rows written take ROW EXCLUSIVE on their tables (a backfill's UPDATE or DELETE reads them all); every
    other table the query reads, in WITH clauses and subqueries too, ACCESS SHARE (traced: 0066 of dokploy)."""
    written, read = relations_written_and_read(node)
    scans = not isinstance(node, ast.InsertStmt)
    tables = [TableEffect(key, ROW_EXCLUSIVE, scan=scans, why=["rows written"]) for key in sorted(written)]
    tables += [TableEffect(key, ACCESS_SHARE, why=["read"]) for key in sorted(read)]
    return StatementEffect("select" if isinstance(node, ast.SelectStmt) and not written else "data change", tables)
