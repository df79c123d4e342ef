"""Nothing is lost: many runners at once, SIGKILL at random points, a server that drops the connection."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from drizzle_ops.engine import runner
from drizzle_ops.engine.states import PlanOptions
from drizzle_ops.engine.workspace import load_workspace
from tests.helpers import ROOT, rows, run_inv_process
from tests.reliability.catalog import fingerprint

SLEEP = 0.12  # seconds added to every migration, so a run lasts about a second


def slow_workspace(ws: Path) -> Path:
    """Every migration of the example, each ending with a pg_sleep."""
    for migration in load_workspace(ws).migrations:
        text = migration.sql_path.read_text()
        migration.sql_path.write_text(text.rstrip() + f"--> statement-breakpoint\nSELECT pg_sleep({SLEEP});\n")
    return ws


def spawn_migrate(url: str, ws: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["NO_COLOR"] = "1"
    return subprocess.Popen(
        [shutil.which("inv") or "inv", "migrate", "--url", url, "--workspace", str(ws)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def reference(databases, workspace_copy: Path) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """The catalog after each prefix of the migrations: reference[k] = first k applied."""
    workspace = load_workspace(workspace_copy)
    url = databases.create()
    prints = [fingerprint(url)]
    with psycopg.connect(url, autocommit=True) as conn:
        for migration in workspace.migrations:
            runner.migrate(conn, workspace, PlanOptions(to=migration.tag))
            prints.append(fingerprint(url))
    return prints


def test_eight_concurrent_processes_apply_each_migration_once(empty_db: str, workspace_copy: Path) -> None:
    ws = slow_workspace(workspace_copy)
    procs = [spawn_migrate(empty_db, ws) for _ in range(8)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [err for _, err in outputs]
    workspace = load_workspace(ws)
    assert rows(empty_db) == [(m.hash, m.when) for m in workspace.migrations]  # once each, in order
    appliers = [out for out, _ in outputs if "Applied" in out]
    assert len(appliers) >= 1
    applied_total = sum(int(out.split("Applied ")[1].split(" ")[0]) for out in appliers if "Applied " in out)
    assert applied_total == len(workspace.migrations)
    waiters = [err for _, err in outputs if "waiting for the migration lock" in err]
    assert waiters, "with a one-second run, some of the eight must have waited"
    assert all("held by pid" in err for err in waiters)


def test_sigkill_at_random_points_never_leaves_half_a_migration(
    databases,
    workspace_copy: Path,
    reference: list[list[str]],  # type: ignore[no-untyped-def]
) -> None:
    ws = slow_workspace(workspace_copy)
    workspace = load_workspace(ws)
    expected_rows = [(m.hash, m.when) for m in workspace.migrations]
    rng = random.Random(20071)  # fixed seed: a failure can be replayed
    url = databases.create()
    kills = 0
    while kills < 30:
        proc = spawn_migrate(url, ws)
        time.sleep(rng.uniform(0.25, 1.3))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=30)
        recorded = rows(url)
        k = len(recorded)
        assert recorded == expected_rows[:k]  # a prefix, in order
        assert fingerprint(url) == reference[k]  # the schema is exactly that prefix: nothing half-applied
        if k == len(expected_rows):  # all applied: start over on a new database
            url = databases.create()
    final = spawn_migrate(url, ws)
    _out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    assert rows(url) == expected_rows and fingerprint(url) == reference[-1]


def test_connection_killed_by_the_server_mid_migration(
    empty_db: str, workspace_copy: Path, reference: list[list[str]]
) -> None:
    ws = slow_workspace(workspace_copy)
    proc = spawn_migrate(empty_db, ws)
    with psycopg.connect(empty_db, autocommit=True) as admin:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            killed = admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where application_name = 'drizzle-ops' and query like '%pg_sleep%' and state = 'active'"
            ).fetchall()
            if killed:
                break
            time.sleep(0.02)
    _out, err = proc.communicate(timeout=60)
    assert killed, "never saw the migration running"
    assert proc.returncode == 1
    assert "Traceback" not in err and err.count("error:") == 1
    k = len(rows(empty_db))
    assert fingerprint(empty_db) == reference[k]
    again = run_inv_process("migrate", "--url", empty_db, "--workspace", str(ws))
    assert again.returncode == 0, again.stderr
    assert fingerprint(empty_db) == reference[-1]
