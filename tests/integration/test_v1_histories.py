"""drizzle-kit 1.0 histories written by 1.0.0-beta.15, beta.19 and rc.4 (snapshots of version "8"), as teams keep them.

`migrate` applies them with drizzle-kit 1.0's rows; `verify`, `drift` and `status --schema` read their snapshots
as they are, without `drizzle-kit up`, and leave every file as it was. drizzle-kit 1.0.0-rc.5 (the example
workspace's) refuses to migrate them until `up` rewrites every snapshot; after it, `verify` still passes and
rc.5's rows equal ours. The fixtures' READMEs say how each was made, and what its own drizzle-kit does with it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from drizzle_ops.engine.workspace import load_workspace
from tests.helpers import NO_DRIZZLE_KIT_V1, ROOT, requires, run_inv

FIXTURES = ROOT / "tests" / "fixtures" / "histories"
NAMES = ["v1-beta15", "v1-beta19-graph", "v1-rc4"]
V1_MODULES = ROOT / "examples" / "drizzle-v1" / "node_modules"
needs_rc5 = requires((V1_MODULES / ".bin" / "drizzle-kit").exists, NO_DRIZZLE_KIT_V1)
CONFORMANCE = ("--only", "snapshot-conformance")


def files(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` and the sha256 of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


def rows(url: str) -> list[tuple[str, int, str | None, bool]]:
    with psycopg.connect(url) as conn:
        return [
            (h, int(c), n, a is not None)
            for h, c, n, a in conn.execute(
                "select hash, created_at, name, applied_at from drizzle.__drizzle_migrations order by id"
            ).fetchall()
        ]


def conformance(workspace: Path, url: str, *flags: str) -> tuple[int, dict[str, object], str]:
    result = run_inv("verify", "--workspace", str(workspace), "--url", url, "--json", *CONFORMANCE, *flags)
    (check,) = json.loads(result.stdout)["checks"] if result.stdout.strip() else [{}]
    return result.returncode, check, result.stderr


def copy(name: str, tmp_path: Path, *without: str) -> Path:
    """The fixture in a private folder, with rc.5's node_modules, minus the folders named in ``without``."""
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    for folder in without:
        shutil.rmtree(target / "drizzle" / folder)
    (target / "node_modules").symlink_to(V1_MODULES)
    return target


