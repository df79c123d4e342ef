"""Fleets under stress: SIGTERM mid-fleet then a rerun, two fleet runs at once, and a sentinel password that
never appears in any output."""

from __future__ import annotations

import json
import signal
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from drizzle_ops.context.fleet.targets import label_of
from tests.helpers import add_migration, rows
from tests.integration.fleet_support import by_label, fleet_config, fleet_inv, spawn_fleet_inv, start_fleet_inv

BASE = 8  # the example's migrations, applied in the template


def add_slow_migrations(workspace: Path, count: int, seconds: float) -> None:
    for number in range(count):
        add_migration(workspace, f"slow_{number}", f'CREATE TABLE "slow_{number}" ("id" integer);\n'
                      f"--> statement-breakpoint\nSELECT pg_sleep({seconds});\n")  # fmt: skip


def assert_each_once(url: str) -> None:
    found = rows(url)
    assert len(found) == len(set(found)), f"{label_of(url)}: a migration recorded twice"


@pytest.mark.process
def test_sigterm_mid_fleet_then_a_rerun_loses_nothing_and_applies_nothing_twice(
    databases, migrated_template: str, workspace_copy: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    urls = [databases.create(template=migrated_template) for _ in range(10)]
    add_slow_migrations(workspace_copy, 3, 0.15)
    config = fleet_config(tmp_path, parallel=2, canary=1)
    proc = spawn_fleet_inv(config, urls, "migrate", "--json", workspace=workspace_copy)
    assert proc.stderr is not None
    finished, seen = 0, []
    for line in proc.stderr:  # one line per finished target (stderr is no terminal)
        seen.append(line)
        finished += line.startswith("✓ ")
        if finished == 2:  # the canary and one more: the next two are in flight
            proc.send_signal(signal.SIGTERM)
            break
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "SIGTERM: no new target starts" in "".join(seen) + err
    document = json.loads(out)
    assert document["halted"] == "stopped" and document["summary"]["not_started"] >= 1
    for url in urls:
        result = by_label(document)[label_of(url)]
        assert len(rows(url)) == BASE + len(result["applied"]), result  # what was reported is what committed
        assert result["result"] in ("done", "interrupted", "not started")
        if result["result"] == "done":
            assert len(result["applied"]) == 3
        if result["result"] == "not started":
            assert result["applied"] == []
        assert_each_once(url)
    rerun = fleet_inv(config, urls, "migrate", "--json", workspace=workspace_copy)
    assert rerun.returncode == 0, rerun.stderr
    for url in urls:
        before = len(by_label(document)[label_of(url)]["applied"])
        assert len(by_label(json.loads(rerun.stdout))[label_of(url)]["applied"]) == 3 - before
        assert len(rows(url)) == BASE + 3
        assert_each_once(url)


@pytest.mark.process
def test_two_fleet_runs_at_once_apply_each_migration_once(
    databases, migrated_template: str, workspace_copy: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    urls = [databases.create(template=migrated_template) for _ in range(8)]
    add_slow_migrations(workspace_copy, 2, 0.05)
    config = fleet_config(tmp_path, parallel=4, canary=0)
    started = [start_fleet_inv(config, urls, "migrate", "--json", workspace=workspace_copy) for _ in range(2)]
    runs = [run.result(timeout=120) for run in started]
    outputs = [(proc.stdout, proc.stderr) for proc in runs]
    assert [proc.returncode for proc in runs] == [0, 0], [err for _, err in outputs]
    documents = [json.loads(out) for out, _ in outputs]
    for url in urls:
        applied = [tag for document in documents for tag in by_label(document)[label_of(url)]["applied"]]
        assert sorted(applied) == sorted(set(applied)) and len(applied) == 2  # each once, by one of the two
        assert len(rows(url)) == BASE + 2
        assert_each_once(url)


SENTINEL = "Sentinel-Pw:4417/@?%"  # URL-special characters on purpose: percent-encoded in the URLs
FORMS = [SENTINEL, quote(SENTINEL, safe=""), "Sentinel-Pw"]


def test_a_sentinel_password_in_the_targets_variable_appears_in_no_output(
    admin: psycopg.Connection, pg_server, databases, workspace_copy: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    role = f"sentinel_{uuid.uuid4().hex[:8]}"
    admin.execute(sql.SQL("create role {} login password {}").format(sql.Identifier(role), sql.Literal(SENTINEL)))
    params = conninfo_to_dict(pg_server.url)
    names = []
    for _ in range(2):
        name = f"s_{uuid.uuid4().hex[:10]}"
        admin.execute(sql.SQL("create database {} owner {}").format(sql.Identifier(name), sql.Identifier(role)))
        databases.created.append(name)
        names.append(name)

    def url(password: str, dbname: str) -> str:
        return f"postgresql://{role}:{quote(password, safe='')}@{params['host']}:{params['port']}/{dbname}"

    refused = url(SENTINEL + "x", names[1]).replace(f"/{names[1]}", "/postgres")  # a wrong password
    urls = [url(SENTINEL, names[0]), url(SENTINEL, names[1]), refused]
    config = fleet_config(tmp_path, canary=0, parallel=3)
    runs = {
        "migrate": ("migrate", "--keep-going"),
        "migrate json": ("migrate", "--keep-going", "--json"),
        "status": ("status", "--check"),
        "status json": ("status", "--json"),
        "verify": ("verify",),
        "verify json": ("verify", "--json"),
    }
    for what, args in runs.items():
        run = fleet_inv(config, urls, *args, workspace=workspace_copy)
        assert run.returncode == 1, (what, run.stderr)  # the refused target fails every run
        for form in FORMS:
            assert form not in run.stdout and form not in run.stderr, (what, form)
        assert label_of(refused) in run.stdout + run.stderr, what
        if what == "migrate json":
            results = by_label(json.loads(run.stdout))
            assert "password authentication failed" in results[label_of(refused)]["error"]
            assert [results[label_of(u)]["result"] for u in urls] == ["done", "done", "failed"]
    assert all(len(rows(url(SENTINEL, name))) == BASE for name in names)
