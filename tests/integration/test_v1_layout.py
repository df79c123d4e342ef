"""drizzle-kit v1's folder layout: read, migrated, reported and rolled back, with v1's own bookkeeping."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from drizzle_ops.engine import runner
from drizzle_ops.engine.states import MigrationState, PlanOptions
from drizzle_ops.engine.workspace import FOLDERS, load_workspace
from drizzle_ops.errors import UserError
from tests.helpers import NO_DRIZZLE_KIT_V1, ROOT, requires, run_inv

V1 = ROOT / "examples" / "drizzle-v1"
V1_KIT = V1 / "node_modules" / ".bin" / "drizzle-kit"
needs_kit = requires(V1_KIT.exists, NO_DRIZZLE_KIT_V1)


def v1_rows(url: str) -> list[tuple[str, int, str | None, bool]]:
    with psycopg.connect(url) as conn:
        return [
            (h, int(c), n, a is not None)
            for h, c, n, a in conn.execute(
                "select hash, created_at, name, applied_at from drizzle.__drizzle_migrations order by id"
            ).fetchall()
        ]


@pytest.fixture
def v1_copy(tmp_path: Path) -> Path:
    target = tmp_path / "v1"
    shutil.copytree(V1, target, ignore=shutil.ignore_patterns("node_modules"))
    return target


def test_folder_layout_is_read_in_name_order() -> None:
    workspace = load_workspace(V1)
    assert workspace.layout == FOLDERS and workspace.records_names
    assert [m.tag for m in workspace.migrations] == sorted(p.name for p in (V1 / "drizzle").iterdir())
    first = workspace.migrations[0]
    assert first.sql_path.name == "migration.sql" and first.snapshot_path.name == "snapshot.json"
    assert first.when == 1795529005000  # 2026-11-24 14:03:25 UTC, as drizzle's formatToMillis reads the name


def test_migrate_writes_v1_rows_and_status_matches_by_name(empty_db: str) -> None:
    workspace = load_workspace(V1)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        runner.migrate(conn, workspace)
        states = [e.state for e in runner.status(conn, workspace)]
    assert states == [MigrationState.APPLIED] * 3
    assert v1_rows(empty_db) == [(m.hash, m.when, m.tag, True) for m in workspace.migrations]


@needs_kit
def test_bookkeeping_equals_drizzle_kit_v1(databases) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = databases.create(), databases.create()
    with psycopg.connect(ours, autocommit=True) as conn:
        runner.migrate(conn, load_workspace(V1))
    env = {**os.environ, "DATABASE_URL": theirs}
    proc = subprocess.run([str(V1_KIT), "migrate"], cwd=V1, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert v1_rows(ours) == v1_rows(theirs)


@needs_kit
def test_drizzle_v1_continues_where_we_stopped_and_back(databases) -> None:  # type: ignore[no-untyped-def]
    url = databases.create()
    workspace = load_workspace(V1)
    with psycopg.connect(url, autocommit=True) as conn:
        runner.migrate(conn, workspace, PlanOptions(to=workspace.migrations[0].tag))
    env = {**os.environ, "DATABASE_URL": url}
    proc = subprocess.run([str(V1_KIT), "migrate"], cwd=V1, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with psycopg.connect(url, autocommit=True) as conn:
        assert runner.migrate(conn, workspace).applied == []  # drizzle applied the rest; we agree
    assert [r[2] for r in v1_rows(url)] == [m.tag for m in workspace.migrations]


def test_drift_by_name(empty_db: str, v1_copy: Path) -> None:
    workspace = load_workspace(v1_copy)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        runner.migrate(conn, workspace)
        conn.execute(
            "insert into drizzle.__drizzle_migrations (hash, created_at, name) values ('x', 1, '20200101000000_gone')"
        )
    middle = workspace.migrations[1].sql_path
    middle.write_text(middle.read_text() + "\n-- edited\n")
    late = v1_copy / "drizzle" / "20261124140330_from_branch"
    late.mkdir()
    (late / "migration.sql").write_text('CREATE TABLE "late" ("id" integer);')
    snapshot = json.loads((workspace.migrations[1].snapshot_path).read_text())
    snapshot["prevIds"], snapshot["id"] = [snapshot["id"]], "33333333-3333-3333-3333-333333333333"
    (late / "snapshot.json").write_text(json.dumps(snapshot))
    with psycopg.connect(empty_db, autocommit=True) as conn:
        entries = runner.status(conn, load_workspace(v1_copy))
    states = {(e.tag or (e.row.name if e.row else None)): e.state for e in entries}
    assert states[workspace.migrations[1].tag] is MigrationState.MODIFIED
    assert states["20261124140330_from_branch"] is MigrationState.OUT_OF_ORDER
    assert states["20200101000000_gone"] is MigrationState.MISSING_FILE


def test_v1_workspace_refuses_a_031_table(empty_db: str) -> None:
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("create schema drizzle")
        conn.execute(
            "create table drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint)"
        )
        with pytest.raises(UserError, match="0.31 format"):
            runner.migrate(conn, load_workspace(V1))


def test_bad_folder_name_and_broken_chain(v1_copy: Path) -> None:
    odd = v1_copy / "drizzle" / "latest_change"
    odd.mkdir()
    (odd / "migration.sql").write_text("SELECT 1;")
    with pytest.raises(UserError, match="must start with YYYYMMDDHHMMSS"):
        load_workspace(v1_copy)
    shutil.rmtree(odd)
    snapshot_path = load_workspace(v1_copy).migrations[2].snapshot_path
    snapshot = json.loads(snapshot_path.read_text())
    snapshot["prevIds"] = ["44444444-4444-4444-4444-444444444444"]
    snapshot_path.write_text(json.dumps(snapshot))
    problem = load_workspace(v1_copy).snapshot_chain_problem()  # a warning for the tasks that read snapshots
    assert problem is not None and "44444444-4444-4444-4444-444444444444 match no earlier snapshot" in problem


def test_cli_status_and_rollback_on_v1(empty_db: str) -> None:
    migrate = run_inv("migrate", "--url", empty_db, "--workspace", str(V1))
    assert migrate.returncode == 0, migrate.stderr
    status = run_inv("status", "--url", empty_db, "--workspace", str(V1), "--json", "--check")
    assert status.returncode == 0 and json.loads(status.stdout)["summary"]["applied"] == 3
    back = run_inv(
        "rollback", "--url", empty_db, "--workspace", str(V1), "--rollback-dir", str(V1 / "rollback"), "--steps", "1"
    )
    assert back.returncode == 0, back.stderr
    assert [r[2] for r in v1_rows(empty_db)] == [m.tag for m in load_workspace(V1).migrations[:2]]
    again = run_inv("migrate", "--url", empty_db, "--workspace", str(V1))
    assert again.returncode == 0 and "Applied 1 migration(s)" in again.stdout


def test_verify_reads_v1_snapshots(empty_db: str) -> None:
    run_inv("migrate", "--url", empty_db, "--workspace", str(V1))
    proc = run_inv("verify", "--url", empty_db, "--workspace", str(V1), "--only", "snapshot-conformance", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["checks"][0]["result"] == "pass"


@needs_kit
def test_runner_drizzle_lets_drizzle_kit_1_apply_an_older_folder_by_name(empty_db: str, v1_copy: Path) -> None:
    """drizzle-kit 1.0 applies an unapplied folder older than the newest applied one (it decides by name), so
    `--runner drizzle` does not refuse it, as it must for 0.31, which would skip it silently."""
    (v1_copy / "node_modules").symlink_to(V1 / "node_modules", target_is_directory=True)
    assert run_inv("migrate", "--workspace", str(v1_copy), "--url", empty_db).returncode == 0
    older = v1_copy / "drizzle" / "20261124140330_notes"
    older.mkdir()
    (older / "migration.sql").write_text('CREATE TABLE "notes" ("id" integer PRIMARY KEY);\n')
    done = run_inv("migrate", "--workspace", str(v1_copy), "--url", empty_db, "--runner", "drizzle", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["applied"] == ["20261124140330_notes"]
    assert "20261124140330_notes" in [row[2] for row in v1_rows(empty_db)]
