"""A sentinel password, given every way a URL can arrive, never appears in any byte of any task's output."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from tests.helpers import add_migration, run_inv_process

SENTINEL = "Sentinel-Pw:4417/@?%"  # URL-special characters on purpose: they must be percent-encoded in URLs
FORMS = [SENTINEL, quote(SENTINEL, safe=""), "Sentinel-Pw"]  # raw, encoded, and a telling fragment


@pytest.fixture
def sentinel_url(admin: psycopg.Connection, pg_server) -> str:  # type: ignore[no-untyped-def]
    role, db = f"sentinel_{uuid.uuid4().hex[:8]}", f"s_{uuid.uuid4().hex[:10]}"
    admin.execute(sql.SQL("create role {} login password {}").format(sql.Identifier(role), sql.Literal(SENTINEL)))
    admin.execute(sql.SQL("create database {} owner {}").format(sql.Identifier(db), sql.Identifier(role)))
    params = conninfo_to_dict(pg_server.url)
    return f"postgresql://{role}:{quote(SENTINEL, safe='')}@{params['host']}:{params['port']}/{db}"


def test_no_task_ever_prints_the_password(sentinel_url: str, workspace_copy: Path, tmp_path: Path) -> None:
    wrong = sentinel_url.replace(quote(SENTINEL, safe=""), quote(SENTINEL + "x", safe=""))
    broken_ws = tmp_path / "broken"
    shutil.copytree(workspace_copy, broken_ws)
    add_migration(broken_ws, "fails", "SELECT 1/0;")
    ws = ["--workspace", str(workspace_copy)]
    runs = {
        "migrate": ["migrate", "--url", sentinel_url, *ws],
        "migrate again, json": ["migrate", "--url", sentinel_url, "--json", *ws],
        "status": ["status", "--url", sentinel_url, *ws],
        "status json check": ["status", "--url", sentinel_url, "--json", "--check", *ws],
        "plan": ["plan", "--url", sentinel_url, *ws],
        "plan json": ["plan", "--url", sentinel_url, "--json", *ws],
        "verify": ["verify", "--url", sentinel_url, *ws],
        "verify json": ["verify", "--url", sentinel_url, "--json", *ws],
        "lint pending": ["lint", "--pending", "--url", sentinel_url, *ws],
        "rollback dry run": ["rollback", "--url", sentinel_url, "--dry-run", *ws],
        "rollback": ["rollback", "--url", sentinel_url, "--steps", "2", *ws],
        "dry run": ["migrate", "--url", sentinel_url, "--dry-run", *ws],
        "failing migration": ["migrate", "--url", sentinel_url, "--workspace", str(broken_ws)],
        "failing migration json": ["migrate", "--url", sentinel_url, "--json", "--workspace", str(broken_ws)],
        "wrong password": ["migrate", "--url", wrong, *ws],
        "wrong password status": ["status", "--url", wrong, "--json", *ws],
        "unknown tag": ["migrate", "--url", sentinel_url, "--to", "nope", *ws],
        "malformed URL": ["migrate", "--url", sentinel_url.rsplit(":", 1)[0] + ":notaport/db", *ws],
        "database gone": ["status", "--url", sentinel_url.rsplit("/", 1)[0] + "/missing_db", *ws],
    }
    env_runs = {
        "DATABASE_URL": (["migrate", *ws], {"DATABASE_URL": sentinel_url}),
        "DATABASE_URL wrong": (["status", *ws], {"DATABASE_URL": wrong}),
        "environment variable": (["plan", "--env", "staging", *ws], {"STAGING_DATABASE_URL": sentinel_url}),
        "protected refusal": (["migrate", "--env", "production", *ws], {"PRODUCTION_DATABASE_URL": sentinel_url}),
    }
    outputs = {name: run_inv_process(*args) for name, args in runs.items()}
    outputs.update({name: run_inv_process(*args, env=env) for name, (args, env) in env_runs.items()})
    assert outputs["migrate"].returncode == 0, outputs["migrate"].stderr  # the runs did real work
    assert outputs["failing migration"].returncode == 1
    assert outputs["verify"].returncode == 0, outputs["verify"].stdout
    assert outputs["rollback"].returncode == 0, outputs["rollback"].stderr
    assert outputs["wrong password"].returncode == 1 and outputs["malformed URL"].returncode == 2
    for name, proc in outputs.items():
        everything = proc.stdout + proc.stderr
        for form in FORMS:
            assert form not in everything, f"{name} printed the password ({form!r})"
        assert "Traceback" not in everything, name
