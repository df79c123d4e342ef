"""Small questions about pglast's parse tree that several rules ask."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, parse_plpgsql, parse_sql
from pglast.enums import AlterTableType, ConstrType, NullTestType, ObjectType, TransactionStmtKind
from pglast.parser import ParseError
from pglast.visitors import Visitor

TableKey = tuple[str, str]  # (schema, table); an unqualified name means public

_OPENS = frozenset({TransactionStmtKind.TRANS_STMT_BEGIN, TransactionStmtKind.TRANS_STMT_START})
_CLOSES = frozenset(
    {
        TransactionStmtKind.TRANS_STMT_COMMIT,
        TransactionStmtKind.TRANS_STMT_ROLLBACK,
        TransactionStmtKind.TRANS_STMT_PREPARE,
    }
)

SERIAL_TYPES = frozenset({"smallserial", "serial2", "serial", "serial4", "bigserial", "serial8"})


def table_key(relation: ast.RangeVar) -> TableKey:
    return (relation.schemaname or "public", relation.relname or "")


def table_name(relation: ast.RangeVar | None) -> str:
    if relation is None:
        return "?"
    return f"{relation.schemaname}.{relation.relname}" if relation.schemaname else str(relation.relname)


def dotted(names: tuple[ast.Node, ...] | None) -> str:
    """``("public", "moc_status")`` name lists as they are written: public.moc_status."""
    return ".".join(str(n.sval) for n in names or () if isinstance(n, ast.String))


def alter_table_commands(node: ast.Node) -> list[ast.AlterTableCmd]:
    """The subcommands of an ALTER TABLE (not of ALTER INDEX, VIEW, …)."""
    if not isinstance(node, ast.AlterTableStmt) or node.objtype is not ObjectType.OBJECT_TABLE:
        return []
    return [cmd for cmd in node.cmds or () if isinstance(cmd, ast.AlterTableCmd)]


def added_constraint(cmd: ast.AlterTableCmd) -> ast.Constraint | None:
    if cmd.subtype is AlterTableType.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
        return cmd.def_
    return None


def added_column(cmd: ast.AlterTableCmd) -> ast.ColumnDef | None:
    if cmd.subtype is AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
        return cmd.def_
    return None


def column_constraints(column: ast.ColumnDef) -> list[ast.Constraint]:
    return [c for c in column.constraints or () if isinstance(c, ast.Constraint)]


def column_has(column: ast.ColumnDef, *kinds: ConstrType) -> bool:
    return any(c.contype in kinds for c in column_constraints(column))


def type_name(column: ast.ColumnDef) -> str:
    """The column's type as written, lower case, without pg_catalog: int4, serial, text."""
    names = column.typeName.names if column.typeName is not None else None
    last = names[-1] if names else None
    return str(last.sval).lower() if isinstance(last, ast.String) else ""


def is_serial(column: ast.ColumnDef) -> bool:
    return type_name(column) in SERIAL_TYPES


def not_null_column(constraint: ast.Constraint) -> str | None:
    """The column of a ``CHECK (col IS NOT NULL)`` constraint, or of a ``NOT NULL col`` one (PostgreSQL 18)."""
    keys = constraint.keys or ()
    if constraint.contype is ConstrType.CONSTR_NOTNULL and len(keys) == 1 and isinstance(keys[0], ast.String):
        return str(keys[0].sval)
    expr = constraint.raw_expr
    if constraint.contype is not ConstrType.CONSTR_CHECK or not isinstance(expr, ast.NullTest):
        return None
    if expr.nulltesttype is not NullTestType.IS_NOT_NULL or not isinstance(expr.arg, ast.ColumnRef):
        return None
    last = (expr.arg.fields or ())[-1:]
    return str(last[0].sval) if last and isinstance(last[0], ast.String) else None


class NotNullProofs:
    """Columns that a validated ``CHECK (col IS NOT NULL)`` proves NOT NULL, followed statement by statement:
    since PostgreSQL 12 SET NOT NULL trusts such a constraint and skips its scan."""

    def __init__(self) -> None:
        self._unchecked: dict[tuple[TableKey, str], str] = {}  # (table, constraint) -> column, added NOT VALID
        self.proven: set[tuple[TableKey, str]] = set()  # (table, column)

    def see(self, node: ast.Node) -> None:
        relation = getattr(node, "relation", None)
        if not isinstance(relation, ast.RangeVar):
            return
        table = table_key(relation)
        for cmd in alter_table_commands(node):
            constraint = added_constraint(cmd)
            column = not_null_column(constraint) if constraint is not None else None
            if constraint is not None and constraint.contype is ConstrType.CONSTR_CHECK and column is not None:
                if constraint.skip_validation:
                    self._unchecked[(table, constraint.conname or "")] = column
                else:
                    self.proven.add((table, column))
            elif cmd.subtype is AlterTableType.AT_ValidateConstraint and (table, str(cmd.name)) in self._unchecked:
                self.proven.add((table, self._unchecked[(table, str(cmd.name))]))
            elif cmd.subtype is AlterTableType.AT_DropConstraint:
                self._unchecked.pop((table, str(cmd.name)), None)


