"""Whole names in every table, at 80 columns: in a pipe (a CI log) and at a terminal 80 columns wide.

A drizzle-kit v1 history with long real-looking tags: one older than the applied head (out of order),
one pending that alters a table with a long name. Every table the tasks print must show each tag, target
table, down file and check id whole on one line, never cut with "…"; the summary lines name what they
count. A pipe gets a table laid out wide; the terminal gets folded columns or, narrower than the names,
plain lines.
"""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import struct
import subprocess
import threading
import uuid
from fcntl import ioctl
from pathlib import Path
from termios import TIOCSWINSZ

import psycopg
import pytest

from drizzle_ops.disposable.base import Server
from drizzle_ops.engine import runner
from drizzle_ops.engine.workspace import load_workspace
from tests.helpers import ROOT, V1, run_inv

OLD = "20260224105235_AddGitHubIntegrationSupport"  # older than the applied head: out of order
NEW = "20261201093015_BackfillTenantBillingAccountsFromStripe"
APPLIED = ["20261124140325_init", "20261124140327_sets", "20261124140358_wishlist_items"]
TABLE = "github_integration_installations_for_every_workspace"
PASSING_CHECK = "wishlist.items_table_exists_for_every_tenant_workspace"
SKIPPED_CHECK = "billing.tenant_billing_reference_column_is_backfilled"
COLUMNS = 80
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def in_terminal(*args: str) -> subprocess.CompletedProcess[str]:
    """`inv` with stdout on a terminal 80 columns wide (a pseudo-terminal), stderr on a pipe."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"NO_COLOR": "1", "COLUMNS": str(COLUMNS), "TERM": "xterm"})
    leader, follower = pty.openpty()
    ioctl(follower, TIOCSWINSZ, struct.pack("HHHH", 50, COLUMNS, 0, 0))
    inv = shutil.which("inv") or "inv"
    proc = subprocess.Popen(
        [inv, *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=follower, stderr=subprocess.PIPE
    )
    os.close(follower)
    chunks: list[bytes] = []

    def drain() -> None:  # read as it comes: a full pseudo-terminal would block the program
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the program closed its end
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    reader.join(timeout=10)
    os.close(leader)
    stdout = ANSI.sub("", b"".join(chunks).decode().replace("\r\n", "\n"))
    return subprocess.CompletedProcess([inv, *args], code, stdout, stderr)


def in_pipe(*args: str) -> subprocess.CompletedProcess[str]:
    return run_inv(*args, env={"COLUMNS": str(COLUMNS)})


RUNS = {"pipe": in_pipe, "terminal": in_terminal}


def whole(names: list[str], output: str) -> None:
    """Each name on one line, never cut; a table line fits the width (only names may run past it)."""
    lines = output.splitlines()
    for name in names:
        assert any(name in line for line in lines), f"{name} is not whole in:\n{output}"
    assert "…" not in output, output


@pytest.fixture
def project(tmp_path: Path, empty_db: str) -> tuple[Path, str]:
    """A v1 workspace (its three migrations applied), one older folder out of order, one pending, checks."""
    workspace = tmp_path / "app"
    shutil.copytree(V1, workspace, ignore=shutil.ignore_patterns("node_modules"))
    with psycopg.connect(empty_db, autocommit=True) as conn:
        runner.migrate(conn, load_workspace(workspace))
    column = "billing_account_reference_from_stripe"
    # OLD was generated on a branch cut before init (its parent is the origin), NEW after the applied head;
    # each snapshot copies one of the example's with an id of its own, which is all these tasks read here
    for tag, parent, up, down in (
        (OLD, APPLIED[0], f'CREATE TABLE "{TABLE}" ("id" integer);', f'DROP TABLE "{TABLE}";'),
        (
            NEW,
            APPLIED[-1],
            f'ALTER TABLE "{TABLE}" ADD COLUMN "{column}" text;',
            f'ALTER TABLE "{TABLE}" DROP COLUMN "{column}";',
        ),
    ):
        snapshot = json.loads((workspace / "drizzle" / parent / "snapshot.json").read_text())
        snapshot["prevIds"] = snapshot["prevIds"] if tag == OLD else [snapshot["id"]]
        snapshot["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, tag))
        (workspace / "drizzle" / tag).mkdir()
        (workspace / "drizzle" / tag / "migration.sql").write_text(up)
        (workspace / "drizzle" / tag / "snapshot.json").write_text(json.dumps(snapshot))
        (workspace / "rollback" / f"{tag}.down.sql").write_text(down)
    (workspace / "checks").mkdir()
    (workspace / "checks" / "tenants.py").write_text(
        "from drizzle_ops.checks_api import Check\n\n"
        "CHECKS = [\n"
        f"    Check(id={PASSING_CHECK!r}, description='the wishlist_items table exists',\n"
        "          sql=\"select to_regclass('public.wishlist_items') is not null\", expect=True),\n"
        f"    Check(id={SKIPPED_CHECK!r}, migration={NEW!r}, description='every account has its reference',\n"
        f"          sql='select count(*) from {TABLE}', expect=0),\n"
        "]\n"
    )
    return workspace, empty_db


@pytest.mark.parametrize("how", ["pipe", pytest.param("terminal", marks=pytest.mark.process)])
def test_what_status_drift_verify_and_dry_runs_print_keeps_every_name_whole(
    how: str, project: tuple[Path, str]
) -> None:
    workspace, url = project
    run = RUNS[how]
    common = ["--url", url, "--workspace", str(workspace)]
    rollback_dir = ["--rollback-dir", str(workspace / "rollback")]

    status = run("status", "--check", *common)
    assert status.returncode == 1, status.stderr
    whole([OLD, NEW, *APPLIED], status.stdout)
    assert f"3 applied, 1 pending: {NEW}; 1 out-of-order: {OLD}" in status.stdout.splitlines()
    assert status.stderr.splitlines()[-1] == f"status check failed: 1 pending: {NEW}; 1 out-of-order: {OLD}"

    for drift in (run("status", "--schema", *common), run("drift", *common)):
        assert drift.returncode == 0, drift.stderr
        whole([OLD, NEW, *APPLIED, f"out-of-order: {OLD} is not applied"], drift.stdout)

    verify = run("verify", "--checks-dir", str(workspace / "checks"), *common)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    whole(["snapshot-conformance", PASSING_CHECK, SKIPPED_CHECK, APPLIED[-1]], verify.stdout)
    assert f"2 of 3 check(s) passed, 1 skipped: {SKIPPED_CHECK}." in verify.stdout.splitlines()

    dry = run("migrate", "--dry-run", "--allow-out-of-order", *common)
    assert dry.returncode == 0, dry.stderr
    sql, table = dry.stdout.split("Would apply")
    whole([f'CREATE TABLE "{TABLE}"', f"-- {NEW} ("], sql)
    whole([OLD, NEW], table)

    back = run("rollback", "--dry-run", "--steps", "2", *rollback_dir, *common)
    assert back.returncode == 0, back.stderr
    table = back.stdout.split("Would roll back")[1]
    whole([*APPLIED[1:], *(str(workspace / "rollback" / f"{tag}.down.sql") for tag in APPLIED[1:])], table)


@pytest.mark.process
def test_applied_rolled_back_and_planned_tables_keep_every_name_whole(
    project: tuple[Path, str], pg_server: Server
) -> None:
    workspace, url = project
    common = ["--url", url, "--workspace", str(workspace)]
    rollback_dir = ["--rollback-dir", str(workspace / "rollback")]
    down = {tag: str(workspace / "rollback" / f"{tag}.down.sql") for tag in (OLD, NEW)}

    applied = in_pipe("migrate", "--allow-out-of-order", *rollback_dir, *common)
    assert applied.returncode == 0, applied.stderr
    whole([OLD, NEW], applied.stdout)
    back = in_terminal("rollback", "--steps", "1", *rollback_dir, *common)
    assert back.returncode == 0, back.stderr
    whole([NEW, down[NEW]], back.stdout)
    again = in_terminal("migrate", *common)
    assert again.returncode == 0, again.stderr
    whole([NEW], again.stdout)
    back = in_pipe("rollback", "--steps", "1", *rollback_dir, *common)
    assert back.returncode == 0, back.stderr
    whole([NEW, down[NEW]], back.stdout)

    # NEW is pending again: the plan's statements and the trace's locks name the long table whole
    for run in (in_pipe, in_terminal):
        plan = run("plan", "--trace", "--trace-url", pg_server.url, *common)
        assert plan.returncode == 0, plan.stderr
        whole([NEW, f"public.{TABLE}", f"{NEW}: what each statement does"], plan.stdout)
        trace = plan.stdout.split("trace: the locks each statement took on a scratch copy")[1]
        whole([f"{NEW}: traced against predicted", f"public.{TABLE}"], trace)
    document = json.loads(in_pipe("plan", "--json", *common).stdout)
    assert [p["tag"] for p in document["pending"]] == [NEW]


@pytest.mark.process
def test_a_terminal_too_narrow_for_a_table_gets_a_line_per_row(project: tuple[Path, str]) -> None:
    workspace, url = project
    status = in_terminal("status", "--url", url, "--workspace", str(workspace))
    lines = status.stdout.splitlines()
    assert not any(line.startswith(("┏", "│")) for line in lines)  # 54 + the other columns do not fit in 80
    assert lines[lines.index(OLD) + 1].startswith("  state: out-of-order; created (journal): 2026-02-24 10:52")
    piped = in_pipe("status", "--url", url, "--workspace", str(workspace))
    assert any(line.startswith(f"│ {OLD} ") and "│ out-of-order " in line for line in piped.stdout.splitlines())
