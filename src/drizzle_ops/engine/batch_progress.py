"""A batch migration's progress: a table of ours beside drizzle's bookkeeping table, in the same schema.

``<table>_batches`` (``drizzle.__drizzle_migrations_batches`` by default): one row per batch migration under
way, with the last key done, the rows changed and the batches committed, written in each batch's own
transaction (engine/batch_migration.py). It is created when a batch migration first runs and dropped with
its last row, so a finished run leaves the catalog as drizzle-kit's run of the same file does; drizzle's
bookkeeping table is never changed. Conformance leaves it out, as it leaves out the bookkeeping table.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from drizzle_ops.engine.batch_statement import Key, key_of
from drizzle_ops.engine.bookkeeping import progress_table_name
from drizzle_ops.engine.workspace import Migration, Workspace

MOVED = "drizzle-ops: another run moved the batches on"  # the progress guard's error text, seen in server logs


@dataclass(frozen=True)
class ProgressRow:
    hash: str  # the file's hash: another version of the file starts again
    last_json: str | None  # the last key done, as jsonb_build_array(…)::text (None: none yet)
    rows: int
    keys_done: int
    batches: int

    @property
    def last_key(self) -> Key | None:
        return key_of(self.last_json) if self.last_json is not None else None


@dataclass(frozen=True)
class ProgressTable:
    schema: str
    name: str

    @classmethod
    def of(cls, workspace: Workspace) -> ProgressTable:
        return cls(workspace.migrations_schema, progress_table_name(workspace.migrations_table))

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    def exists(self, conn: psycopg.Connection) -> bool:
        row = conn.execute(
            "select to_regclass(format('%%I.%%I', %s::text, %s::text)) is not null", [self.schema, self.name]
        ).fetchone()
        return bool(row and row[0])

    def ensure(self, conn: psycopg.Connection) -> None:
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (tag text PRIMARY KEY, hash text NOT NULL, last_key jsonb, "
                "rows_done bigint NOT NULL DEFAULT 0, keys_done bigint NOT NULL DEFAULT 0, "
                "batches bigint NOT NULL DEFAULT 0, started_at timestamptz NOT NULL DEFAULT now(), "
                "updated_at timestamptz NOT NULL DEFAULT now())"
            ).format(self.ident)
        )

    def read(self, conn: psycopg.Connection, tag: str) -> ProgressRow | None:
        row = conn.execute(
            sql.SQL("select hash, last_key::text, rows_done, keys_done, batches from {} where tag = %s").format(
                self.ident
            ),
            [tag],
        ).fetchone()
        if row is None:
            return None
        last = str(row[1]) if row[1] is not None else None
        return ProgressRow(str(row[0]), last, int(row[2]), int(row[3]), int(row[4]))

    def guard_sql(self, conn: psycopg.Connection, tag: str, expected: ProgressRow | None, hash_: str) -> str:
        """A statement that fails unless the row is as this run last left it (another run may take turns with it)."""
        found: sql.Composable
        if expected is None or expected.last_json is None:
            found = sql.SQL(
                "not exists (select 1 from {} where tag = {} and hash = {} and last_key is not null)"
            ).format(self.ident, sql.Literal(tag), sql.Literal(hash_))
        else:
            found = sql.SQL("exists (select 1 from {} where tag = {} and hash = {} and last_key = {}::jsonb)").format(
                self.ident, sql.Literal(tag), sql.Literal(hash_), sql.Literal(expected.last_json)
            )
        check = sql.SQL("select (case when {} then '1' else {} end)::int").format(found, sql.Literal(MOVED))
        return check.as_string(conn)

    def write_sql(self, conn: psycopg.Connection, tag: str, row: ProgressRow) -> str:
        return (
            sql.SQL(
                "insert into {} (tag, hash, last_key, rows_done, keys_done, batches) "
                "values ({}, {}, {}::jsonb, {}, {}, {}) "
                "on conflict (tag) do update set hash = excluded.hash, last_key = excluded.last_key, "
                "rows_done = excluded.rows_done, keys_done = excluded.keys_done, batches = excluded.batches, "
                "updated_at = now()"
            )
            .format(
                self.ident,
                sql.Literal(tag),
                sql.Literal(row.hash),
                sql.Literal(row.last_json),
                sql.Literal(row.rows),
                sql.Literal(row.keys_done),
                sql.Literal(row.batches),
            )
            .as_string(conn)
        )

    def finish(self, conn: psycopg.Connection, tag: str) -> None:
        """The migration is done: its row goes, and the table with the last row (the catalog as drizzle-kit has it)."""
        conn.execute(sql.SQL("delete from {} where tag = %s").format(self.ident), [tag])
        left = conn.execute(sql.SQL("select exists (select 1 from {})").format(self.ident)).fetchone()
        if not (left and left[0]):
            conn.execute(sql.SQL("DROP TABLE {}").format(self.ident))


def read_progress(conn: psycopg.Connection, workspace: Workspace, migration: Migration) -> ProgressRow | None:
    """What earlier runs left of ``migration``'s batches (for plan); reads only, creates nothing."""
    table = ProgressTable.of(workspace)
    if not table.exists(conn):
        return None
    row = table.read(conn, migration.tag)
    return row if row is not None and row.hash == migration.hash else None
