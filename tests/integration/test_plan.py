"""`inv plan`: what a reviewer reads before a deploy. It flags blocking work on big tables and changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from drizzle_ops.engine import runner
from drizzle_ops.engine.states import PlanOptions
from drizzle_ops.engine.workspace import load_workspace
from tests.helpers import add_migration, rows, run_inv
from tests.reliability.catalog import fingerprint

# what drizzle-kit writes for `index("users_display_name_idx").on(t.displayName)`
DRIZZLE_INDEX = 'CREATE INDEX "users_display_name_idx" ON "users" USING btree ("display_name");'


def prepare(url: str, ws: Path, users: int) -> None:
    add_migration(ws, "users_display_name_idx", DRIZZLE_INDEX)
    workspace = load_workspace(ws)
    with psycopg.connect(url, autocommit=True) as conn:
        runner.migrate(conn, workspace, PlanOptions(to=workspace.migrations[-2].tag))
        conn.execute(
            "insert into users (email, display_name) select 'u' || g || '@x', 'n' || g from generate_series(1, %s) g",
            [users],
        )


def test_plan_flags_a_blocking_index_build_on_a_large_table(empty_db: str, workspace_copy: Path) -> None:
    prepare(empty_db, workspace_copy, 5000)
    before = (rows(empty_db), fingerprint(empty_db))
    proc = run_inv(
        "plan",
        "--env",
        "staging",
        "--json",
        "--large-rows",
        "1000",
        "--workspace",
        str(workspace_copy),
        env={"STAGING_DATABASE_URL": empty_db},
    )
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["environment"] == "staging" and plan["lock_timeout"] == "5s"
    (pending,) = plan["pending"]
    assert pending["tag"].endswith("users_display_name_idx") and pending["runs_in_transaction"] is True
    (statement,) = pending["statements"]
    (table,) = statement["tables"]
    assert table["table"] == "public.users" and table["lock"] == "SHARE" and table["blocks"] == "writes"
    assert table["scan"] is True and table["rewrite"] is False and table["rows"] == 5000
    assert any("blocks writes" in f and "CREATE INDEX CONCURRENTLY" in f for f in pending["flags"])
    assert {f["rule"] for f in pending["findings"]} >= {"require-concurrent-index-creation"}
    assert (rows(empty_db), fingerprint(empty_db)) == before  # the plan changed nothing


def test_small_tables_are_not_flagged(empty_db: str, workspace_copy: Path) -> None:
    prepare(empty_db, workspace_copy, 10)
    proc = run_inv("plan", "--url", empty_db, "--json", "--workspace", str(workspace_copy))
    (pending,) = json.loads(proc.stdout)["pending"]
    assert pending["flags"] == []  # 10 rows: below the default threshold of 100,000


def test_plan_table_for_people(empty_db: str, workspace_copy: Path) -> None:
    prepare(empty_db, workspace_copy, 2000)
    proc = run_inv("plan", "--url", empty_db, "--large-rows", "1000", "--workspace", str(workspace_copy))
    assert proc.returncode == 0, proc.stderr
    assert "public.users" in proc.stdout and "SHARE" in proc.stdout and "2,000" in proc.stdout
    assert "⚠ index build on public.users" in proc.stdout
    assert "Nothing was changed." in proc.stdout


def test_plan_with_nothing_pending(migrated_db: str) -> None:
    proc = run_inv("plan", "--url", migrated_db)
    assert proc.returncode == 0 and "Nothing pending" in proc.stdout
