"""The bookkeeping table, exactly as drizzle-orm creates and writes it, so either tool can take over.

Identifiers always go through ``sql.Identifier``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from drizzle_ops.engine.states import AppliedRow
from drizzle_ops.errors import OperationFailed, UserError


def _table(schema: str, table: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


def ensure_bookkeeping(conn: psycopg.Connection, schema: str, table: str, *, with_names: bool = False) -> None:
    """Create the schema and table exactly as drizzle-orm does, so either tool can take over.

    ``with_names``: drizzle-kit v1's table, which adds `name` and `applied_at`.
    An existing 0.31 table is not upgraded here: v1's own migrate does that,
    matching rows to folders, and we refuse rather than guess.
    """
    check_bookkeeping_shape(schema, table, bookkeeping_columns(conn, schema, table))  # before any write
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    columns = "id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint"
    if with_names:
        columns += ", name text, applied_at timestamp with time zone DEFAULT now()"
    conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (" + columns + ")").format(_table(schema, table)))
    if with_names and "name" not in bookkeeping_columns(conn, schema, table):
        raise UserError(
            f"{schema}.{table} is in the drizzle-kit 0.31 format (no `name` column) but the workspace uses the v1 "
            "layout; run drizzle-kit v1's `migrate` once, which upgrades the table, then use drizzle-ops again"
        )


def progress_table_name(bookkeeping_table: str) -> str:
    """Our own table beside drizzle's, in the same schema: a batch migration's progress (engine/batch_migration.py).

    ``__drizzle_migrations_batches``; a name too long for PostgreSQL (63 bytes) is shortened with a hash, never cut.
    """
    name = f"{bookkeeping_table}_batches"
    if len(name.encode()) <= 63:
        return name
    return f"drizzle_ops_batches_{hashlib.sha256(bookkeeping_table.encode()).hexdigest()[:16]}"


# what drizzle-kit 0.31 writes; v1 adds name and applied_at (checked separately: an old table there is upgradable)
DRIZZLE_COLUMNS = ("id", "hash", "created_at")


def check_bookkeeping_shape(schema: str, table: str, columns: list[str]) -> None:
    """A table at the bookkeeping name that drizzle did not create (another tool's): refuse, touch nothing."""
    if not columns or all(c in columns for c in DRIZZLE_COLUMNS):
        return
    raise UserError(
        f"{schema}.{table} exists but is not a Drizzle bookkeeping table (its columns: {', '.join(columns)}; "
        f"drizzle-kit writes {', '.join(DRIZZLE_COLUMNS)}); set migrations.table or migrations.schema in "
        "drizzle.config.ts to another name"
    )


def bookkeeping_columns(conn: psycopg.Connection, schema: str, table: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            """
            select a.attname from pg_attribute a
            join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped
            order by a.attnum
            """,
            [schema, table],
        ).fetchall()
    ]


def read_applied(conn: psycopg.Connection, schema: str, table: str) -> list[AppliedRow]:
    """Rows of the bookkeeping table; none when it does not exist yet (this never creates it)."""
    return read_table(conn, schema, table)[1]


def read_table(conn: psycopg.Connection, schema: str, table: str) -> tuple[bool, list[AppliedRow]]:
    """Whether the bookkeeping table exists, and its rows (none when it does not; this never creates it)."""
    columns = bookkeeping_columns(conn, schema, table)
    if not columns:
        return False, []
    check_bookkeeping_shape(schema, table, columns)
    name = sql.SQL(", name") if "name" in columns else sql.SQL(", null")
    rows = conn.execute(
        sql.SQL("select id, hash, created_at{} from {} order by id").format(name, _table(schema, table))
    ).fetchall()
    return True, [
        AppliedRow(id=r[0], hash=r[1], created_at=int(r[2]) if r[2] is not None else None, name=r[3]) for r in rows
    ]


def insert_applied(
    conn: psycopg.Connection, schema: str, table: str, hash_: str, created_at: int, name: str | None = None
) -> int:
    """The row drizzle writes: (hash, created_at), plus the name for v1 (applied_at takes its default); its id."""
    return RowInsert(conn, schema, table, with_names=name is not None).execute(conn, hash_, created_at, name)


