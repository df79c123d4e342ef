"""inv rollback --verify against a real server: each step checked against the new head's snapshot before it commits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.etree import ElementTree

import psycopg
import pytest

from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.paths import display_path
from tests.helpers import EXAMPLE, ROOT, add_migration, rows, run_inv
from tests.integration.test_roundtrip import catalog
from tests.integration.test_verify import PROJECT_CHECKS

ROLLBACK_DIR = ROOT / "sql" / "rollback"
WORKSPACE = load_workspace(EXAMPLE)
TAGS = [m.tag for m in WORKSPACE.migrations]
ALL_ROWS = [(m.hash, m.when) for m in WORKSPACE.migrations]
SKIPPED = "skipped (0007_wishlist_items not applied)"


@pytest.fixture
def rollback_dir(tmp_path: Path) -> Path:
    """A private copy of sql/rollback that a test may break."""
    target = tmp_path / "rollback"
    shutil.copytree(ROLLBACK_DIR, target)
    return target


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_migrate_rollback_verify_then_verify_passes_with_the_wishlist_checks_skipped(
    empty_db: str, tmp_path: Path
) -> None:
    migrate = run_inv("migrate", "--url", empty_db)
    assert migrate.returncode == 0, migrate.stderr
    back = run_inv("rollback", "--url", empty_db, "--steps", "1", "--verify", "--json")
    assert back.returncode == 0, back.stdout + back.stderr
    document = json.loads(back.stdout)
    assert document["ok"] is True and document["verify"] is True
    [step] = document["rolled_back"]
    assert step["tag"] == "0007_wishlist_items"
    assert step["verification"]["head"] == "0006_moc_parts_lists" and step["verification"]["result"] == "pass"
    assert step["verification"]["differences"] == []
    assert "verified: the schema matches the snapshot of 0006_moc_parts_lists" in back.stderr
    assert rows(empty_db) == ALL_ROWS[:7]

    junit = tmp_path / "verify.xml"
    verify = run_inv("verify", "--url", empty_db, "--junit", str(junit))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "head 0006_moc_parts_lists" in verify.stdout
    assert verify.stdout.count(SKIPPED) == len(PROJECT_CHECKS) - 1
    assert "matches the snapshot of 0006_moc_parts_lists" in verify.stdout
    assert "1 of 8 check(s) passed, 7 skipped." in verify.stdout
    suite = ElementTree.parse(junit).getroot()
    assert [c.attrib["name"] for c in suite.iter("testcase")] == PROJECT_CHECKS
    assert (suite.attrib["failures"], suite.attrib["errors"], suite.attrib["skipped"]) == ("0", "0", "7")
    cases = {c.attrib["name"]: c for c in suite.iter("testcase")}
    assert list(cases["snapshot-conformance"]) == []
    for check_id in PROJECT_CHECKS[1:]:
        skipped = cases[check_id].find("skipped")
        assert skipped is not None and skipped.attrib["message"] == SKIPPED

    as_json = run_inv("verify", "--url", empty_db, "--json")
    assert as_json.returncode == 0
    report = json.loads(as_json.stdout)
    assert report["ok"] is True and report["head"] == "0006_moc_parts_lists"
    assert report["summary"] == {"passed": 1, "failed": 0, "errors": 0, "skipped": 7}
    assert {c["id"]: c["result"] for c in report["checks"]} == {
        "snapshot-conformance": "pass",
        **{check_id: "skip" for check_id in PROJECT_CHECKS[1:]},
    }


def test_every_step_is_verified_down_to_an_empty_schema(migrated_db: str) -> None:
    result = run_inv("rollback", "--url", migrated_db, "--all", "--verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert rows(migrated_db) == []
    assert "verified" in result.stdout  # the table's extra column
    assert "Each step was verified against its new head's snapshot." in result.stdout
    for tag in TAGS[:-1]:
        assert f"verified: the schema matches the snapshot of {tag}, the new head" in result.stderr
    assert "verified: the schema matches an empty schema, the new head" in result.stderr  # after 0000's down file


def test_a_down_file_that_forgets_an_index_is_refused_and_changes_nothing(
    migrated_db: str, workspace_copy: Path, rollback_dir: Path
) -> None:
    tag = add_migration(
        workspace_copy,
        "users_indexes",
        'CREATE INDEX "users_created_at_idx" ON "users" USING btree ("created_at");--> statement-breakpoint\n'
        'CREATE INDEX "users_role_idx" ON "users" USING btree ("role");',
    )
    # reviewed, but wrong: it drops one of the two indexes its migration created
    (rollback_dir / f"{tag}.down.sql").write_text('DROP INDEX "users_role_idx";\n')
    flags = ["--url", migrated_db, "--workspace", str(workspace_copy), "--rollback-dir", str(rollback_dir)]
    assert run_inv("migrate", *flags).returncode == 0
    before_rows, before = rows(migrated_db), catalog(migrated_db)

    result = run_inv("rollback", *flags, "--verify")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    [line] = errors(result.stderr)
    # paths inside the project (a nox session's tmp) are shown relative to it, as users see them
    assert f"after {display_path(rollback_dir / f'{tag}.down.sql', ROOT)}" in line
    assert "does not match the snapshot of 0007_wishlist_items, the migration that would have become head" in line
    assert "(1 difference(s): index users_created_at_idx: not in snapshot" in line
    assert f"that step was rolled back, so {tag} is still applied" in line
    assert "  the schema does not match the snapshot of 0007_wishlist_items:" in result.stderr  # the log names all
    # the step was undone: its row is still there and so is the index the down file did drop
    assert rows(migrated_db) == before_rows and len(before_rows) == 9
    assert catalog(migrated_db) == before
    with psycopg.connect(migrated_db) as conn:
        indexes = {r[0] for r in conn.execute("select indexname from pg_indexes where tablename = 'users'")}
    assert {"users_created_at_idx", "users_role_idx"} <= indexes


def test_earlier_verified_steps_stay_rolled_back_and_the_json_carries_every_difference(
    migrated_db: str, rollback_dir: Path
) -> None:
    down = rollback_dir / "0006_moc_parts_lists.down.sql"
    text = down.read_text()
    forgetful = text.replace('DROP TABLE "moc_parts_lists";--> statement-breakpoint\n', "")
    assert forgetful != text
    down.write_text(forgetful)
    before = catalog(migrated_db)
    flags = ["--url", migrated_db, "--rollback-dir", str(rollback_dir)]
    result = run_inv("rollback", *flags, "--steps", "3", "--verify", "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is False
    failure = document["error"]
    assert failure["error"] == "RollbackVerifyFailed" and failure["exit_code"] == 1
    assert failure["tag"] == "0006_moc_parts_lists" and failure["rolled_back"] == ["0007_wishlist_items"]
    verification = failure["verification"]
    assert verification["head"] == "0005_backfill_display_names" and verification["result"] == "fail"
    assert "table moc_parts_lists: not in snapshot" in verification["differences"]
    [line] = errors(result.stderr)
    assert "1 newer step(s) stay rolled back: 0007_wishlist_items" in line
    # 0007 committed (it verified); 0006 was undone whole, 0005 never started
    assert rows(migrated_db) == ALL_ROWS[:7]
    assert [x for x in before if "wishlist" not in x] == catalog(migrated_db)
    again = run_inv("rollback", "--url", migrated_db, "--steps", "2", "--verify")  # the reviewed files pass
    assert again.returncode == 0, again.stderr
    assert rows(migrated_db) == ALL_ROWS[:5]


def test_a_new_head_without_a_snapshot_is_skipped_not_failed(migrated_db: str, workspace_copy: Path) -> None:
    (workspace_copy / "drizzle" / "meta" / "0006_snapshot.json").unlink()
    result = run_inv("rollback", "--url", migrated_db, "--workspace", str(workspace_copy), "--verify", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    [step] = json.loads(result.stdout)["rolled_back"]
    assert step["verification"] == {
        "head": "0006_moc_parts_lists",
        "result": "skip",
        "detail": "no snapshot for 0006_moc_parts_lists",
        "differences": [],
    }
    assert "not verified: no snapshot for 0006_moc_parts_lists" in result.stderr
    assert rows(migrated_db) == ALL_ROWS[:7]
    text = run_inv("rollback", "--url", migrated_db, "--workspace", str(workspace_copy), "--verify")
    assert text.returncode == 0, text.stderr  # 0006 -> head 0005, which has its snapshot
    assert "Each step was verified" in text.stdout and rows(migrated_db) == ALL_ROWS[:6]


def test_v1_layout_verifies_each_step_against_the_folded_snapshots(empty_db: str) -> None:
    v1 = ROOT / "examples" / "drizzle-v1"
    flags = ["--url", empty_db, "--workspace", str(v1), "--rollback-dir", str(v1 / "rollback")]
    assert run_inv("migrate", *flags).returncode == 0
    result = run_inv("rollback", *flags, "--all", "--verify", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    steps = json.loads(result.stdout)["rolled_back"]
    tags = [m.tag for m in load_workspace(v1).migrations]
    assert [s["verification"]["head"] for s in steps] == [tags[1], tags[0], None]
    assert {s["verification"]["result"] for s in steps} == {"pass"}


def test_accepted_differences_do_not_fail_a_step(migrated_db: str, tmp_path: Path) -> None:
    with psycopg.connect(migrated_db, autocommit=True) as conn:  # drift the team lives with knowingly
        conn.execute('CREATE INDEX "users_display_name_idx" ON "users" ("display_name")')
    accepted = tmp_path / "accepted-differences.txt"
    assert run_inv("verify", "--accept", "--url", migrated_db, "--accepted", str(accepted)).returncode == 0
    assert "users_display_name_idx" in accepted.read_text()

    refused = run_inv("rollback", "--url", migrated_db, "--verify", "--accepted", str(tmp_path / "none.txt"))
    assert refused.returncode == 1 and "index users_display_name_idx" in errors(refused.stderr)[0]
    assert rows(migrated_db) == ALL_ROWS

    done = run_inv("rollback", "--url", migrated_db, "--verify", "--accepted", str(accepted), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    [step] = json.loads(done.stdout)["rolled_back"]
    assert step["verification"]["result"] == "pass"
    assert step["verification"]["detail"].endswith("apart from 1 accepted difference(s)")
    assert rows(migrated_db) == ALL_ROWS[:7]

    # migrate --verify honours the same flag: the drift stays accepted when 0007 is applied again
    reverted = run_inv("migrate", "--url", migrated_db, "--verify", "--accepted", str(tmp_path / "none.txt"))
    assert reverted.returncode == 1 and "index users_display_name_idx" in reverted.stderr
    assert rows(migrated_db) == ALL_ROWS[:7]
    again = run_inv("migrate", "--url", migrated_db, "--verify", "--accepted", str(accepted))
    assert again.returncode == 0, again.stdout + again.stderr
    assert rows(migrated_db) == ALL_ROWS


def test_a_non_transactional_down_file_that_forgets_an_index_says_its_statements_stay(
    migrated_db: str, workspace_copy: Path, rollback_dir: Path
) -> None:
    tag = add_migration(
        workspace_copy,
        "users_indexes_concurrently",
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_created_at_idx" ON "users" ("created_at");'
        "--> statement-breakpoint\n"
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_role_idx" ON "users" ("role");',
    )
    # outside a transaction, each statement commits before the check can run: nothing to roll back
    (rollback_dir / f"{tag}.down.sql").write_text('DROP INDEX CONCURRENTLY IF EXISTS "users_role_idx";\n')
    flags = ["--url", migrated_db, "--workspace", str(workspace_copy), "--rollback-dir", str(rollback_dir)]
    assert run_inv("migrate", *flags).returncode == 0
    before_rows = rows(migrated_db)

    result = run_inv("rollback", *flags, "--verify")
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = errors(result.stderr)
    assert "(1 difference(s): index users_created_at_idx: not in snapshot" in line
    assert f"its statements ran outside a transaction and stay; only its bookkeeping row was kept, so {tag}" in line
    assert "that step was rolled back" not in line
    assert rows(migrated_db) == before_rows  # the row stays: rollback can run again once the down file is fixed
    with psycopg.connect(migrated_db) as conn:
        left = conn.execute("select indexname from pg_indexes where indexname like 'users_%_idx' order by 1")
        assert [name for (name,) in left.fetchall()] == ["users_created_at_idx"]
