"""`inv plan --trace`, end to end: the real command line, a real target and a scratch server.

The trace runs on a scratch database of the test server (given as --trace-url), never on the target:
the target's schema is the same before and after, and no scratch database is left behind, also when
the run is stopped with Ctrl-C or SIGTERM in the middle of a statement.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from drizzle_ops.disposable.base import Server
from drizzle_ops.engine import runner
from drizzle_ops.engine.states import PlanOptions
from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.review.tracer import TRACE_PREFIX
from tests.helpers import ROOT, add_migration, run_inv, schema_dump


def scratch_databases(admin: psycopg.Connection) -> list[str]:
    pattern = TRACE_PREFIX.replace("_", "\\_") + "%"
    return [r[0] for r in admin.execute("select datname from pg_database where datname like %s", [pattern])]


def at_0006(url: str, ws: Path) -> None:
    workspace = load_workspace(ws)
    with psycopg.connect(url, autocommit=True) as conn:
        runner.migrate(conn, workspace, PlanOptions(to=workspace.migrations[6].tag))


def plan(
    url: str, ws: Path, server: Server, *flags: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_inv("plan", "--url", url, "--workspace", str(ws), "--trace", "--trace-url", server.url, *flags, env=env)


def test_trace_of_0007_confirms_every_prediction_and_leaves_the_target_alone(
    empty_db: str, workspace_copy: Path, pg_server: Server, admin: psycopg.Connection
) -> None:
    at_0006(empty_db, workspace_copy)
    before = schema_dump(empty_db)
    proc = plan(empty_db, workspace_copy, pg_server, "--json")
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    (pending,) = document["pending"]
    trace = pending["trace"]
    assert pending["tag"] == "0007_wishlist_items" and trace["verdict"] == "safe" and trace["mismatches"] == 0
    assert trace["strongest_lock"] == "SHARE ROW EXCLUSIVE" and trace["blocks"] == "writes"
    assert trace["in_transaction"] is True and trace["error"] is None and trace["skipped"] is None
    assert "estimate" in trace["estimate"] and trace["estimated_hold_seconds"] >= 0
    statements = {s["number"]: s for s in trace["statements"]}
    fk = {c["table"]: c for c in statements[4]["checks"]}
    assert fk["public.users"] == {
        "table": "public.users",
        "predicted": "SHARE ROW EXCLUSIVE",
        "traced": "SHARE ROW EXCLUSIVE",
        "blocks": "writes",
        "predicted_rewrite": False,
        "traced_rewrite": False,
        "verdict": "confirmed",
        "note": "",
    }
    assert statements[3]["new_indexes"][0] == {
        "index": "public.wishlist_items_pkey",
        "table": "public.wishlist_items",
        "implicit": True,
        "constraint": "wishlist_items_pkey",
    }
    assert {s["verdict"] for s in trace["statements"]} <= {"confirmed", "no table locks"}
    assert document["trace"]["dropped"] is True and document["trace"]["head"] == "0006_moc_parts_lists"
    assert document["trace"]["scratch_database"].startswith(TRACE_PREFIX)
    assert schema_dump(empty_db) == before  # the target is never written
    assert scratch_databases(admin) == []


def test_json_without_trace_is_unchanged_and_trace_only_adds_keys(
    empty_db: str, workspace_copy: Path, pg_server: Server
) -> None:
    at_0006(empty_db, workspace_copy)
    common = ("plan", "--url", empty_db, "--workspace", str(workspace_copy))
    plain, again, formatted = (run_inv(*common, *flags) for flags in (["--json"], ["--json"], ["--format", "json"]))
    assert plain.returncode == 0 and plain.stdout == again.stdout == formatted.stdout
    traced = json.loads(plan(empty_db, workspace_copy, pg_server, "--format", "json").stdout)
    assert set(traced) - set(json.loads(plain.stdout)) == {"trace"}
    for pending in traced["pending"]:
        del pending["trace"]
    del traced["trace"]
    assert traced == json.loads(plain.stdout)


def _tables(tokens: list[Token]) -> list[tuple[list[str], list[list[str]]]]:
    """(header, rows) of every table in the parsed Markdown, cell texts as rendered inline."""
    tables: list[tuple[list[str], list[list[str]]]] = []
    row: list[str] | None = None
    in_head = False
    for token in tokens:
        if token.type == "table_open":
            tables.append(([], []))
        elif token.type == "thead_open":
            in_head = True
        elif token.type == "thead_close":
            in_head = False
        elif token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            row.append(token.content)
        elif token.type == "tr_close" and row is not None:
            header, rows = tables[-1]
            if in_head:
                header.extend(row)
            else:
                rows.append(row)
            row = None
    return tables


def test_markdown_report_renders_with_a_summary_table_first(
    empty_db: str, workspace_copy: Path, pg_server: Server, tmp_path: Path
) -> None:
    at_0006(empty_db, workspace_copy)
    add_migration(workspace_copy, "priority_bigint", 'ALTER TABLE "users" ADD COLUMN "nickname" text;')
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    proc = plan(empty_db, workspace_copy, pg_server, "--format", "markdown", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert text.startswith("<!-- drizzle-ops:plan -->\n## Deploy plan")
    assert summary.read_text() == "earlier step\n" + text + "\n"
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    tables = _tables(tokens)
    (header, rows), *details = tables
    assert header == [
        "migration",
        "in transaction",
        "strongest lock",
        "blocks",
        "rewrite",
        "held (estimate)",
        "lint",
        "trace vs prediction",
        "verdict",
    ]
    assert [r[0] for r in rows] == ["`0007_wishlist_items`", "`0008_priority_bigint`"]
    assert all(len(r) == len(header) for r in rows)
    assert rows[0][-1] == "✅ safe" and rows[1][2] == "ACCESS EXCLUSIVE on public.users"
    assert len(details) == 2 and all(len(r) == len(h) for h, rs in details for r in rs)
    assert details[0][0][-2:] == ["traced lock", "check"]
    assert text.count("<details>") == 2 and text.count("</details>") == 2
    assert text.index("<details>") > text.index("| `0008_priority_bigint`")  # summary first, details folded
    assert "scratch copy" in text and "estimate" in text


def test_table_output_shows_the_trace(empty_db: str, workspace_copy: Path, pg_server: Server) -> None:
    at_0006(empty_db, workspace_copy)
    proc = plan(empty_db, workspace_copy, pg_server)
    assert proc.returncode == 0, proc.stderr
    assert "traced against predicted" in proc.stdout and "confirmed" in proc.stdout
    assert "(estimate)" in proc.stdout and "safe" in proc.stdout


def test_a_failing_migration_is_reported_not_raised(
    empty_db: str, workspace_copy: Path, pg_server: Server, admin: psycopg.Connection
) -> None:
    at_0006(empty_db, workspace_copy)
    add_migration(workspace_copy, "bad", 'ALTER TABLE "nope" ADD COLUMN "x" text;')
    add_migration(workspace_copy, "after", 'ALTER TABLE "users" ADD COLUMN "y" text;')
    proc = plan(empty_db, workspace_copy, pg_server, "--json")
    assert proc.returncode == 0, proc.stderr
    first, bad, after = (p["trace"] for p in json.loads(proc.stdout)["pending"])
    assert first["verdict"] == "safe"
    assert bad["verdict"] == "fails" and bad["error"].startswith("statement 1: 42P01")
    assert after["skipped"] == "an earlier migration failed"
    assert scratch_databases(admin) == []


@pytest.mark.process
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_trace_drops_its_scratch_database(
    empty_db: str, workspace_copy: Path, pg_server: Server, admin: psycopg.Connection, sig: signal.Signals
) -> None:
    at_0006(empty_db, workspace_copy)
    add_migration(workspace_copy, "slow", "SELECT pg_sleep(60);")
    before = schema_dump(empty_db)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"NO_COLOR": "1"}
    inv = shutil.which("inv") or "inv"
    command = [inv, "plan", "--url", empty_db, "--workspace", str(workspace_copy), "--trace", "--trace-url"]
    proc = subprocess.Popen(
        [*command, pg_server.url], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            sleeping = admin.execute(
                "select count(*) from pg_stat_activity where datname like %s and query like %s",
                [TRACE_PREFIX.replace("_", "\\_") + "%", "SELECT pg_sleep%"],
            ).fetchone()
            if sleeping and sleeping[0]:
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        else:
            pytest.fail("the trace never reached the slow statement")
        assert len(scratch_databases(admin)) == 1
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "interrupted: the trace stopped and its scratch database was dropped"
    assert scratch_databases(admin) == []
    assert schema_dump(empty_db) == before


def test_a_leftover_scratch_database_is_dropped_by_the_next_trace(
    empty_db: str, workspace_copy: Path, pg_server: Server, admin: psycopg.Connection
) -> None:
    at_0006(empty_db, workspace_copy)
    leftover = f"{TRACE_PREFIX}999999_deadbeef"
    admin.execute(f'create database "{leftover}"')
    try:
        proc = plan(empty_db, workspace_copy, pg_server)
        assert proc.returncode == 0, proc.stderr
        assert f"dropped {leftover}" in proc.stderr
        assert scratch_databases(admin) == []
    finally:
        admin.execute(f'drop database if exists "{leftover}"')
