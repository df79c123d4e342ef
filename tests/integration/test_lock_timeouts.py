"""lock_timeout per migration, retries with backoff on SQLSTATE 55P03, and the blocker named on failure."""

from __future__ import annotations

import threading

import psycopg
import pytest

from drizzle_ops.engine import runner
from drizzle_ops.engine.runner import ExecutionPolicy
from drizzle_ops.engine.states import PlanOptions
from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.errors import MigrationFailed
from tests.helpers import EXAMPLE, rows

LAST = "0007_wishlist_items"  # adds a foreign key to users: needs a lock on users


class Retries(runner.SilentProgress):
    def __init__(self) -> None:
        self.attempts: list[int] = []

    def retrying(self, migration, attempt, delay, reason) -> None:  # type: ignore[no-untyped-def]
        self.attempts.append(attempt)


def _migrate_to_before_last(url: str) -> None:
    workspace = load_workspace(EXAMPLE)
    with psycopg.connect(url, autocommit=True) as conn:
        runner.migrate(conn, workspace, PlanOptions(to=workspace.migrations[-2].tag))


def test_lock_timeout_retries_then_names_the_blocker(empty_db: str) -> None:
    _migrate_to_before_last(empty_db)
    workspace = load_workspace(EXAMPLE)
    progress = Retries()
    with psycopg.connect(empty_db) as blocker:
        blocker.execute("set application_name = 'long-report'")
        blocker.execute("lock table users in access exclusive mode")  # held until this transaction ends
        with psycopg.connect(empty_db, autocommit=True) as conn, pytest.raises(MigrationFailed) as caught:
            runner.migrate(
                conn,
                workspace,
                policy=ExecutionPolicy(lock_timeout="100ms", retries=2, backoff=0.05),
                progress=progress,
            )
        blocker.rollback()
    failure = caught.value
    assert failure.tag == LAST and failure.sqlstate == "55P03"
    assert failure.detail is not None and "long-report" in failure.detail
    assert progress.attempts == [1, 2]
    assert len(rows(empty_db)) == len(workspace.migrations) - 1  # the last one left nothing


def test_retry_succeeds_once_the_blocker_lets_go(empty_db: str) -> None:
    _migrate_to_before_last(empty_db)
    workspace = load_workspace(EXAMPLE)
    progress = Retries()
    blocker = psycopg.connect(empty_db)
    blocker.execute("lock table users in access exclusive mode")
    release = threading.Timer(0.4, blocker.rollback)
    release.start()
    try:
        with psycopg.connect(empty_db, autocommit=True) as conn:
            result = runner.migrate(
                conn, workspace, policy=ExecutionPolicy(lock_timeout="100ms", retries=8, backoff=0.1), progress=progress
            )
    finally:
        release.join()
        blocker.close()
    assert [a.tag for a in result.applied] == [LAST]
    assert progress.attempts  # it did have to retry
    assert len(rows(empty_db)) == len(workspace.migrations)


def test_statement_timeout_applies_per_migration(empty_db: str, workspace_copy) -> None:  # type: ignore[no-untyped-def]
    path = load_workspace(workspace_copy).migrations[0].sql_path
    path.write_text(path.read_text() + "--> statement-breakpoint\nSELECT pg_sleep(2);")
    with psycopg.connect(empty_db, autocommit=True) as conn, pytest.raises(MigrationFailed) as caught:
        runner.migrate(conn, load_workspace(workspace_copy), policy=ExecutionPolicy(statement_timeout="200ms"))
    assert caught.value.sqlstate == "57014"  # query_canceled
    with psycopg.connect(empty_db) as conn:  # SET LOCAL: the session keeps its own setting
        assert conn.execute("show statement_timeout").fetchone() == ("0",)