def opens_transaction(node: ast.Node) -> bool:
    return isinstance(node, ast.TransactionStmt) and node.kind in _OPENS


def closes_transaction(node: ast.Node) -> bool:
    return isinstance(node, ast.TransactionStmt) and node.kind in _CLOSES


def is_concurrent_index_operation(node: ast.Node) -> bool:
    """CREATE / DROP / REINDEX … CONCURRENTLY: Postgres refuses all three inside a transaction block."""
    if isinstance(node, ast.IndexStmt):
        return bool(node.concurrent)
    if isinstance(node, ast.DropStmt):
        return node.removeType is ObjectType.OBJECT_INDEX and bool(node.concurrent)
    if isinstance(node, ast.ReindexStmt):
        return any(isinstance(p, ast.DefElem) and p.defname == "concurrently" for p in node.params or ())
    return False


def walk(node: object) -> Iterator[ast.Node]:
    """Every node below ``node`` (itself included), depth first."""
    if isinstance(node, ast.Node):
        yield node
        for attribute in node:
            yield from walk(getattr(node, attribute))
    elif isinstance(node, tuple):
        for item in node:
            yield from walk(item)


def string_constants(node: ast.Node) -> Iterator[str]:
    """String literals anywhere in a statement: 'archived', 'archived'::moc_status, …"""
    for child in walk(node):
        if isinstance(child, ast.A_Const) and isinstance(child.val, ast.String):
            yield str(child.val.sval)


# a dollar quote no DO body of ours holds, to wrap one into a function PL/pgSQL's parser accepts
_BODY_QUOTE = "$drizzle_ops_do$"


def do_block_statements(node: ast.DoStmt) -> list[ast.Node] | None:
    """The SQL statements a PL/pgSQL DO block runs, parsed; None when that can't be known for sure.

    drizzle-kit up to 0.20 wrapped every CREATE TYPE and foreign key in `DO $$ BEGIN … EXCEPTION
    WHEN duplicate_object THEN null; END $$;`, so old histories are full of them. Unknown: another
    language, dynamic EXECUTE, or a body the parser rejects.
    """
    options = {item.defname: item.arg for item in node.args or () if isinstance(item, ast.DefElem)}
    language, body = options.get("language"), options.get("as")
    if isinstance(language, ast.String) and str(language.sval).lower() != "plpgsql":
        return None
    if not isinstance(body, ast.String) or _BODY_QUOTE in str(body.sval):
        return None
    wrapped = f"CREATE FUNCTION do_block() RETURNS void LANGUAGE plpgsql AS {_BODY_QUOTE}{body.sval}{_BODY_QUOTE}"
    try:
        queries = _plpgsql_queries(parse_plpgsql(wrapped))
        if queries is None:
            return None
        return [raw.stmt for query in queries for raw in parse_sql(query) if raw.stmt is not None]
    except ParseError:
        return None


def _plpgsql_queries(tree: object) -> list[str] | None:
    """Every embedded SQL statement of a PL/pgSQL parse tree (JSON), in order; None on dynamic SQL."""
    found: list[str] = []

    def walk(value: object) -> bool:
        if isinstance(value, dict):
            if "PLpgSQL_stmt_dynexecute" in value:
                return False
            statement = value.get("PLpgSQL_stmt_execsql")
            if isinstance(statement, dict):
                found.append(str(statement["sqlstmt"]["PLpgSQL_expr"]["query"]))
                return True
            return all(walk(item) for item in value.values())
        if isinstance(value, list):
            return all(walk(item) for item in value)
        return True

    return found if walk(tree) else None


class _Relations(Visitor):
    """The tables a query writes (INSERT/UPDATE/DELETE targets, also in WITH) and the others it reads."""

    def __init__(self) -> None:
        super().__init__()
        self.written: set[TableKey] = set()
        self.named: set[TableKey] = set()
        self.ctes: set[str] = set()

    def visit_CommonTableExpr(self, ancestors: object, node: ast.CommonTableExpr) -> None:
        self.ctes.add(str(node.ctename))

    def visit_InsertStmt(self, ancestors: object, node: ast.InsertStmt) -> None:
        self._written(node.relation)

    def visit_UpdateStmt(self, ancestors: object, node: ast.UpdateStmt) -> None:
        self._written(node.relation)

    def visit_DeleteStmt(self, ancestors: object, node: ast.DeleteStmt) -> None:
        self._written(node.relation)

    def visit_RangeVar(self, ancestors: object, node: ast.RangeVar) -> None:
        self.named.add(table_key(node))

    def _written(self, relation: ast.RangeVar | None) -> None:
        if relation is not None:
            self.written.add(table_key(relation))


def relations_written_and_read(node: ast.Node) -> tuple[set[TableKey], set[TableKey]]:
    """(tables written, tables only read) by a query, WITH clauses and subqueries included; CTE names are no tables."""
    relations = _Relations()
    relations(node)
    ctes = {("public", name) for name in relations.ctes}
    return relations.written, relations.named - relations.written - ctes
