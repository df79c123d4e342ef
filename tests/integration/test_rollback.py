"""inv rollback against a real server: steps, --to, --all, refusals, failures, enums with rows, the lock."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from drizzle_ops.engine import lock, rollback, runner
from drizzle_ops.engine.execution import ExecutionPolicy
from drizzle_ops.engine.rollback import RollbackChoice
from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.errors import LockTimeout
from tests.helpers import EXAMPLE, ROOT, rows, run_inv
from tests.integration.test_roundtrip import catalog

ROLLBACK_DIR = ROOT / "sql" / "rollback"
WORKSPACE = load_workspace(EXAMPLE)
TAGS = [m.tag for m in WORKSPACE.migrations]
ALL_ROWS = [(m.hash, m.when) for m in WORKSPACE.migrations]


def conformance(url: str) -> subprocess.CompletedProcess[str]:
    return run_inv("verify", "--url", url, "--only", "snapshot-conformance", "--json")


@pytest.fixture
def rollback_dir(tmp_path: Path) -> Path:
    """A private copy of sql/rollback that a test may break."""
    target = tmp_path / "rollback"
    shutil.copytree(ROLLBACK_DIR, target)
    return target


def test_rollback_one_step_then_verify_against_the_previous_snapshot(migrated_db: str) -> None:
    result = run_inv("rollback", "--url", migrated_db)
    assert result.returncode == 0, result.stderr
    assert "rolled back 0007_wishlist_items" in result.stderr  # progress on stderr
    assert "Rolled back 1 migration(s)" in result.stdout and "7 still applied" in result.stdout
    assert rows(migrated_db) == ALL_ROWS[:7]
    verify = conformance(migrated_db)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    document = json.loads(verify.stdout)
    assert document["head"] == "0006_moc_parts_lists" and document["ok"] is True


def test_rollback_to_the_first_migration_keeps_it(migrated_db: str) -> None:
    result = run_inv("rollback", "--url", migrated_db, "--to", TAGS[0], "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [s["tag"] for s in document["rolled_back"]] == TAGS[:0:-1]  # newest first, 0007 … 0001
    assert document["summary"]["applied"] == 1 and document["summary"]["pending"] == 7
    assert rows(migrated_db) == ALL_ROWS[:1]
    with psycopg.connect(migrated_db) as conn:
        tables = {r[0] for r in conn.execute("select tablename from pg_tables where schemaname = 'public'")}
    assert tables == {"users"}


def test_migrate_again_after_a_rollback_gives_the_same_schema(migrated_db: str, empty_db: str) -> None:
    assert run_inv("rollback", "--url", migrated_db, "--steps", "3").returncode == 0
    assert rows(migrated_db) == ALL_ROWS[:5]
    again = run_inv("migrate", "--url", migrated_db)
    assert again.returncode == 0, again.stderr
    assert "Applied 3 migration(s)" in again.stdout
    with psycopg.connect(empty_db, autocommit=True) as conn:
        runner.migrate(conn, WORKSPACE)
    assert rows(migrated_db) == rows(empty_db) == ALL_ROWS
    assert catalog(migrated_db) == catalog(empty_db)


def test_all_undoes_everything(migrated_db: str, empty_db: str) -> None:
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        result = rollback.rollback(conn, WORKSPACE, ROLLBACK_DIR, RollbackChoice(all=True))
    assert [r.tag for r in result.rolled_back] == TAGS[::-1]
    assert rows(migrated_db) == []
    assert catalog(migrated_db) == catalog(empty_db)  # nothing left but the (empty) bookkeeping table


def test_missing_down_file_is_refused_before_anything_changes(migrated_db: str, rollback_dir: Path) -> None:
    (rollback_dir / "0007_wishlist_items.down.sql").unlink()
    before = catalog(migrated_db)
    result = run_inv("rollback", "--url", migrated_db, "--rollback-dir", str(rollback_dir))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "0007_wishlist_items.down.sql is missing" in result.stderr
    assert rows(migrated_db) == ALL_ROWS and catalog(migrated_db) == before


def test_every_missing_down_file_is_listed(migrated_db: str, rollback_dir: Path) -> None:
    for tag in ("0007_wishlist_items", "0005_backfill_display_names"):
        (rollback_dir / f"{tag}.down.sql").unlink()
    result = run_inv("rollback", "--url", migrated_db, "--rollback-dir", str(rollback_dir), "--steps", "4")
    assert result.returncode == 2
    line = next(x for x in result.stderr.splitlines() if x.startswith("error:"))
    assert "2 down files are missing" in line
    assert "0007_wishlist_items.down.sql" in line and "0005_backfill_display_names.down.sql" in line
    assert rows(migrated_db) == ALL_ROWS  # 0006 and 0004 have files, but nothing ran


def test_sql_error_in_a_down_file_changes_nothing_and_names_file_and_line(migrated_db: str, rollback_dir: Path) -> None:
    down = rollback_dir / "0006_moc_parts_lists.down.sql"
    text = down.read_text()
    broken = text.replace('DROP TYPE "public"."moc_status_before_rollback";', 'DROP TYPE "public"."no_such_type";')
    assert broken != text
    down.write_text(broken)
    bad_line = broken.splitlines().index('DROP TYPE "public"."no_such_type";') + 1
    before = catalog(migrated_db)
    result = run_inv("rollback", "--url", migrated_db, "--rollback-dir", str(rollback_dir), "--steps", "2")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert len(errors) == 1
    assert f"0006_moc_parts_lists.down.sql:{bad_line}" in errors[0]
    assert "[42704]" in errors[0] and "0006_moc_parts_lists is still applied" in errors[0]
    assert "1 newer step(s) stay rolled back: 0007_wishlist_items" in errors[0]
    # 0007 was rolled back in its own transaction; of 0006 nothing changed
    assert rows(migrated_db) == ALL_ROWS[:7]
    after = catalog(migrated_db)
    assert [x for x in before if "wishlist" not in x] == after


def test_nothing_applied_is_a_clear_message_and_exit_0(empty_db: str) -> None:
    result = run_inv("rollback", "--url", empty_db, "--steps", "3")
    assert result.returncode == 0, result.stderr
    assert "Nothing to roll back" in result.stdout and "no migration is applied" in result.stdout
    with psycopg.connect(empty_db, autocommit=True) as conn:
        assert rollback.rollback(conn, WORKSPACE, ROLLBACK_DIR, RollbackChoice(all=True)).rolled_back == []
        # and the bookkeeping table was not created
        assert conn.execute("select to_regclass('drizzle.__drizzle_migrations')").fetchone() == (None,)


def test_more_steps_than_applied_is_bad_input(migrated_db: str) -> None:
    too_many = run_inv("rollback", "--url", migrated_db, "--steps", "9")
    assert too_many.returncode == 2
    assert "--steps 9: only 8 migration(s) are applied; use --all" in too_many.stderr
    assert rows(migrated_db) == ALL_ROWS


def test_to_an_unapplied_or_the_newest_tag(migrated_db: str) -> None:
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        rollback.rollback(conn, WORKSPACE, ROLLBACK_DIR, RollbackChoice(steps=2))
        with pytest.raises(Exception, match="0007_wishlist_items: that migration is not applied"):
            rollback.rollback(conn, WORKSPACE, ROLLBACK_DIR, RollbackChoice(to=TAGS[7]))
    newest = run_inv("rollback", "--url", migrated_db, "--to", TAGS[5])
    assert newest.returncode == 0 and "is the newest applied migration" in newest.stdout
    assert rows(migrated_db) == ALL_ROWS[:6]


def test_rollback_across_the_enum_migration_keeps_rows_using_the_enum(migrated_db: str) -> None:
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        user = conn.execute("insert into users (email) values ('maker@example.com') returning id").fetchone()[0]
        for title, status in (("castle", "draft"), ("ship", "published"), ("old train", "archived")):
            conn.execute(
                "insert into moc_instructions (user_id, title, status) values (%s, %s, %s)", [user, title, status]
            )
        rollback.rollback(conn, WORKSPACE, ROLLBACK_DIR, RollbackChoice(to="0005_backfill_display_names"))
        values = conn.execute("select enum_range(null::moc_status)::text[]").fetchone()[0]
        statuses = dict(conn.execute("select title, status::text from moc_instructions").fetchall())
        default = conn.execute(
            "select column_default from information_schema.columns "
            "where table_name = 'moc_instructions' and column_name = 'status'"
        ).fetchone()[0]
    assert values == ["draft", "published"]
    assert statuses == {"castle": "draft", "ship": "published", "old train": "draft"}  # archived -> draft
    assert default == "'draft'::moc_status"
    assert rows(migrated_db) == ALL_ROWS[:6]
    with psycopg.connect(migrated_db, autocommit=True) as conn:  # and 0006 applies again on top of those rows
        assert [a.tag for a in runner.migrate(conn, WORKSPACE).applied] == TAGS[6:]


def test_dry_run_prints_the_down_sql_and_changes_nothing(migrated_db: str) -> None:
    result = run_inv("rollback", "--url", migrated_db, "--steps", "2", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "-- 0007_wishlist_items (sql/rollback/0007_wishlist_items.down.sql)" in result.stdout
    assert 'DROP TABLE "moc_parts_lists"' in result.stdout
    assert "Dry run: 2 migration(s) would be rolled back" in result.stdout
    assert rows(migrated_db) == ALL_ROWS


def test_protected_environment_needs_yes(migrated_db: str) -> None:
    env = {"PRODUCTION_DATABASE_URL": migrated_db}
    refused = run_inv("rollback", "--env", "production", env=env)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert rows(migrated_db) == ALL_ROWS
    confirmed = run_inv("rollback", "--env", "production", "--yes", env=env)
    assert confirmed.returncode == 0, confirmed.stderr
    assert rows(migrated_db) == ALL_ROWS[:7]


def test_rollback_waits_for_the_migrate_lock(migrated_db: str) -> None:
    key = lock.lock_key(WORKSPACE.migrations_schema, WORKSPACE.migrations_table)
    with psycopg.connect(migrated_db, autocommit=True) as holder:
        holder.execute("set application_name = 'deploy-bot'")
        holder.execute("select pg_advisory_lock(%s)", [key])
        with psycopg.connect(migrated_db, autocommit=True) as conn, pytest.raises(LockTimeout, match="deploy-bot"):
            rollback.rollback(conn, WORKSPACE, ROLLBACK_DIR, policy=ExecutionPolicy(lock_wait=0.3))
    assert rows(migrated_db) == ALL_ROWS


def test_a_down_file_with_only_comments_just_forgets_the_row(migrated_db: str, rollback_dir: Path) -> None:
    (rollback_dir / "0007_wishlist_items.down.sql").write_text("-- nothing to undo\n")
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        result = rollback.rollback(conn, WORKSPACE, rollback_dir)
    assert [r.tag for r in result.rolled_back] == ["0007_wishlist_items"]
    assert rows(migrated_db) == ALL_ROWS[:7]


def test_an_unreviewed_draft_is_refused_before_anything_changes(migrated_db: str, rollback_dir: Path) -> None:
    from drizzle_ops.down_draft import DRAFT_MARKER

    down = rollback_dir / "0007_wishlist_items.down.sql"
    down.write_text(f"{DRAFT_MARKER} drafted by inv generate\n" + down.read_text())
    before = catalog(migrated_db)
    result = run_inv("rollback", "--url", migrated_db, "--rollback-dir", str(rollback_dir))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "0007_wishlist_items.down.sql is an unreviewed draft" in result.stderr
    assert rows(migrated_db) == ALL_ROWS and catalog(migrated_db) == before


@pytest.mark.parametrize(
    "down_sql",
    [
        'CREATE TABLE "raced_marker" ("id" integer);',  # one transaction
        'CREATE TABLE "raced_marker" ("id" integer);\n--> statement-breakpoint\n'
        'DROP INDEX CONCURRENTLY IF EXISTS "no_such_index";',  # statements that commit one by one
    ],
    ids=["one-transaction", "needs-a-session"],
)
def test_a_step_whose_row_is_no_longer_the_newest_runs_none_of_its_down_file(migrated_db: str, down_sql: str) -> None:
    """Another run applied (or undid) a migration between the plan and the step: the step refuses before its SQL."""
    tag = TAGS[-2]  # planned as if it were the newest, but the newest row is the last migration's
    down = rollback.DownFile(tag, Path(f"{tag}.down.sql"), f"{tag}.down.sql", down_sql)
    assert rollback.needs_session(down) == ("CONCURRENTLY" in down_sql)
    key = lock.lock_key(WORKSPACE.migrations_schema, WORKSPACE.migrations_table)
    migration_lock = lock.MigrationLock(key, wait=5)
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        row_id = conn.execute(
            "select id from drizzle.__drizzle_migrations where hash = %s", [WORKSPACE.migrations[-2].hash]
        ).fetchone()[0]  # type: ignore[index]
        held = migration_lock.session(conn) if rollback.needs_session(down) else contextlib.nullcontext()
        with pytest.raises(rollback.RollbackRaced, match="that step was not run"), held:
            rollback.revert(conn, WORKSPACE, down, row_id, lock=migration_lock)
        assert conn.execute("select to_regclass('raced_marker')").fetchone() == (None,)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert rows(migrated_db) == ALL_ROWS
