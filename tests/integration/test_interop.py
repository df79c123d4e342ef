"""Either tool can take over from the other, and `migrate --runner drizzle` runs drizzle-kit under our lock.

Handovers run the real drizzle-kit migrate on a copy of the example workspace;
the result is compared, bookkeeping row by row and catalog line by line, with a
database migrated by our runner alone (test_drizzle_parity shows that one equals
drizzle-kit's alone).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from drizzle_ops.engine import lock
from drizzle_ops.engine.workspace import load_workspace
from tests.helpers import add_migration, keep_journal_entries, rows, run_inv
from tests.integration.test_generate import drizzle_workspace, needs_drizzle_kit
from tests.integration.test_roundtrip import catalog

pytestmark = [pytest.mark.drizzle, needs_drizzle_kit]

HALF = 4  # migrations 0000-0003 by the first tool, 0004-0007 by the second


def drizzle_migrate(ws: Path, url: str) -> None:
    """`npm run db:migrate` in the workspace, as its developers run it."""
    done = subprocess.run(
        ["npm", "run", "--silent", "db:migrate"],
        cwd=ws,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"drizzle-kit migrate failed:\n{done.stdout}\n{done.stderr}"


def test_drizzle_kit_first_then_inv_migrate(empty_db: str, migrated_db: str, tmp_path: Path) -> None:
    ws = drizzle_workspace(tmp_path)
    full = keep_journal_entries(ws, HALF)
    drizzle_migrate(ws, empty_db)
    assert len(rows(empty_db)) == HALF
    (ws / "drizzle" / "meta" / "_journal.json").write_text(full)

    done = run_inv("migrate", "--workspace", str(ws), "--url", empty_db)
    assert done.returncode == 0, done.stderr
    assert f"Applied {8 - HALF} migration(s)" in done.stdout
    assert rows(empty_db) == rows(migrated_db)
    assert catalog(empty_db) == catalog(migrated_db)


def test_inv_migrate_first_then_drizzle_kit(empty_db: str, migrated_db: str, tmp_path: Path) -> None:
    ws = drizzle_workspace(tmp_path)
    last_of_half = load_workspace(ws).migrations[HALF - 1].tag
    done = run_inv("migrate", "--workspace", str(ws), "--url", empty_db, "--to", last_of_half)
    assert done.returncode == 0, done.stderr
    assert len(rows(empty_db)) == HALF

    drizzle_migrate(ws, empty_db)
    assert rows(empty_db) == rows(migrated_db)
    assert catalog(empty_db) == catalog(migrated_db)
    status = run_inv("status", "--workspace", str(ws), "--url", empty_db, "--check")
    assert status.returncode == 0, status.stdout + status.stderr


def test_runner_drizzle_applies_with_drizzle_kit_and_reports_the_status(
    empty_db: str, migrated_db: str, tmp_path: Path
) -> None:
    ws = drizzle_workspace(tmp_path)
    done = run_inv("migrate", "--workspace", str(ws), "--url", empty_db, "--runner", "drizzle")
    assert done.returncode == 0, done.stderr
    assert "drizzle-kit migrate under the drizzle-ops lock: applied 8: 0000_init_users," in done.stdout
    assert "0007_wishlist_items" in done.stdout and "applied" in done.stdout
    assert rows(empty_db) == rows(migrated_db)
    assert catalog(empty_db) == catalog(migrated_db)

    again = run_inv("migrate", "--workspace", str(ws), "--url", empty_db, "--runner", "drizzle", "--json")
    assert again.returncode == 0, again.stderr
    document = json.loads(again.stdout)
    assert (document["ok"], document["runner"], document["applied"]) == (True, "drizzle", [])
    assert document["summary"]["applied"] == 8


def test_runner_drizzle_failure_shows_its_output_and_what_got_applied(migrated_db: str, tmp_path: Path) -> None:
    ws = drizzle_workspace(tmp_path)
    add_migration(ws, "ok", "create table fine (id int);")
    add_migration(ws, "broken", "select 1/0;")
    done = run_inv("migrate", "--workspace", str(ws), "--url", migrated_db, "--runner", "drizzle")
    assert done.returncode == 1, done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: `npm run --silent db:migrate` failed with exit code 1 after applying 0 migration(s)")
    assert "drizzle-kit prints nothing on an SQL error" in last
    assert "0008_ok" in done.stdout and "pending" in done.stdout  # drizzle ran both in one transaction
    assert len(rows(migrated_db)) == 8
    password = conninfo_to_dict(migrated_db).get("password")
    if password:
        assert str(password) not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_runner_drizzle_waits_for_our_lock_and_gives_up_without_running(empty_db: str, tmp_path: Path) -> None:
    ws = drizzle_workspace(tmp_path)
    key = lock.lock_key("drizzle", "__drizzle_migrations")
    with psycopg.connect(empty_db, autocommit=True) as holder:
        holder.execute("set application_name = 'deploy-bot'")
        holder.execute("select pg_advisory_lock(%s)", [key])
        done = run_inv(
            "migrate", "--workspace", str(ws), "--url", empty_db, "--runner", "drizzle", "--lock-wait", "0.5"
        )
    assert done.returncode == 1
    assert "another migration holds the lock" in done.stderr and "deploy-bot" in done.stderr
    assert rows(empty_db) == []  # drizzle-kit never ran


def test_runner_drizzle_refuses_what_drizzle_would_get_wrong(migrated_db: str, tmp_path: Path) -> None:
    ws = drizzle_workspace(tmp_path)
    add_migration(ws, "late", "create table late (id int);", when=1)  # older than everything applied
    done = run_inv("migrate", "--workspace", str(ws), "--url", migrated_db, "--runner", "drizzle")
    assert done.returncode == 2
    assert "0008_late not applied but older than the newest applied migration, and drizzle-kit would skip it" in (
        done.stderr
    )
    flags = run_inv("migrate", "--workspace", str(ws), "--url", migrated_db, "--runner", "drizzle", "--dry-run")
    assert flags.returncode == 2
    assert "--dry-run cannot be combined with --runner drizzle" in flags.stderr
    unknown = run_inv("migrate", "--workspace", str(ws), "--url", migrated_db, "--runner", "flyway")
    assert unknown.returncode == 2
    assert "error: --runner 'flyway': choose one of drizzle-ops, drizzle" in unknown.stderr


def test_no_new_task_prints_the_password(admin: psycopg.Connection, pg_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    secret = "Drizzle-Pw:5521/@?%"
    role, db = f"pw_{uuid.uuid4().hex[:8]}", f"p_{uuid.uuid4().hex[:10]}"
    admin.execute(sql.SQL("create role {} login password {}").format(sql.Identifier(role), sql.Literal(secret)))
    admin.execute(sql.SQL("create database {} owner {}").format(sql.Identifier(db), sql.Identifier(role)))
    try:
        params = conninfo_to_dict(pg_server.url)
        url = f"postgresql://{role}:{quote(secret, safe='')}@{params['host']}:{params['port']}/{db}"
        wrong = url.replace(quote(secret, safe=""), quote(secret + "x", safe=""))
        ws = drizzle_workspace(tmp_path)
        runs = {
            "runner drizzle": ["migrate", "--runner", "drizzle", "--url", url],
            "drift": ["drift", "--check", "--url", url],
            "status --schema json": ["status", "--schema", "--json", "--url", url],
            "repair": ["repair", "--tag", "0007_wishlist_items", "--yes", "--url", url],
        }
        outputs = {name: run_inv(*args, "--workspace", str(ws)) for name, args in runs.items()}
        assert outputs["runner drizzle"].returncode == 0, outputs["runner drizzle"].stderr
        assert outputs["drift"].returncode == 0, outputs["drift"].stdout
        add_migration(ws, "broken", "select 1/0;")
        outputs["runner drizzle failing"] = run_inv(
            "migrate", "--runner", "drizzle", "--url", url, "--workspace", str(ws)
        )
        assert outputs["runner drizzle failing"].returncode == 1
        outputs["wrong password"] = run_inv("migrate", "--runner", "drizzle", "--url", wrong, "--workspace", str(ws))
        assert outputs["wrong password"].returncode == 1
        for name, proc in outputs.items():
            everything = proc.stdout + proc.stderr
            for form in (secret, quote(secret, safe=""), "Drizzle-Pw"):
                assert form not in everything, f"{name} printed the password ({form!r})"
            assert "Traceback" not in everything, name
    finally:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(db)))
        admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))