class RowInsert:
    """The bookkeeping insert of :func:`insert_applied`, composed once per run (the identifiers are quoted once).

    ``execute`` sends it with parameters; ``literal`` renders it as plain SQL to travel in one
    simple query with a migration's statements. Both store the same values, so the rows stay
    identical to drizzle's.
    """

    def __init__(self, conn: psycopg.Connection, schema: str, table: str, *, with_names: bool) -> None:
        columns = '"hash", "created_at", "name"' if with_names else '"hash", "created_at"'
        head = sql.SQL("insert into {} (" + columns + ") values (").format(_table(schema, table))
        self.with_names = with_names
        self._query = sql.Composed([head, sql.SQL("%s, %s, %s)" if with_names else "%s, %s)")])
        self._prefix = head.as_string(conn)

    def params(self, hash_: str, created_at: int, name: str | None) -> list[Any]:
        return [hash_, created_at, name] if self.with_names else [hash_, created_at]

    def execute(self, conn: psycopg.Connection, hash_: str, created_at: int, name: str | None = None) -> int:
        """Insert the row; its id (the runner confirms that this very row committed)."""
        row = conn.execute(sql.Composed([self._query, RETURNING]), self.params(hash_, created_at, name)).fetchone()
        assert row is not None
        return int(row[0])

    def literal(self, conn: psycopg.Connection, hash_: str, created_at: int, name: str | None = None) -> str:
        """The same insert as plain SQL, answering with the row's id."""
        values = ", ".join(sql.Literal(v).as_string(conn) for v in self.params(hash_, created_at, name))
        return f"{self._prefix}{values}){RETURNING.as_string(conn)}"


RETURNING = sql.SQL(" returning id")


def delete_applied(conn: psycopg.Connection, schema: str, table: str, row_id: int) -> None:
    """Forget one applied migration (a rollback step); exactly one row must go."""
    cursor = conn.execute(sql.SQL("delete from {} where id = %s").format(_table(schema, table)), [row_id])
    if cursor.rowcount != 1:
        raise OperationFailed(
            f"bookkeeping row {row_id} of {schema}.{table} was not found; run `inv status` and try again"
        )


def update_applied_hash(
    conn: psycopg.Connection, schema: str, table: str, row_id: int, old_hash: str, new_hash: str
) -> None:
    """Record a new hash for one applied migration (a repair); the row must still hold ``old_hash``."""
    cursor = conn.execute(
        sql.SQL("update {} set hash = %s where id = %s and hash = %s").format(_table(schema, table)),
        [new_hash, row_id, old_hash],
    )
    if cursor.rowcount != 1:
        raise OperationFailed(
            f"bookkeeping row {row_id} of {schema}.{table} no longer holds hash {old_hash[:12]} "
            "(changed meanwhile?); run `inv status` and try again"
        )


# -- has it changed, and did our row commit ------------------------------------------------------------


@dataclass(frozen=True)
class Fingerprint:
    """Enough of the table to tell whether another run wrote to it since we read it (rows added or removed)."""

    rows: int
    last_id: int
    exists: bool = True  # the table existed when it was read (an absent one reads as empty)

    @classmethod
    def of(cls, rows: Sequence[AppliedRow], *, exists: bool = True) -> Fingerprint:
        """The fingerprint of rows read in one query (so of one snapshot)."""
        return cls(len(rows), max((row.id for row in rows), default=0), exists)

    def after_insert(self, row_id: int) -> Fingerprint:
        return Fingerprint(self.rows + 1, max(self.last_id, row_id))

    def __eq__(self, other: object) -> bool:  # what the guard compares: the rows, not how they were read
        return isinstance(other, Fingerprint) and (self.rows, self.last_id) == (other.rows, other.last_id)

    def __hash__(self) -> int:
        return hash((self.rows, self.last_id))


def fingerprint(conn: psycopg.Connection, schema: str, table: str) -> Fingerprint:
    """The table's fingerprint now; an absent table is an empty one."""
    if not bookkeeping_columns(conn, schema, table):
        return Fingerprint(0, 0)
    row = conn.execute(
        sql.SQL("select count(*), coalesce(max(id), 0) from {}").format(_table(schema, table))
    ).fetchone()
    assert row is not None
    return Fingerprint(int(row[0]), int(row[1]))


def newest_row_id(conn: psycopg.Connection, schema: str, table: str) -> int | None:
    row = conn.execute(sql.SQL("select max(id) from {}").format(_table(schema, table))).fetchone()
    return int(row[0]) if row and row[0] is not None else None


STALE = "drizzle-ops: another run changed the bookkeeping table"  # the guard's error text, seen in server logs


def fingerprint_guard(conn: psycopg.Connection, schema: str, table: str, expected: Fingerprint) -> str:
    """A statement that fails unless the table still has ``expected``'s fingerprint.

    It must run AFTER the lock is taken, as a statement of its own: under READ COMMITTED each
    statement reads with a snapshot taken when it starts, so a statement that took the lock
    itself would read what was committed before it had it.
    """
    check = sql.SQL(
        "select (case when (select count(*) = {} and coalesce(max(id), 0) = {} from {}) then '1' else {} end)::int"
    ).format(sql.Literal(expected.rows), sql.Literal(expected.last_id), _table(schema, table), sql.Literal(STALE))
    return check.as_string(conn)


def committed_row_sql(conn: psycopg.Connection, schema: str, table: str, row_id: int) -> str:
    """A query answering whether row ``row_id`` is in the table, for after a COMMIT (committed rows only)."""
    return (
        sql.SQL("select exists (select 1 from {} where id = {})")
        .format(_table(schema, table), sql.Literal(row_id))
        .as_string(conn)
    )
