"""analysis/lockmodes.py's conflict table, checked on the real server: one connection holds each mode, a second
asks for each mode with a short lock_timeout; it waits (and times out) exactly where the data says it conflicts."""

from __future__ import annotations

import psycopg
from psycopg import errors, sql

from drizzle_ops.analysis import lockmodes


def _conflicts_on_server(url: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    with psycopg.connect(url, autocommit=True) as holder, psycopg.connect(url, autocommit=True) as asker:
        holder.execute("create table lock_probe (id int)")
        for held in lockmodes.MODES:
            found[held] = set()
            with holder.transaction():
                holder.execute(sql.SQL("lock table lock_probe in {} mode").format(sql.SQL(held)))
                for asked in lockmodes.MODES:
                    try:
                        with asker.transaction():
                            asker.execute("set local lock_timeout = '20ms'")
                            asker.execute(sql.SQL("lock table lock_probe in {} mode").format(sql.SQL(asked)))
                    except errors.LockNotAvailable:
                        found[held].add(asked)
    return found


def test_the_server_agrees_with_the_conflict_table(empty_db: str) -> None:
    expected = {name: set(mode.conflicts) for name, mode in lockmodes.LOCK_MODES.items()}
    assert _conflicts_on_server(empty_db) == expected


def test_pg_locks_spells_each_mode_as_the_data_says(empty_db: str) -> None:
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("create table lock_probe (id int)")
        for mode in lockmodes.MODES:
            with conn.transaction():
                conn.execute(sql.SQL("lock table lock_probe in {} mode").format(sql.SQL(mode)))
                row = conn.execute(
                    "select mode from pg_locks where pid = pg_backend_pid() and relation = 'lock_probe'::regclass"
                ).fetchone()
            assert row is not None and lockmodes.from_pg_locks(row[0]) == mode
