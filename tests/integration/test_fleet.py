"""Fleets on a real server: 40 databases 8 at a time, the canary and halt rules, --shard, status and verify."""

from __future__ import annotations

import json
from pathlib import Path

from drizzle_ops.context.fleet.targets import label_of
from drizzle_ops.engine.workspace import load_workspace
from tests.helpers import EXAMPLE, NO_DRIZZLE_KIT, requires, rows
from tests.integration.fleet_support import (
    add_poisoned_migration,
    by_label,
    fleet_config,
    fleet_inv,
    has_table,
    in_fleet_order,
    set_pill,
)

DRIZZLE_KIT = EXAMPLE / "node_modules" / ".bin" / "drizzle-kit"
EXAMPLE_MIGRATIONS = len(load_workspace(EXAMPLE).migrations)


def test_forty_databases_eight_at_a_time_record_the_single_target_rows(
    databases, migrated_db: str, workspace_copy: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    urls = [databases.create() for _ in range(40)]
    config = fleet_config(tmp_path, parallel=8, canary=1)
    run = fleet_inv(config, urls, "migrate", "--json", workspace=workspace_copy)
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["ok"] and document["summary"]["done"] == 40 and document["parallel"] == 8
    results = by_label(document)
    assert set(results) == {label_of(url) for url in urls}
    assert results[label_of(in_fleet_order(urls)[0])]["canary"]
    single_target = rows(migrated_db)  # the template was migrated by the single-target runner
    assert len(single_target) == EXAMPLE_MIGRATIONS
    for url in urls:
        assert rows(url) == single_target, label_of(url)  # same hashes, same created_at, same order
        assert len(results[label_of(url)]["applied"]) == EXAMPLE_MIGRATIONS
    again = fleet_inv(config, urls, "migrate", "--json", workspace=workspace_copy)  # a rerun: all no-ops
    assert again.returncode == 0, again.stderr
    assert all(result["applied"] == [] for result in json.loads(again.stdout)["results"])
    assert all(rows(url) == single_target for url in urls)
    status = fleet_inv(config, urls, "status", "--check", "--json", workspace=workspace_copy)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["lagging"] == []


@requires(DRIZZLE_KIT.exists, NO_DRIZZLE_KIT)
def test_fleet_rows_equal_drizzle_kits_own(
    databases, drizzle_kit_db: str, workspace_copy: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = [databases.create() for _ in range(3)], drizzle_kit_db  # theirs: drizzle-kit's own migrate
    run = fleet_inv(fleet_config(tmp_path), ours, "migrate", workspace=workspace_copy)
    assert run.returncode == 0, run.stderr
    assert all(rows(url) == rows(theirs) for url in ours) and len(rows(theirs)) == EXAMPLE_MIGRATIONS


def test_a_poisoned_canary_stops_the_whole_fleet(
    databases, migrated_template: str, workspace_copy: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    urls = in_fleet_order([databases.create(template=migrated_template) for _ in range(6)])
    tag = add_poisoned_migration(workspace_copy)
    set_pill(urls[0], True)  # the canary
    config = fleet_config(tmp_path, parallel=4, canary=1)
    run = fleet_inv(config, urls, "migrate", "--keep-going", "--json", workspace=workspace_copy)
    assert run.returncode == 1, run.stderr
    document = json.loads(run.stdout)
    assert document["halted"] == "canary failed"
    results = by_label(document)
    canary = results[label_of(urls[0])]
    assert canary["result"] == "failed" and canary["canary"] and "poisoned target" in canary["error"]
    assert f"migration {tag} failed at statement 2" in canary["error"]
    assert all(results[label_of(url)]["result"] == "not started" for url in urls[1:])
    assert all(len(rows(url)) == EXAMPLE_MIGRATIONS and not has_table(url, "poison_marker") for url in urls)
    assert "the canary failed, so no other target started" in run.stderr
    set_pill(urls[0], False)  # the fix
    rerun = fleet_inv(config, urls, "migrate", workspace=workspace_copy)
    assert rerun.returncode == 0, rerun.stderr
    assert all(len(rows(url)) == EXAMPLE_MIGRATIONS + 1 and has_table(url, "poison_marker") for url in urls)


def test_a_poisoned_target_mid_fleet_stops_new_starts_and_the_rerun_completes(
    databases, migrated_template: str, workspace_copy: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    urls = in_fleet_order([databases.create(template=migrated_template) for _ in range(6)])
    add_poisoned_migration(workspace_copy)
    set_pill(urls[2], True)
    config = fleet_config(tmp_path, parallel=1, canary=1)  # one at a time: which start is certain
    run = fleet_inv(config, urls, "migrate", workspace=workspace_copy)
    assert run.returncode == 1
    table = run.stdout
    expected = ["done (canary)", "done", "failed", "not started", "not started", "not started"]
    for url, result in zip(urls, expected, strict=True):
        line = next(line for line in table.splitlines() if label_of(url) in line)
        assert result in line, (url, line)
    assert "poisoned target" in table  # the error line of the failure, in its row
    error = run.stderr.strip().splitlines()[-1]
    assert error.startswith("error: migrate on fleet tenants: 2 done, 1 failed, 3 not started")
    assert label_of(urls[2]) in error and "--keep-going starts the rest anyway" in error
    assert [len(rows(url)) for url in urls] == [9, 9, 8, 8, 8, 8]
    assert not has_table(urls[2], "poison_marker")  # nothing partial on the failed target
    keep_going = fleet_inv(config, urls, "migrate", "--keep-going", "--json", workspace=workspace_copy)
    assert keep_going.returncode == 1
    assert json.loads(keep_going.stdout)["summary"] == {"done": 5, "failed": 1, "interrupted": 0, "not_started": 0}
    set_pill(urls[2], False)
    rerun = fleet_inv(config, urls, "migrate", "--json", workspace=workspace_copy)
    assert rerun.returncode == 0, rerun.stderr
    applied = {r["label"]: r["applied"] for r in json.loads(rerun.stdout)["results"]}
    assert [len(applied[label_of(url)]) for url in urls] == [0, 0, 1, 0, 0, 0]
    assert all(len(rows(url)) == 9 and len(set(rows(url))) == 9 for url in urls)
