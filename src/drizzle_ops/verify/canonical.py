"""Ask PostgreSQL how it would store an expected expression, when text alone can't tell.

``status in ('a', 'b')`` is stored as ``status = ANY (ARRAY['a'::text, 'b'::text])``
and ``between`` as two comparisons. To compare such texts without false alarms,
we put the snapshot's expression on a scratch temp copy of the table (LIKE the
real one, so the same column types) and read back the server's own deparse.

This runs inside the caller's transaction, which is always rolled back, each
attempt in a savepoint. Expressions come from the workspace's own snapshot;
they are sent with the extended protocol (binary=True), which carries exactly
one statement, so a text can never end the transaction or add a statement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from drizzle_ops.verify.model import IndexColumn

T = TypeVar("T")


class Canonicalizer:
    def __init__(self, conn: psycopg.Connection, parse_path: str) -> None:
        self.conn = conn
        self.parse_path = parse_path  # the session's search_path: names in expressions resolve as in a migration
        self._scratch: dict[tuple[str, str], sql.Composed | None] = {}
        self._counter = 0

    def _name(self, prefix: str) -> str:
        self._counter += 1
        return f"drizzle_ops_{prefix}_{self._counter}"

    def _attempt(self, ddl: sql.Composed, read: Callable[[], T]) -> T | None:
        """Run one DDL with the migration's search_path, then read under pg_catalog; None if the server refuses."""
        try:
            with self.conn.transaction():
                self.conn.execute("select set_config('search_path', %s, true)", [self.parse_path])
                with self.conn.cursor() as cursor:
                    cursor.execute(ddl, binary=True)
                self.conn.execute("select set_config('search_path', 'pg_catalog', true)")
                return read()
        except psycopg.Error:
            return None

    def _table(self, schema: str, table: str) -> sql.Composed | None:
        key = (schema, table)
        if key not in self._scratch:
            scratch = sql.SQL("pg_temp.{}").format(sql.Identifier(self._name("scratch")))
            ddl = sql.SQL("create temp table {} (like {}.{})").format(
                scratch, sql.Identifier(schema), sql.Identifier(table)
            )
            self._scratch[key] = scratch if self._attempt(ddl, lambda: True) else None
        return self._scratch[key]

    def _one(self, query: sql.Composed, params: Sequence[Any]) -> Any:
        row = self.conn.execute(query, params).fetchone()
        return row[0] if row else None

    def default(self, schema: str, table: str, column: str, expression: str) -> str | None:
        scratch = self._table(schema, table)
        if scratch is None:
            return None
        ddl = sql.SQL("alter table {} alter column {} set default {}").format(
            scratch, sql.Identifier(column), sql.SQL(expression)
        )
        read = sql.SQL(
            "select pg_get_expr(d.adbin, d.adrelid) from pg_attrdef d join pg_attribute a"
            " on a.attrelid = d.adrelid and a.attnum = d.adnum where d.adrelid = {}::regclass and a.attname = %s"
        ).format(sql.Literal(scratch.as_string(self.conn)))
        return self._attempt(ddl, lambda: self._one(read, [column]))

    def generated(self, schema: str, table: str, type_: str, expression: str) -> str | None:
        scratch = self._table(schema, table)
        if scratch is None:
            return None
        column = self._name("generated")
        ddl = sql.SQL("alter table {} add column {} {} generated always as ({}) stored").format(
            scratch, sql.Identifier(column), sql.SQL(type_), sql.SQL(expression)
        )
        read = sql.SQL(
            "select pg_get_expr(d.adbin, d.adrelid) from pg_attrdef d join pg_attribute a"
            " on a.attrelid = d.adrelid and a.attnum = d.adnum where d.adrelid = {}::regclass and a.attname = %s"
        ).format(sql.Literal(scratch.as_string(self.conn)))
        return self._attempt(ddl, lambda: self._one(read, [column]))

    def check(self, schema: str, table: str, expression: str) -> str | None:
        scratch = self._table(schema, table)
        if scratch is None:
            return None
        name = self._name("check")
        ddl = sql.SQL("alter table {} add constraint {} check ({})").format(
            scratch, sql.Identifier(name), sql.SQL(expression)
        )
        read = sql.SQL(
            "select pg_get_constraintdef(oid, true) from pg_constraint where conrelid = {}::regclass and conname = %s"
        ).format(sql.Literal(scratch.as_string(self.conn)))
        return self._attempt(ddl, lambda: self._one(read, [name]))

    def index(
        self, schema: str, table: str, method: str, columns: Sequence[IndexColumn], where: str | None
    ) -> tuple[list[str], str | None] | None:
        """The deparsed key columns and predicate of an index built as the snapshot describes it."""
        name = self._scratch_index(schema, table, method, columns, where)
        if name is None:
            return None
        read = sql.SQL(
            "select array(select pg_get_indexdef(i.indexrelid, k, true) from generate_series(1, i.indnkeyatts) k"
            " order by k), pg_get_expr(i.indpred, i.indrelid, true)"
            " from pg_index i where i.indexrelid = %s::regclass"
        )
        row = self.conn.execute(read, [name]).fetchone()
        return (list(row[0]), row[1]) if row else None

    def same_index(
        self, schema: str, table: str, live: str, method: str, columns: Sequence[IndexColumn], where: str | None
    ) -> tuple[bool, bool] | None:
        """Rule D: (keys equal, predicates equal) between the live index and one built as drizzle-kit writes it.

        A key Drizzle marks as an expression, such as `"created_at" DESC`, `"email"
        text_pattern_ops` or `"code" COLLATE "C"`, is stored by PostgreSQL as a plain
        column key with a sort option (indoption), an operator class (indclass) or a
        collation (indcollation). So the expected index is created on the scratch
        table from drizzle-kit's own SQL, and pg_index is compared field by field:
        indkey (as column names), indoption, indclass, indcollation, and the stored
        expression and predicate trees (deparsed, since attribute numbers of the
        scratch copy may differ). None when the server refuses the scratch index.
        """
        name = self._scratch_index(schema, table, method, columns, where)
        if name is None:
            return None
        relation = sql.SQL(".").join([sql.Identifier(schema), sql.Identifier(live)]).as_string(self.conn)
        want, have = index_keys(self.conn, name), index_keys(self.conn, relation)
        if want is None or have is None:
            return None
        return want.keys == have.keys, want.predicate == have.predicate

    def _scratch_index(
        self, schema: str, table: str, method: str, columns: Sequence[IndexColumn], where: str | None
    ) -> str | None:
        """The regclass text of an index created on the scratch table exactly as drizzle-kit writes it."""
        scratch = self._table(schema, table)
        if scratch is None:
            return None
        name = self._name("index")
        ddl = sql.SQL("create index {} on {} using {} ({}){}").format(
            sql.Identifier(name),
            scratch,
            sql.Identifier(method),
            sql.SQL(",").join(drizzle_key(c) for c in columns),
            sql.SQL(" where {}").format(sql.SQL(where)) if where else sql.SQL(""),
        )
        qualified = sql.SQL("pg_temp.{}").format(sql.Identifier(name)).as_string(self.conn)
        return qualified if self._attempt(ddl, lambda: True) else None


