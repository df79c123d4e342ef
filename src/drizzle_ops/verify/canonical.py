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
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from .model import IndexColumn

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
        scratch = self._table(schema, table)
        if scratch is None:
            return None
        name = self._name("index")
        keys = []
        for col in columns:
            key: sql.Composable = (
                sql.SQL("({})").format(sql.SQL(col.expression)) if col.is_expression else sql.Identifier(col.expression)
            )
            if col.opclass:
                key = sql.SQL("{} {}").format(key, sql.SQL(col.opclass))
            keys.append(key)
        ddl = sql.SQL("create index {} on {} using {} ({}){}").format(
            sql.Identifier(name),
            scratch,
            sql.Identifier(method),
            sql.SQL(", ").join(keys),
            sql.SQL(" where {}").format(sql.SQL(where)) if where else sql.SQL(""),
        )
        read = sql.SQL(
            "select array(select pg_get_indexdef(i.indexrelid, k, true) from generate_series(1, i.indnkeyatts) k"
            " order by k), pg_get_expr(i.indpred, i.indrelid, true)"
            " from pg_index i join pg_class c on c.oid = i.indexrelid"
            " where c.relname = %s and c.relnamespace = pg_my_temp_schema()"
        )

        def fetch() -> tuple[list[str], str | None] | None:
            row = self.conn.execute(read, [name]).fetchone()
            return (list(row[0]), row[1]) if row else None

        return self._attempt(ddl, fetch)
