"""Fleets from the command line: --shard and --only, status and verify per target, targets_query, bad input,
and a target that does not answer."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from drizzle_ops.context.fleet.targets import label_of
from drizzle_ops.engine.workspace import load_workspace
from tests.helpers import EXAMPLE, rows, run_inv, url_for
from tests.integration.fleet_support import TARGETS_VAR, by_label, fleet_config, fleet_inv

EXAMPLE_MIGRATIONS = len(load_workspace(EXAMPLE).migrations)


def test_shards_cover_every_target_once(databases, workspace_copy: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    urls = [databases.create() for _ in range(7)]
    config = fleet_config(tmp_path, parallel=2)
    seen: list[str] = []
    for k in (1, 2, 3):
        run = fleet_inv(config, urls, "migrate", "--shard", f"{k}/3", "--json", workspace=workspace_copy)
        assert run.returncode == 0, run.stderr
        document = json.loads(run.stdout)
        assert document["shard"] == f"{k}/3" and document["fleet_size"] == 7
        seen += [r["label"] for r in document["results"] if r["applied"]]
    assert sorted(seen) == sorted(label_of(url) for url in urls)
    assert all(len(rows(url)) == EXAMPLE_MIGRATIONS for url in urls)
    only = fleet_inv(config, urls, "status", "--only", label_of(urls[3]), "--json", workspace=workspace_copy)
    assert [r["label"] for r in json.loads(only.stdout)["results"]] == [label_of(urls[3])]


def test_status_shows_which_targets_lag_and_check_fails_on_them(
    databases, migrated_template: str, workspace_copy: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    behind = databases.create()
    urls = [databases.create(template=migrated_template) for _ in range(2)] + [behind]
    config = fleet_config(tmp_path)
    run = fleet_inv(config, urls, "status", workspace=workspace_copy)
    assert run.returncode == 0, run.stderr
    assert f"lagging: {label_of(behind)}" in run.stdout
    check = fleet_inv(config, urls, "status", "--check", "--json", workspace=workspace_copy)
    assert check.returncode == 1
    document = json.loads(check.stdout)
    assert document["lagging"] == [label_of(behind)] and not document["ok"]
    lag = by_label(document)[label_of(behind)]
    assert (lag["applied"], lag["pending"], lag["drift"], lag["head"]) == (0, EXAMPLE_MIGRATIONS, 0, None)
    assert "status check failed on fleet tenants: 1 target(s) with pending migrations" in check.stderr


def test_verify_runs_checks_and_conformance_on_every_target(
    databases, migrated_template: str, workspace_copy: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    urls = [databases.create(template=migrated_template) for _ in range(3)]
    config = fleet_config(tmp_path, parallel=3)
    run = fleet_inv(config, urls, "verify", "--json", workspace=workspace_copy)
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["ok"] and len(document["results"]) == 3
    for result in document["results"]:
        assert {c["id"] for c in result["checks"]} >= {"snapshot-conformance"}
        assert result["summary"]["failed"] == 0 and result["head"] == "0007_wishlist_items"
    with psycopg.connect(urls[1], autocommit=True) as conn:  # drift on one target
        conn.execute("DROP INDEX wishlist_items_user_sort_idx")
    drifted = fleet_inv(config, urls, "verify", "--only", "snapshot-conformance", workspace=workspace_copy)
    assert drifted.returncode == 1
    assert f"checks failed on 1 target(s) of fleet tenants ({label_of(urls[1])})" in drifted.stderr


def test_targets_from_a_query_on_the_control_database(
    databases, migrated_template: str, workspace_copy: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    control = databases.create()
    tenants = [databases.create(template=migrated_template) for _ in range(3)]
    with psycopg.connect(control, autocommit=True) as conn:
        conn.execute("CREATE TABLE tenants (name text, url text, active bool)")
        for number, url in enumerate(tenants):
            conn.execute("INSERT INTO tenants VALUES (%s, %s, %s)", [f"tenant-{number}", url, number != 1])
    config = fleet_config(
        tmp_path,
        targets_env=None,
        url_env="CONTROL_URL",
        targets_query="select name as label, url from tenants where active",
    )
    os_env = {"CONTROL_URL": control}
    run = _with_env(config, os_env, "status", "--json", workspace=workspace_copy)
    assert run.returncode == 0, run.stderr
    assert [r["label"] for r in json.loads(run.stdout)["results"]] == ["tenant-0", "tenant-2"]
    writes = fleet_config(
        tmp_path, targets_env=None, url_env="CONTROL_URL", targets_query="delete from tenants returning url"
    )
    refused = _with_env(writes, os_env, "status", workspace=workspace_copy)
    assert refused.returncode == 2 and "targets_query failed: [25006]" in refused.stderr
    with psycopg.connect(control) as conn:
        assert conn.execute("select count(*) from tenants").fetchone() == (3,)  # read-only: nothing deleted


def _with_env(config: Path, env: dict[str, str], *args: str, workspace: Path) -> subprocess.CompletedProcess[str]:
    return run_inv("-f", str(config), *args, "--env", "tenants", "--workspace", str(workspace), env=env)


def test_bad_input_is_one_line_and_exit_2(databases, workspace_copy: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    urls = [databases.create() for _ in range(2)]
    config = fleet_config(tmp_path, protected=True)
    cases = {
        ("migrate", "--yes", "--only", "nowhere:5432/x"): "--only: no target labelled nowhere:5432/x",
        ("migrate", "--yes", "--shard", "3/2"): "--shard '3/2': give K/N with 1 ≤ K ≤ N, such as 2/4",
        ("migrate",): "tenants is a protected environment: migrate 2 database(s) needs --yes",
        ("status", "--schema"): "--schema cannot be used on a fleet",
        ("rollback", "--yes"): "tenants is a fleet of databases: only migrate, status and verify run on a fleet",
    }
    for args, message in cases.items():
        run = fleet_inv(config, urls, *args, workspace=workspace_copy)
        assert run.returncode == 2, (args, run.stderr)
        assert message in run.stderr and len(run.stderr.strip().splitlines()) == 1, (args, run.stderr)
    confirmed = fleet_inv(config, urls, "migrate", "--yes", workspace=workspace_copy)
    assert confirmed.returncode == 0, confirmed.stderr
    assert all(len(rows(url)) == EXAMPLE_MIGRATIONS for url in urls)
    for args in (("migrate", "--shard", "1/2"), ("verify", "--targets", "x")):
        single = run_inv(
            *args, "--env", "staging", "--workspace", str(workspace_copy), env={"STAGING_DATABASE_URL": urls[0]}
        )
        assert single.returncode == 2, single.stderr
        assert f"{args[1]} works only with --env naming a fleet" in single.stderr, single.stderr


def test_an_unreachable_target_fails_with_its_label_and_the_others_go_on(
    databases, pg_server, workspace_copy: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    good = [databases.create() for _ in range(2)]
    params = conninfo_to_dict(pg_server.url)
    gone = url_for(pg_server.url, "no_such_database")
    closed = f"postgresql://postgres:pw@{params['host']}:1/db"  # nothing listens on port 1
    config = fleet_config(tmp_path, canary=0, parallel=2)
    run = fleet_inv(config, [*good, gone, closed], "migrate", "--keep-going", "--json", workspace=workspace_copy)
    assert run.returncode == 1
    results = by_label(json.loads(run.stdout))
    assert results[label_of(gone)]["result"] == "failed" and "no_such_database" in results[label_of(gone)]["error"]
    assert results[label_of(closed)]["result"] == "failed"
    assert results[label_of(closed)]["error"].startswith(f"cannot connect to {params['host']}:1/db")
    assert all(len(rows(url)) == EXAMPLE_MIGRATIONS for url in good)


def test_labels_are_whole_in_a_narrow_log(
    databases, migrated_template: str, workspace_copy: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # a CI log is no terminal and 80 columns wide: rich cut labels to "127.0.0.1:553…", which --only cannot take back
    urls = [databases.create(template=migrated_template) for _ in range(2)]
    config = fleet_config(tmp_path)
    run = run_inv(
        "-f", str(config), "status", "--env", "tenants", "--workspace", str(workspace_copy),
        env={TARGETS_VAR: "\n".join(urls), "COLUMNS": "80"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    for url in urls:
        assert label_of(url) in run.stdout