def rc5(workspace: Path, *args: str, url: str = "postgresql://x@localhost/x") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "NO_COLOR": "1"}
    command = [str(workspace / "node_modules" / ".bin" / "drizzle-kit"), *args]
    return subprocess.run(command, cwd=workspace, env=env, capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("name", NAMES)
def test_verify_drift_and_status_pass_right_after_migrate_and_no_file_changes(empty_db: str, name: str) -> None:
    workspace = FIXTURES / name
    before = files(workspace)
    migrate = run_inv("migrate", "--workspace", str(workspace), "--url", empty_db)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    head = load_workspace(workspace).migrations[-1]
    assert [r[2] for r in rows(empty_db)] == [m.tag for m in load_workspace(workspace).migrations]

    code, check, stderr = conformance(workspace, empty_db)
    assert code == 0, stderr
    assert check["result"] == "pass"
    assert str(check["detail"]).startswith(f"matches the snapshot of {head.tag}")
    assert "drizzle-kit up" not in stderr
    drift = run_inv("drift", "--workspace", str(workspace), "--url", empty_db, "--json")
    assert drift.returncode == 0, drift.stdout + drift.stderr
    assert json.loads(drift.stdout)["schema"]["head"] == head.tag
    status = run_inv("status", "--schema", "--check", "--workspace", str(workspace), "--url", empty_db, "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    assert json.loads(status.stdout)["schema"]["ok"] is True
    assert files(workspace) == before  # nothing was upgraded or rewritten


def test_the_graph_fixture_warns_of_its_hand_written_folders_and_its_conflict(empty_db: str) -> None:
    workspace = FIXTURES / "v1-beta19-graph"
    assert run_inv("migrate", "--workspace", str(workspace), "--url", empty_db).returncode == 0
    code, check, stderr = conformance(workspace, empty_db)
    assert code == 0 and check["result"] == "pass"
    assert check["detail"].startswith(
        "matches the snapshot of 20261207102329_account_bio merged with the open branch head(s) "
        "20261207102306_account_name_200 (3 table(s))"
    )
    warnings = [line for line in stderr.splitlines() if line.startswith("warning: ")]
    assert warnings[0].startswith(
        "warning: 3 migration folder(s) have no snapshot.json, first 20261207102238_seed_system_account"
    )
    assert warnings[1].startswith("warning: non-commutative migrations (as drizzle-kit's check finds them)")
    strict = run_inv("verify", "--workspace", str(workspace), "--url", empty_db, "--strict", *CONFORMANCE)
    assert strict.returncode == 1
    assert strict.stderr.strip().startswith("error: 3 migration folder(s) have no snapshot.json")


def test_an_older_folder_is_applied_by_name_listed_and_refused_under_strict(empty_db: str, tmp_path: Path) -> None:
    # production got main's later migrations before a branch's older folder was merged
    late = "20261207102151_tags_and_published"
    early = copy("v1-beta15", tmp_path / "early", late)
    assert run_inv("migrate", "--workspace", str(early), "--url", empty_db).returncode == 0
    workspace = FIXTURES / "v1-beta15"
    status = run_inv("status", "--workspace", str(workspace), "--url", empty_db, "--json")
    states = {m["tag"]: m["state"] for m in json.loads(status.stdout)["migrations"]}
    assert states[late] == "out-of-order"

    strict = run_inv("migrate", "--workspace", str(workspace), "--url", empty_db, "--strict")
    assert strict.returncode == 1
    assert strict.stderr.strip().splitlines()[-1] == (
        f"error: {late} not applied but older than the newest applied migration 20261207102204_owner_role: "
        "drizzle-kit 1.0 applies it (it decides by name), after the newer ones; check it, then pass "
        "--allow-out-of-order to apply it (--strict turns warnings into failures)"
    )
    assert late not in [r[2] for r in rows(empty_db)]

    migrate = run_inv("migrate", "--workspace", str(workspace), "--url", empty_db)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert (
        f"warning: applying {late}, older than the newest applied migration 20261207102204_owner_role, as "
        "drizzle-kit 1.0 does (it decides by name)" in migrate.stderr
    )
    assert [r[2] for r in rows(empty_db)][-1] == late  # applied last, as drizzle-kit 1.0 applies it
    code, check, _ = conformance(workspace, empty_db)
    assert code == 0 and check["result"] == "pass"


def test_a_conflicting_branch_merged_late_is_applied_and_verify_shows_what_it_did(
    empty_db: str, tmp_path: Path
) -> None:
    # the text branch reached the database first; the varchar(200) branch, older by name, comes later:
    # drizzle-kit 1.0 applies it then (by name), and the column ends as the older branch left it
    late = "20261207102306_account_name_200"
    early = copy("v1-beta19-graph", tmp_path / "early", late)
    assert run_inv("migrate", "--workspace", str(early), "--url", empty_db).returncode == 0
    workspace = FIXTURES / "v1-beta19-graph"
    migrate = run_inv("migrate", "--workspace", str(workspace), "--url", empty_db)
    assert migrate.returncode == 0 and f"warning: applying {late}" in migrate.stderr
    code, check, _ = conformance(workspace, empty_db)
    assert code == 1
    assert check["differences"] == [
        "column accounts.name: type character varying(200), snapshot says text",
    ]


@needs_rc5
@pytest.mark.parametrize("name", NAMES)
def test_rc5_needs_up_and_after_it_verify_passes_and_its_rows_equal_ours(databases, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = databases.create(), databases.create()
    assert run_inv("migrate", "--workspace", str(FIXTURES / name), "--url", ours).returncode == 0
    workspace = copy(name, tmp_path)
    first = load_workspace(workspace).migrations[0].tag
    refused = rc5(workspace, "migrate", url=theirs)
    assert refused.returncode != 0
    assert f'drizzle/{first}/snapshot.json is not of the latest version, please run "drizzle-kit up"' in (
        refused.stdout + refused.stderr
    )
    up = rc5(workspace, "up")
    assert up.returncode == 0, up.stdout + up.stderr
    snapshots = [m.snapshot() for m in load_workspace(workspace).migrations if m.snapshot_path]
    assert {s["version"] for s in snapshots} == {"9"}
    code, check, stderr = conformance(workspace, ours)
    assert (code, check["result"]) == (0, "pass"), stderr
    if name == "v1-beta19-graph":  # rc.5 migrates no postgres history with open conflicting branches
        migrate = rc5(workspace, "migrate", "--ignore-conflicts", url=theirs)
        assert migrate.returncode != 0
        assert "--ignore-conflicts is not supported for postgresql" in migrate.stdout + migrate.stderr
        return
    migrate = rc5(workspace, "migrate", url=theirs)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert rows(theirs) == rows(ours)


@needs_rc5
def test_generate_with_rc5_says_that_it_needs_up_and_changes_nothing(tmp_path: Path) -> None:
    workspace = copy("v1-beta15", tmp_path)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(V1_MODULES.parent / name, workspace / name)
    before = files(workspace / "drizzle")
    env = {"DATABASE_URL": "postgresql://x@h/x"}
    result = run_inv("generate", "--workspace", str(workspace), "--name", "more", env=env)
    assert result.returncode == 1
    assert 'please run "drizzle-kit up"' in result.stdout + result.stderr  # drizzle-kit's own words
    said = result.stderr.strip().splitlines()[-1]
    assert said.endswith(
        "this history's snapshots are version 8 (drizzle-kit 1.0.0-beta.x to rc.4) and drizzle-kit 1.0.0-rc.5 on "
        "generates only from version 9: if it asks for `drizzle-kit up`, run that (it rewrites every "
        "snapshot.json; commit them) and generate again (migrate, status, drift and verify read version 8 as it is)"
    )
    assert files(workspace / "drizzle") == before