def drizzle_key(col: IndexColumn) -> sql.Composable:
    """One index key as drizzle-kit 0.31 writes it: an expression verbatim (never wrapped), else the quoted
    column; then the operator class alone, or DESC and NULLS as the snapshot says."""
    key: sql.Composable = sql.SQL(col.expression) if col.is_expression else sql.Identifier(col.expression)
    if col.opclass:
        return sql.SQL("{} {}").format(key, sql.SQL(col.opclass))
    if col.desc:
        return sql.SQL("{} DESC NULLS {}").format(key, sql.SQL("FIRST" if col.nulls_first else "LAST"))
    return sql.SQL("{} NULLS FIRST").format(key) if col.nulls_first else key


@dataclass(frozen=True)
class IndexKeys:
    """An index as pg_index stores it; equal keys index and order rows the same way."""

    keys: tuple[Any, ...]  # per key: column name (None: expression), indoption, indclass, indcollation; indexprs
    predicate: str | None  # indpred, deparsed


_KEYS = """
    select array(select a.attname from generate_series(0, i.indnkeyatts - 1) k
                 left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[k] order by k),
           array(select i.indoption[k]::int from generate_series(0, i.indnkeyatts - 1) k order by k),
           array(select i.indclass[k]::oid from generate_series(0, i.indnkeyatts - 1) k order by k),
           array(select i.indcollation[k]::oid from generate_series(0, i.indnkeyatts - 1) k order by k),
           pg_get_expr(i.indexprs, i.indrelid), pg_get_expr(i.indpred, i.indrelid)
    from pg_index i where i.indexrelid = to_regclass(%s)
"""


def index_keys(conn: psycopg.Connection, relation: str) -> IndexKeys | None:
    """pg_index's key fields of ``relation`` (a quoted, qualified name); None when there is no such index."""
    row = conn.execute(_KEYS, [relation]).fetchone()
    if row is None:
        return None
    names, options, classes, collations, expressions, predicate = row
    return IndexKeys((tuple(zip(names, options, classes, collations, strict=True)), expressions), predicate)
