"""`inv plan`'s new flags at the edge: --explain-lock, --format, the errors (one line, exit 2 for bad input)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tests.helpers import add_migration, run_inv
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
            "error: unknown lock mode 'Shared'; valid modes: ACCESS SHARE (AccessShareLock),",
        ),
        (["--format", "yaml"], "error: unknown --format 'yaml'; choose one of table, json, markdown"),
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
