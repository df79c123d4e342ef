"""`inv plan`'s new flags at the edge: --explain-lock, --format, the errors (one line, exit 2 for bad input)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from markdown_it import MarkdownIt

from tests.helpers import NO_PG_BINARIES, add_migration, only_with_backend, pg_binaries, requires, run_inv
from tests.integration.test_plan_trace import _tables, at_0006


def test_markdown_without_trace_says_locks_are_predicted(empty_db: str, workspace_copy: Path) -> None:
    at_0006(empty_db, workspace_copy)
    proc = run_inv("plan", "--url", empty_db, "--workspace", str(workspace_copy), "--format", "markdown")
    assert proc.returncode == 0, proc.stderr
    (header, rows), *_ = _tables(MarkdownIt("commonmark").enable("table").parse(proc.stdout))
    assert "trace vs prediction" not in header and len(rows) == 1
    assert "predicted" in proc.stdout and "--trace" in proc.stdout


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--explain-lock", "Shared"],
            "error: --explain-lock 'Shared': choose a table lock mode: ACCESS SHARE (AccessShareLock),",
        ),
        (["--format", "yaml"], "error: --format 'yaml': choose one of table, json, markdown"),
        (["--json", "--format", "markdown"], "error: --json and --format markdown disagree: give one of them"),
        (["--trace-url", "postgresql://x@localhost/db"], "error: --trace-url names the scratch server of a trace"),
        (
            ["--trace", "--trace-url", "mysql://x"],
            "error: the database URL from --trace-url is not a postgresql:// URL",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(migrated_db: str, flags: list[str], message: str) -> None:
    proc = run_inv("plan", "--url", migrated_db, *flags)
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(message)
    assert "Traceback" not in proc.stderr


def test_an_unreachable_scratch_server_is_exit_1_without_password(migrated_db: str, workspace_copy: Path) -> None:
    at_url = "postgresql://someone:s3cret-pass@127.0.0.1:1/db"
    add_migration(workspace_copy, "more", 'ALTER TABLE "users" ADD COLUMN "z" text;')
    proc = run_inv("plan", "--url", migrated_db, "--workspace", str(workspace_copy), "--trace", "--trace-url", at_url)
    assert proc.returncode == 1, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: cannot connect to 127.0.0.1:1/db (URL from the --trace-url server)")
    assert "s3cret-pass" not in proc.stderr + proc.stdout


def test_explain_lock_accepts_both_spellings() -> None:
    share = run_inv("plan", "--explain-lock", "ShareLock")
    assert share.returncode == 0, share.stderr
    assert share.stdout == run_inv("plan", "--explain-lock", "SHARE").stdout
    lines = share.stdout.splitlines()
    assert lines[0] == "SHARE (pg_locks: ShareLock), level 5 of 8"
    assert lines[3].startswith("blocks: writes")
    document = json.loads(run_inv("plan", "--explain-lock", "access exclusive", "--json").stdout)
    assert document["mode"] == "ACCESS EXCLUSIVE" and document["blocks"] == "reads and writes"
    assert "SELECT" in document["blocked_queries"] and len(document["conflicts_with"]) == 8


def test_a_scratch_server_of_another_major_is_refused(migrated_db: str, workspace_copy: Path) -> None:
    """invoke.yaml's `pg` names the embedded server's major: a trace on another major than the target's is refused."""
    add_migration(workspace_copy, "more", 'ALTER TABLE "users" ADD COLUMN "z" text;')
    with psycopg.connect(migrated_db) as conn:
        major = conn.info.server_version // 10000
    other = "14" if major != 14 else "15"
    env = {"INVOKE_DRIZZLE_OPS_PG": other}
    proc = run_inv("plan", "--url", migrated_db, "--workspace", str(workspace_copy), "--trace", env=env)
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line == (
        f"error: the target runs PostgreSQL {major} but invoke.yaml asks for a {other} embedded server: a trace "
        "must run on the target's major; give --trace-url of a scratch server of that major"
    )


@only_with_backend("local", reason="runs in the local-backend sessions (it starts its own embedded server)")
@requires(pg_binaries, NO_PG_BINARIES)
def test_without_trace_url_the_embedded_server_holds_the_scratch_copy(
    empty_db: str, workspace_copy: Path, tmp_path: Path
) -> None:
    at_0006(empty_db, workspace_copy)
    env = {"INVOKE_DRIZZLE_OPS_STATE_DIR": str(tmp_path / "state"), "INVOKE_DRIZZLE_OPS_PROVIDER": "local"}
    try:
        proc = run_inv("plan", "--url", empty_db, "--workspace", str(workspace_copy), "--trace", "--json", env=env)
        assert proc.returncode == 0, proc.stderr
        assert "starting a disposable PostgreSQL server (the embedded default) for the trace" in proc.stderr
        document = json.loads(proc.stdout)
        assert document["trace"]["dropped"] is True
        assert document["pending"][0]["trace"]["verdict"] == "safe"
        reused = run_inv("plan", "--url", empty_db, "--workspace", str(workspace_copy), "--trace", env=env)
        assert reused.returncode == 0 and "starting a disposable" not in reused.stderr  # warm: reused
    finally:
        run_inv("db.down", env=env)


def test_nothing_pending_makes_no_scratch_copy(migrated_db: str) -> None:
    proc = run_inv("plan", "--url", migrated_db, "--trace", "--trace-url", "postgresql://nobody@127.0.0.1:1/x")
    assert proc.returncode == 0, proc.stderr  # the unreachable scratch server is never asked
    assert "Nothing pending" in proc.stdout
