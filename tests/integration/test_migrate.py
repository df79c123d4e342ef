"""The runner against a real server: bookkeeping, transactions, failures, drift, the lock."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import psycopg
import pytest

from drizzle_ops.engine import runner
from drizzle_ops.engine.execution import ExecutionPolicy
from drizzle_ops.engine.states import MigrationState, PlanOptions
from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.errors import MigrationFailed, UserError
from tests.helpers import EXAMPLE, add_migration, rows, run_inv, run_inv_process


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("select tablename from pg_tables where schemaname = 'public'")}


def connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True)


def test_fresh_apply_records_hash_and_when_of_every_file(empty_db: str) -> None:
    workspace = load_workspace(EXAMPLE)
    with connect(empty_db) as conn:
        result = runner.migrate(conn, workspace)
    assert [a.tag for a in result.applied] == [m.tag for m in workspace.migrations]
    assert rows(empty_db) == [(m.hash, m.when) for m in workspace.migrations]
    assert {"users", "wishlist_items", "gallery_images"} <= tables(empty_db)


def test_second_run_applies_nothing(migrated_db: str) -> None:
    before = rows(migrated_db)
    with connect(migrated_db) as conn:
        result = runner.migrate(conn, load_workspace(EXAMPLE))
    assert result.applied == []
    assert rows(migrated_db) == before


def test_to_stops_after_the_named_migration(empty_db: str) -> None:
    workspace = load_workspace(EXAMPLE)
    third = workspace.migrations[2].tag
    with connect(empty_db) as conn:
        runner.migrate(conn, workspace, PlanOptions(to=third))
        states = [e.state for e in runner.status(conn, workspace)]
    assert states == [MigrationState.APPLIED] * 3 + [MigrationState.PENDING] * (len(workspace.migrations) - 3)
    assert "wishlist_items" not in tables(empty_db)


def _break_migration(ws: Path, index: int, bad_sql: str) -> str:
    workspace = load_workspace(ws)
    migration = workspace.migrations[index]
    text = migration.sql_path.read_text()
    migration.sql_path.write_text(text.rstrip() + "--> statement-breakpoint\n" + bad_sql)
    return migration.tag


def test_failing_migration_leaves_nothing_and_keeps_earlier_ones(empty_db: str, workspace_copy: Path) -> None:
    tag = _break_migration(workspace_copy, 7, '\nALTER TABLE "wishlist_items" ADD COLUMN "x" no_such_type;')
    workspace = load_workspace(workspace_copy)
    with connect(empty_db) as conn, pytest.raises(MigrationFailed) as caught:
        runner.migrate(conn, workspace)
    err = caught.value
    assert err.tag == tag
    assert err.sqlstate == "42704"  # undefined_object
    assert err.statement_number == len(workspace.migrations[7].statements)
    lines = workspace.migrations[7].text.splitlines()
    assert "no_such_type" in lines[err.line - 1]
    assert "wishlist_items" not in tables(empty_db)  # the failed migration left nothing
    assert rows(empty_db) == [(m.hash, m.when) for m in workspace.migrations[:7]]


def test_modified_file_is_reported_and_refused(migrated_db: str, workspace_copy: Path) -> None:
    sql_path = load_workspace(workspace_copy).migrations[3].sql_path
    sql_path.write_text(sql_path.read_text() + "\n-- edited after deploy\n")
    workspace = load_workspace(workspace_copy)
    with connect(migrated_db) as conn:
        states = {e.tag: e.state for e in runner.status(conn, workspace)}
        assert states[workspace.migrations[3].tag] is MigrationState.MODIFIED
        with pytest.raises(UserError, match="changed after being applied"):
            runner.migrate(conn, workspace)


def _insert_entry_before_last(ws: Path) -> str:
    """Simulate a branch merge: a new migration whose `when` is older than the last applied one."""
    last_when = load_workspace(ws).migrations[-1].when
    return add_migration(
        ws, "from_other_branch", 'CREATE TABLE "late_table" ("id" integer PRIMARY KEY);\n', when=last_when - 1
    )


def test_out_of_order_entry_is_refused_then_applied_when_allowed(migrated_db: str, workspace_copy: Path) -> None:
    tag = _insert_entry_before_last(workspace_copy)
    workspace = load_workspace(workspace_copy)
    with connect(migrated_db) as conn:
        assert {e.tag: e.state for e in runner.status(conn, workspace)}[tag] is MigrationState.OUT_OF_ORDER
        with pytest.raises(UserError, match="--allow-out-of-order"):
            runner.migrate(conn, workspace)
        assert "late_table" not in tables(migrated_db)
        result = runner.migrate(conn, workspace, PlanOptions(allow_out_of_order=True))
    assert [a.tag for a in result.applied] == [tag]
    assert "late_table" in tables(migrated_db)


def test_row_without_file_is_missing_file(migrated_db: str) -> None:
    with connect(migrated_db) as conn:
        conn.execute("insert into drizzle.__drizzle_migrations (hash, created_at) values ('abc', 1)")
        entries = runner.status(conn, load_workspace(EXAMPLE))
    orphans = [e for e in entries if e.state is MigrationState.MISSING_FILE]
    assert len(orphans) == 1 and orphans[0].row is not None and orphans[0].row.hash == "abc"


def test_custom_migrations_table_and_schema(empty_db: str, workspace_copy: Path) -> None:
    config = workspace_copy / "drizzle.config.ts"
    text = config.read_text()
    text = text.replace('table: "__drizzle_migrations"', 'table: "schema_history"')
    text = text.replace('schema: "drizzle"', 'schema: "ops"')
    config.write_text(text)
    workspace = load_workspace(workspace_copy)
    assert (workspace.migrations_schema, workspace.migrations_table) == ("ops", "schema_history")
    with connect(empty_db) as conn:
        runner.migrate(conn, workspace)
        assert conn.execute("select to_regclass('drizzle.__drizzle_migrations')").fetchone() == (None,)
    assert rows(empty_db, "ops", "schema_history") == [(m.hash, m.when) for m in workspace.migrations]


def test_two_runners_at_once_apply_each_migration_once(empty_db: str) -> None:
    workspace = load_workspace(EXAMPLE)
    results: list[runner.MigrateResult] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            with connect(empty_db) as conn:
                barrier.wait()
                results.append(runner.migrate(conn, workspace))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # each migration applied by exactly one of them (which one is the lock's business): every tag once, in order
    applied = sorted((a.tag for r in results for a in r.applied), key=[m.tag for m in workspace.migrations].index)
    assert applied == [m.tag for m in workspace.migrations]
    for result in results:  # what the other one applied, each run saw as applied meanwhile, never as its own
        others = {a.tag for r in results if r is not result for a in r.applied}
        assert set(result.applied_elsewhere) <= others
    assert rows(empty_db) == [(m.hash, m.when) for m in workspace.migrations]


def test_waiter_names_the_lock_holder(empty_db: str) -> None:
    from drizzle_ops.engine import lock

    workspace = load_workspace(EXAMPLE)
    key = lock.lock_key(workspace.migrations_schema, workspace.migrations_table)
    seen: list[lock.LockHolder | None] = []
    with connect(empty_db) as holder:
        holder.execute("set application_name = 'deploy-bot'")
        holder.execute("select pg_advisory_lock(%s)", [key])
        with connect(empty_db) as conn, pytest.raises(Exception, match="deploy-bot"):
            runner.migrate(conn, workspace, policy=ExecutionPolicy(lock_wait=0.3), progress=_Recorder(seen))
    assert seen and seen[0] is not None and seen[0].application_name == "deploy-bot"
    assert not _table_exists(empty_db)  # timed out before touching anything


def _table_exists(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("select to_regclass('drizzle.__drizzle_migrations') is not null").fetchone()[0]


class _Recorder(runner.SilentProgress):
    def __init__(self, seen: list) -> None:
        self.seen = seen

    def lock_waiting(self, holder) -> None:  # type: ignore[no-untyped-def]
        self.seen.append(holder)


@pytest.mark.process
def test_cli_migrate_then_status_json(empty_db: str) -> None:
    first = run_inv_process("migrate", "--url", empty_db)
    assert first.returncode == 0, first.stderr
    assert "0007_wishlist_items" in first.stderr  # progress on stderr
    assert "Applied 8 migration(s)" in first.stdout
    second = run_inv("migrate", "--url", empty_db)
    assert second.returncode == 0 and "Nothing to migrate" in second.stdout
    status = run_inv_process("status", "--url", empty_db, "--json", "--check")
    assert status.returncode == 0, status.stderr
    document = json.loads(status.stdout)
    assert document["summary"]["applied"] == 8 and document["ok"] is True


@pytest.mark.process
def test_cli_status_check_fails_on_pending(empty_db: str) -> None:
    result = run_inv_process("status", "--url", empty_db, "--check")
    assert result.returncode == 1
    assert "8 pending" in result.stderr


@pytest.mark.process
def test_cli_failure_is_one_line_without_traceback(empty_db: str, workspace_copy: Path) -> None:
    _break_migration(workspace_copy, 2, "\nSELECT 1/0;")
    result = run_inv_process("migrate", "--url", empty_db, "--workspace", str(workspace_copy))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    assert "0002_sets_and_user_sets" in error_lines[0] and "22012" in error_lines[0]
    assert rows(empty_db) == [(m.hash, m.when) for m in load_workspace(workspace_copy).migrations[:2]]


def test_password_never_appears_in_output(empty_db: str, workspace_copy: Path) -> None:
    from psycopg.conninfo import conninfo_to_dict

    password = conninfo_to_dict(empty_db)["password"]
    assert password
    bad_password_url = empty_db.replace(password, "sentinel-Pa55word")
    outputs = [
        run_inv("migrate", "--url", empty_db),
        run_inv("status", "--url", empty_db, "--json"),
        run_inv("migrate", "--url", bad_password_url),
        run_inv("status", "--url", "postgresql://u:sentinel-Pa55word@127.0.0.1:1/x"),
        run_inv("migrate", "--url", "postgres://u:sentinel-Pa55word@host:notaport/db"),
        run_inv("migrate", "--url", empty_db, "--to", "nope"),
        run_inv("status", env={"DATABASE_URL": bad_password_url}),
    ]
    for proc in outputs:
        assert password not in proc.stdout + proc.stderr
        assert "sentinel-Pa55word" not in proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
    assert [p.returncode for p in outputs] == [0, 0, 1, 1, 2, 2, 1]


@pytest.mark.process
def test_unknown_tag_and_bad_workspace_exit_2(empty_db: str, tmp_path: Path) -> None:
    unknown = run_inv_process("migrate", "--url", empty_db, "--to", "9999_nope")
    assert unknown.returncode == 2 and "9999_nope" in unknown.stderr
    missing = run_inv("status", "--url", empty_db, "--workspace", str(tmp_path))
    assert missing.returncode == 2 and "drizzle.config.ts" in missing.stderr
    shutil.copytree(EXAMPLE / "drizzle", tmp_path / "drizzle")
    (tmp_path / "drizzle.config.ts").write_text("export default defineConfig({ out: OUT_DIR })\n")
    dynamic = run_inv("status", "--url", empty_db, "--workspace", str(tmp_path))
    assert dynamic.returncode == 2 and "drizzle_ops.out" in dynamic.stderr


@pytest.mark.process
def test_json_failures_are_one_json_document_on_stdout(empty_db: str, workspace_copy: Path) -> None:
    bad_input = run_inv_process("migrate", "--url", empty_db, "--to", "0099_nope", "--json")
    assert bad_input.returncode == 2
    # the message names the tag, the journal's folder and its newest tags, as the plain run's error line does
    latest = ", ".join(m.tag for m in load_workspace(EXAMPLE).migrations[-3:])
    message = f"no migration tagged '0099_nope' in {EXAMPLE / 'drizzle'} (latest: {latest}); check the tag"
    plain = run_inv("migrate", "--url", empty_db, "--to", "0099_nope")
    assert [x for x in plain.stderr.splitlines() if x.startswith("error:")] == [f"error: {message}"]
    assert json.loads(bad_input.stdout) == {
        "ok": False,
        "error": {"error": "UserError", "message": message, "exit_code": 2},
        "warnings": [],  # every JSON document carries the history's warnings, a failure's too
    }
    _break_migration(workspace_copy, 1, "\nSELECT 1/0;")
    failed = run_inv_process("migrate", "--url", empty_db, "--json", "--workspace", str(workspace_copy))
    assert failed.returncode == 1
    error = json.loads(failed.stdout)["error"]
    assert error["tag"] == "0001_moc_instructions" and error["sqlstate"] == "22012" and error["line"] > 0
