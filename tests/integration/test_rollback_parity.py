"""Rollback at parity with migrate: down files outside a transaction, and lock timeouts retried naming the blocker."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import psycopg
import pytest

from drizzle_ops.engine import rollback
from drizzle_ops.engine.rollback import RollbackFailed
from drizzle_ops.engine.runner import ExecutionPolicy
from drizzle_ops.engine.workspace import load_workspace
from tests.helpers import ROOT, add_migration, rows, run_inv
from tests.integration.test_non_transactional import index_state

INDEX = "users_display_name_idx"
CIC = f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{INDEX}" ON "users" USING btree ("display_name");'
DROP = f'DROP INDEX CONCURRENTLY IF EXISTS "{INDEX}";'
LAST = "0007_wishlist_items"  # its down file drops a foreign key to users: needs a lock on users


@pytest.fixture
def rollback_dir(tmp_path: Path) -> Path:
    target = tmp_path / "rollback"
    shutil.copytree(ROOT / "sql" / "rollback", target)
    return target


def inv(*args: str, ws: Path, rollback_dir: Path, url: str):  # type: ignore[no-untyped-def]
    return run_inv(*args, "--url", url, "--workspace", str(ws), "--rollback-dir", str(rollback_dir))


def test_lock_safe_index_round_trips_migrate_rollback_migrate(
    empty_db: str, workspace_copy: Path, rollback_dir: Path
) -> None:
    tag = add_migration(workspace_copy, "display_name_index", CIC)
    (rollback_dir / f"{tag}.down.sql").write_text(DROP + "\n")
    count = len(load_workspace(workspace_copy).migrations)
    for _ in range(2):  # the second migrate proves rollback left the database as drizzle expects it
        migrated = inv("migrate", ws=workspace_copy, rollback_dir=rollback_dir, url=empty_db)
        assert migrated.returncode == 0, migrated.stderr
        assert index_state(empty_db, INDEX) is True and len(rows(empty_db)) == count
        undone = inv("rollback", ws=workspace_copy, rollback_dir=rollback_dir, url=empty_db)
        assert undone.returncode == 0, undone.stderr  # DROP INDEX CONCURRENTLY cannot run in a transaction block
        assert index_state(empty_db, INDEX) is None and len(rows(empty_db)) == count - 1


def test_marked_down_file_runs_outside_a_transaction(empty_db: str, workspace_copy: Path, rollback_dir: Path) -> None:
    tag = add_migration(workspace_copy, "noop", "SELECT 1;")
    # VACUUM fails inside a transaction block: this passes only because the marker is honoured
    (rollback_dir / f"{tag}.down.sql").write_text('-- drizzle-ops: no-transaction\nVACUUM "users";\n')
    assert inv("migrate", ws=workspace_copy, rollback_dir=rollback_dir, url=empty_db).returncode == 0
    undone = inv("rollback", ws=workspace_copy, rollback_dir=rollback_dir, url=empty_db)
    assert undone.returncode == 0, undone.stderr
    assert len(rows(empty_db)) == len(load_workspace(workspace_copy).migrations) - 1


def test_failure_after_a_committed_statement_keeps_the_row_and_says_what_stayed(
    empty_db: str, workspace_copy: Path, rollback_dir: Path
) -> None:
    tag = add_migration(workspace_copy, "display_name_index", CIC)
    down = rollback_dir / f"{tag}.down.sql"
    down.write_text(DROP + '--> statement-breakpoint\nDROP INDEX CONCURRENTLY "no_such_index";\n')
    assert inv("migrate", ws=workspace_copy, rollback_dir=rollback_dir, url=empty_db).returncode == 0
    before = rows(empty_db)
    failed = inv("rollback", ws=workspace_copy, rollback_dir=rollback_dir, url=empty_db)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    [line] = [x for x in failed.stderr.splitlines() if x.startswith("error:")]
    assert f"rollback of {tag} failed at statement 2" in line and "[42704]" in line
    assert "statement 1 ran outside a transaction and stays applied" in line
    assert f"{tag} is still recorded as applied" in line and "fix the down file and run rollback again" in line
    assert rows(empty_db) == before and index_state(empty_db, INDEX) is None
    down.write_text(DROP + "\n")  # fixed: the rerun completes, the first statement being idempotent
    again = inv("rollback", ws=workspace_copy, rollback_dir=rollback_dir, url=empty_db)
    assert again.returncode == 0, again.stderr and rows(empty_db) == before[:-1]


class Retries(rollback.SilentRollbackProgress):
    def __init__(self) -> None:
        self.attempts: list[int] = []

    def retrying(self, down, attempt, delay, reason) -> None:  # type: ignore[no-untyped-def]
        self.attempts.append(attempt)


def test_lock_timeout_in_a_down_file_retries_then_names_the_blocker(migrated_db: str) -> None:
    workspace = load_workspace(ROOT / "examples/wishlist/packages/backend/database-schema")
    before = rows(migrated_db)
    progress = Retries()
    with psycopg.connect(migrated_db) as blocker:
        blocker.execute("set application_name = 'long-report'")
        blocker.execute("lock table users in access exclusive mode")
        with psycopg.connect(migrated_db, autocommit=True) as conn, pytest.raises(RollbackFailed) as caught:
            rollback.rollback(
                conn,
                workspace,
                ROOT / "sql" / "rollback",
                policy=ExecutionPolicy(lock_timeout="100ms", retries=2, backoff=0.05, environment="staging"),
                progress=progress,
            )
        blocker.rollback()
    failure = caught.value
    assert failure.tag == LAST and failure.sqlstate == "55P03" and progress.attempts == [1, 2]
    assert failure.detail is not None and "long-report" in failure.detail
    assert "lock_timeout 100ms (set by environment staging in invoke.yaml)" in failure.message
    assert f"that step was undone, so {LAST} is still applied" in failure.message
    assert rows(migrated_db) == before


def test_down_file_retry_succeeds_once_the_blocker_lets_go(migrated_db: str) -> None:
    workspace = load_workspace(ROOT / "examples/wishlist/packages/backend/database-schema")
    progress = Retries()
    blocker = psycopg.connect(migrated_db)
    blocker.execute("lock table users in access exclusive mode")
    release = threading.Timer(0.4, blocker.rollback)
    release.start()
    try:
        with psycopg.connect(migrated_db, autocommit=True) as conn:
            result = rollback.rollback(
                conn,
                workspace,
                ROOT / "sql" / "rollback",
                policy=ExecutionPolicy(lock_timeout="100ms", retries=8, backoff=0.1),
                progress=progress,
            )
    finally:
        release.join()
        blocker.close()
    assert [r.tag for r in result.rolled_back] == [LAST] and progress.attempts
    assert len(rows(migrated_db)) == len(workspace.migrations) - 1
