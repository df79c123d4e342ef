"""Migrations that cannot run in a transaction: detected by the parser or marked, run statement by statement."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from drizzle_ops.engine import runner
from drizzle_ops.engine.execution import ExecutionPolicy
from drizzle_ops.engine.states import PlanOptions
from drizzle_ops.engine.transactionality import is_non_transactional
from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.errors import MigrationFailed
from tests.helpers import add_migration, rows

CIC = 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_display_name_idx" ON "users" USING btree ("display_name");'


def index_state(url: str, name: str) -> bool | None:
    """True valid, False invalid, None absent."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select i.indisvalid from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname = %s", [name]
        ).fetchone()
    return None if row is None else bool(row[0])


def migrate(url: str, ws: Path) -> runner.MigrateResult:
    with psycopg.connect(url, autocommit=True) as conn:
        return runner.migrate(conn, load_workspace(ws))


def test_concurrent_index_is_detected_and_built_outside_a_transaction(empty_db: str, workspace_copy: Path) -> None:
    tag = add_migration(workspace_copy, "display_name_index", CIC)
    migration = load_workspace(workspace_copy).by_tag(tag)
    assert is_non_transactional(migration)
    result = migrate(empty_db, workspace_copy)
    assert result.applied[-1].tag == tag
    assert index_state(empty_db, "users_display_name_idx") is True
    assert rows(empty_db)[-1] == (migration.hash, migration.when)


def test_ordinary_migrations_stay_transactional(workspace_copy: Path) -> None:
    assert not any(is_non_transactional(m) for m in load_workspace(workspace_copy).migrations)
    tag = add_migration(workspace_copy, "mentions_word", "-- we do not use concurrently here\nSELECT 'vacuum';")
    assert not is_non_transactional(load_workspace(workspace_copy).by_tag(tag))


def test_marker_opts_out_of_the_transaction(empty_db: str, workspace_copy: Path) -> None:
    # VACUUM would fail inside a transaction block: it passes only because the marker is honoured
    tag = add_migration(
        workspace_copy,
        "vacuum_users",
        '-- drizzle-ops: no-transaction\nSELECT 1;--> statement-breakpoint\nVACUUM "users";',
    )
    assert migrate(empty_db, workspace_copy).applied[-1].tag == tag


def test_failed_concurrent_index_is_reported_then_dropped_on_the_next_attempt(
    empty_db: str, workspace_copy: Path
) -> None:
    unique = 'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "users_display_name_uq" ON "users" ("display_name");'
    tag = add_migration(workspace_copy, "unique_display_name", "SELECT 1;--> statement-breakpoint\n" + unique)
    workspace = load_workspace(workspace_copy)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        runner.migrate(conn, workspace, PlanOptions(to=workspace.migrations[-2].tag))
        conn.execute("insert into users (email, display_name) values ('a@x', 'same'), ('b@x', 'same')")
        with pytest.raises(MigrationFailed) as caught:
            runner.migrate(conn, workspace)
    failure = caught.value
    assert failure.tag == tag and failure.sqlstate == "23505" and failure.statement_number == 2
    assert failure.detail is not None
    assert "statement 1 ran outside a transaction and stays applied" in failure.detail
    assert "invalid index users_display_name_uq left behind" in failure.detail
    assert index_state(empty_db, "users_display_name_uq") is False
    assert len(rows(empty_db)) == len(workspace.migrations) - 1  # not recorded

    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("update users set display_name = email")
        result = runner.migrate(conn, workspace)
    assert [a.tag for a in result.applied] == [tag]
    assert index_state(empty_db, "users_display_name_uq") is True  # rebuilt, not skipped by IF NOT EXISTS


def test_a_waiting_runner_does_not_deadlock_a_concurrent_index_build(empty_db: str, workspace_copy: Path) -> None:
    """CREATE INDEX CONCURRENTLY waits for every open transaction; a waiter that blocked inside
    pg_advisory_lock() would be one, forever. Ours polls pg_try_advisory_lock, so both finish."""
    import threading

    add_migration(workspace_copy, "slow", "SELECT pg_sleep(0.5);")
    add_migration(workspace_copy, "display_name_index", CIC)
    workspace = load_workspace(workspace_copy)
    results: list[runner.MigrateResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with psycopg.connect(empty_db, autocommit=True) as conn:
                results.append(runner.migrate(conn, workspace, policy=ExecutionPolicy(lock_wait=30)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "deadlock: a runner never finished"
    assert errors == []
    applied = [a.tag for r in results for a in r.applied]
    assert sorted(applied) == sorted(m.tag for m in workspace.migrations)  # each once, by one of the three
    assert rows(empty_db) == [(m.hash, m.when) for m in workspace.migrations]
    assert index_state(empty_db, "users_display_name_idx") is True


def test_the_sessions_own_timeouts_come_back_after_a_non_transactional_migration(
    empty_db: str, workspace_copy: Path
) -> None:
    from drizzle_ops.engine.runner import ExecutionPolicy

    add_migration(workspace_copy, "display_name_index", CIC)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("set lock_timeout = '7s'")
        conn.execute("set statement_timeout = '9min'")
        runner.migrate(conn, load_workspace(workspace_copy), policy=ExecutionPolicy(lock_timeout="2s"))
        assert conn.execute("show lock_timeout").fetchone() == ("7s",)
        assert conn.execute("show statement_timeout").fetchone() == ("9min",)
