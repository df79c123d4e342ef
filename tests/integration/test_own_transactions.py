"""Migration files that run their own BEGIN/COMMIT: applied as drizzle-kit applies them, reported truthfully.

The fixtures (tests/fixtures/histories/own-transactions*, made with drizzle-kit 0.31 and hand-edited as
teams do) run through real `inv` processes and through real drizzle-kit on twin databases: the rows and
the schema (pg_dump --schema-only where it can dump the server, else a catalog fingerprint) must be equal.
The real-world history cases (test_histories.py) add takeover in both directions and rollback --verify.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from drizzle_ops.engine import runner
from drizzle_ops.engine.lock import lock_key
from drizzle_ops.engine.one_transaction import Committed
from drizzle_ops.engine.states import PlanOptions
from drizzle_ops.engine.workspace import load_workspace
from tests.helpers import (
    EXAMPLE,
    NO_DRIZZLE_KIT,
    ROOT,
    add_migration,
    requires,
    rows,
    run_drizzle_kit,
    run_inv,
    schema_dump,
)

FIXTURES = ROOT / "tests" / "fixtures" / "histories"
DRIZZLE_KIT_BIN = EXAMPLE / "node_modules" / "drizzle-kit" / "bin.cjs"
HACK = "0003_rebuild_org_email_unique"

pytestmark = [pytest.mark.drizzle, requires(DRIZZLE_KIT_BIN.exists, NO_DRIZZLE_KIT)]


def fixture(name: str, tmp_path: Path) -> Path:
    """A private copy of a fixture, with the example's node_modules linked in (drizzle-kit, pg)."""
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    (target / "node_modules").symlink_to(EXAMPLE / "node_modules", target_is_directory=True)
    return target


def drizzle_kit(ws: Path, url: str) -> subprocess.CompletedProcess[str]:
    return run_drizzle_kit(DRIZZLE_KIT_BIN, ws, url, timeout=120)


def inv(ws: Path, task: str, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_inv(task, "--workspace", str(ws), "--url", url, *args)


def out(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"


def query(url: str, sql: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, list(params)).fetchall()  # type: ignore[arg-type]


def constraint(url: str) -> list[tuple[object, ...]]:
    """accounts' unique constraint: its definition and whether its index is valid."""
    return query(
        url,
        "select c.conname, pg_get_constraintdef(c.oid), i.indisvalid from pg_constraint c "
        "join pg_index i on i.indexrelid = c.conindid where c.conrelid = 'accounts'::regclass and c.contype = 'u'",
    )


def test_the_commit_hack_ends_where_drizzle_kit_ends(databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = fixture("own-transactions", tmp_path)
    ours, theirs = databases.create(), databases.create()
    assert drizzle_kit(ws, theirs).returncode == 0

    done = inv(ws, "migrate", ours)
    assert done.returncode == 0, out(done)
    assert f"✓ {HACK} (8 statements)" in done.stderr
    assert "Applied 4 migration(s)" in done.stdout
    assert constraint(ours) == [("accounts_org_email_unique", "UNIQUE (org_id, email)", True)]
    assert rows(ours) == rows(theirs) and len(rows(ours)) == 4
    assert schema_dump(ours) == schema_dump(theirs)
    status = inv(ws, "status", ours, "--check")
    assert status.returncode == 0, out(status)
    # no index left over from the rebuild, and nothing of ours left open or locked
    assert query(
        ours, "select indexrelid::regclass::text from pg_index where indrelid = 'accounts'::regclass order by 1"
    ) == [("accounts_last_seen_idx",), ("accounts_org_email_unique",), ("accounts_pkey",)]
    assert query(ours, "select count(*) from pg_locks where locktype = 'advisory'") == [(0,)]


def test_the_row_of_a_file_that_ends_inside_its_own_transaction_commits_with_it(empty_db: str, tmp_path: Path) -> None:
    """The hack's last BEGIN holds ADD CONSTRAINT: the bookkeeping row is written in that very transaction."""
    ws = fixture("own-transactions", tmp_path)
    assert inv(ws, "migrate", empty_db).returncode == 0
    [(constraint_xmin,)] = query(
        empty_db, "select xmin::text from pg_constraint where conname = 'accounts_org_email_unique'"
    )
    [(row_xmin,)] = query(empty_db, 'select xmin::text from drizzle."__drizzle_migrations" where id = 4')
    assert row_xmin == constraint_xmin


def test_a_balanced_transaction_commits_before_the_row_is_written(empty_db: str, tmp_path: Path) -> None:
    """BEGIN; UPDATE; COMMIT: the row follows once the file's own transaction has committed, in its own."""
    ws = fixture("own-transactions", tmp_path)
    assert inv(ws, "migrate", empty_db, "--to", "0001_last_seen").returncode == 0
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("insert into accounts (org_id, email) values (1, 'Ada@Example.org'), (1, 'bob@example.org')")
    assert inv(ws, "migrate", empty_db, "--to", "0002_lowercase_emails").returncode == 0
    emails = query(empty_db, "select email, xmin::text from accounts order by id")
    assert [e for e, _ in emails] == ["ada@example.org", "bob@example.org"]
    [(row_xmin,)] = query(empty_db, 'select xmin::text from drizzle."__drizzle_migrations" where id = 3')
    assert emails[0][1] != row_xmin  # the file's own transaction committed first; the row came after


def test_the_hack_in_the_middle_of_a_long_history(databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = fixture("own-transactions", tmp_path)
    for n in range(30):  # ordinary migrations after it, as a real history goes on
        add_migration(ws, f"table_{n}", f'CREATE TABLE "t_{n}" ("id" serial PRIMARY KEY NOT NULL, "note" text);')
    workspace = load_workspace(ws)
    ours, theirs = databases.create(), databases.create()
    assert drizzle_kit(ws, theirs).returncode == 0

    done = inv(ws, "migrate", ours, "--json")
    assert done.returncode == 0, out(done)
    assert [a["tag"] for a in json.loads(done.stdout)["applied"]] == [m.tag for m in workspace.migrations]
    assert rows(ours) == rows(theirs) == [(m.hash, m.when) for m in workspace.migrations]
    assert schema_dump(ours) == schema_dump(theirs)
    assert constraint(ours) == [("accounts_org_email_unique", "UNIQUE (org_id, email)", True)]
    assert inv(ws, "status", ours, "--check").returncode == 0


def test_a_failure_after_the_files_own_commit_says_what_stays(databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = fixture("own-transactions-failure", tmp_path)
    ours, theirs = databases.create(), databases.create()
    assert drizzle_kit(ws, theirs).returncode == 1  # drizzle-kit fails too (and prints nothing about it)

    done = inv(ws, "migrate", ours)
    assert done.returncode == 1, out(done)
    assert "Traceback" not in done.stderr
    assert "✗ 0001_audit_tables (5 statements) failed; part of it stays (see below)" in done.stderr
    [error] = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(
        "error: migration 0001_audit_tables failed at statement 5 (drizzle/0001_audit_tables.sql:5)"
    )
    assert "[22012] division by zero" in error
    assert "statements 2, 4 stay applied (committed by the file's own COMMIT, or run outside any transaction)" in error
    assert "0001_audit_tables was not recorded as applied" in error
    assert "rolled back" not in error  # part of it stays: never "the migration was rolled back"
    assert "make those statements safe to repeat" in error
    # what stays is what drizzle-kit leaves: both tables, and no row for the failed migration
    tables = "select string_agg(tablename, ',' order by tablename) from pg_tables where schemaname = 'public'"
    assert query(ours, tables) == query(theirs, tables) == [("audit_a,audit_b,notes",)]
    assert rows(ours) == rows(theirs) and len(rows(ours)) == 1
    as_json = inv(ws, "migrate", databases.create(), "--json")
    document = json.loads(as_json.stdout)
    assert document["error"]["partial"] is True and document["error"]["statement"] == 5
    # what stays runs again: the rerun stops at the file's first CREATE TABLE, and this time nothing stays
    again = json.loads(inv(ws, "migrate", ours, "--json").stdout)["error"]
    assert (again["statement"], again["sqlstate"], again["partial"]) == (2, "42P07", False)
    status = inv(ws, "status", ours, "--json")
    states = {m["tag"]: m["state"] for m in json.loads(status.stdout)["migrations"]}
    assert states == {"0000_init": "applied", "0001_audit_tables": "pending"}


def test_a_failure_inside_the_files_own_transaction_rolls_back_that_transaction_only(
    empty_db: str, workspace_copy: Path
) -> None:
    tag = add_migration(
        workspace_copy,
        "two_steps",
        'CREATE TABLE "first" (id int);--> statement-breakpoint\nCOMMIT;--> statement-breakpoint\n'
        'BEGIN;--> statement-breakpoint\nCREATE TABLE "second" (id int);--> statement-breakpoint\n'
        'CREATE TABLE "first" (id int);',
    )
    done = inv(workspace_copy, "migrate", empty_db)
    assert done.returncode == 1, out(done)
    [error] = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert f"migration {tag} failed at statement 5" in error and "[42P07]" in error
    assert "statement 1 stays applied" in error and "statement 4 was rolled back with the failed one" in error
    assert query(empty_db, "select to_regclass('first') is not null, to_regclass('second') is not null") == [
        (True, False)
    ]
    assert len(rows(empty_db)) == len(load_workspace(workspace_copy).migrations) - 1


def test_savepoints_of_the_file_are_honoured_like_drizzle_kit(databases, workspace_copy: Path) -> None:  # type: ignore[no-untyped-def]
    (workspace_copy / "node_modules").symlink_to(EXAMPLE / "node_modules", target_is_directory=True)
    add_migration(
        workspace_copy,
        "savepoints",
        'CREATE TABLE "kept" (id int);--> statement-breakpoint\nSAVEPOINT "s";--> statement-breakpoint\n'
        'CREATE TABLE "undone" (id int);--> statement-breakpoint\nROLLBACK TO SAVEPOINT "s";--> statement-breakpoint\n'
        'CREATE TABLE "also_kept" (id int);',
    )
    ours, theirs = databases.create(), databases.create()
    assert drizzle_kit(workspace_copy, theirs).returncode == 0
    assert inv(workspace_copy, "migrate", ours).returncode == 0
    assert rows(ours) == rows(theirs)
    assert schema_dump(ours) == schema_dump(theirs)
    assert query(ours, "select to_regclass('kept') is not null, to_regclass('undone') is null") == [(True, True)]


def test_plan_status_and_trace_say_it_manages_its_own_transactions(empty_db: str, tmp_path: Path, pg_server) -> None:  # type: ignore[no-untyped-def]
    ws = fixture("own-transactions", tmp_path)
    assert inv(ws, "migrate", empty_db, "--to", "0000_init").returncode == 0
    status = inv(ws, "status", empty_db)
    assert f"{HACK} manages its own transactions: its BEGIN and COMMIT decide" in status.stdout, out(status)
    as_json = json.loads(inv(ws, "status", empty_db, "--json").stdout)
    modes = {m["tag"]: m.get("transactions") for m in as_json["migrations"]}
    assert modes == {
        "0000_init": None,
        "0001_last_seen": "manages its own transactions",
        "0002_lowercase_emails": "manages its own transactions",
        HACK: "manages its own transactions",
    }
    plan = inv(ws, "plan", empty_db)
    assert plan.stdout.count("manages its own transactions") == 3, out(plan)
    traced = inv(ws, "plan", empty_db, "--trace", "--trace-url", pg_server.url, "--json")
    assert traced.returncode == 0, out(traced)
    pending = json.loads(traced.stdout)["pending"]
    assert [p["transactions"] for p in pending] == ["manages its own transactions"] * 3
    assert [p["trace"]["transactions"] for p in pending] == ["manages its own transactions"] * 3
    assert all(p["trace"]["error"] is None for p in pending)
    assert rows(empty_db) == rows(empty_db)[:1]  # the target was never touched


ROLLBACK_0001 = (
    "COMMIT;--> statement-breakpoint\n"
    'DROP INDEX CONCURRENTLY IF EXISTS "accounts_last_seen_idx";--> statement-breakpoint\n'
    "BEGIN;--> statement-breakpoint\n"
    'ALTER TABLE "accounts" DROP COLUMN "last_seen_at";'
)
ROLLBACK_0002 = "-- lower-cased emails stay lower-cased: nothing to undo\nSELECT 1;"
ROLLBACK_0003 = "-- the constraint was rebuilt as it was: nothing to undo\nSELECT 1;"


def test_rollback_runs_down_files_with_their_own_transactions(databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = fixture("own-transactions", tmp_path)
    downs = tmp_path / "rollback"
    downs.mkdir()
    for tag, text in (
        ("0001_last_seen", ROLLBACK_0001),
        ("0002_lowercase_emails", ROLLBACK_0002),
        (HACK, ROLLBACK_0003),
    ):
        (downs / f"{tag}.down.sql").write_text(text)
    url, reference = databases.create(), databases.create()
    assert inv(ws, "migrate", url).returncode == 0
    assert inv(ws, "migrate", reference, "--to", "0000_init").returncode == 0

    done = inv(ws, "rollback", url, "--steps", "3", "--verify", "--rollback-dir", str(downs), "--json")
    assert done.returncode == 0, out(done)
    assert [s["tag"] for s in json.loads(done.stdout)["rolled_back"]] == [
        HACK,
        "0002_lowercase_emails",
        "0001_last_seen",
    ]
    assert rows(url) == rows(reference)
    assert schema_dump(url) == schema_dump(reference)
    again = inv(ws, "migrate", url)
    assert again.returncode == 0, out(again)
    assert constraint(url) == [("accounts_org_email_unique", "UNIQUE (org_id, email)", True)]


def test_no_migration_is_reported_applied_unless_its_row_committed(empty_db: str) -> None:
    """The runner's last check, on real connections: a session left in a transaction, or a row that is not there."""
    workspace = load_workspace(EXAMPLE)
    migration = workspace.migrations[0]
    with psycopg.connect(empty_db, autocommit=True) as conn, psycopg.connect(empty_db, autocommit=True) as other:
        runner.migrate(conn, workspace, PlanOptions(to=migration.tag))
        [(row_id,)] = conn.execute('select id from drizzle."__drizzle_migrations"').fetchall()
        assert runner.confirm_committed([conn], migration, Committed(conn, row_id), workspace).confirmed is True

        with pytest.raises(runner.NotCommitted) as missing:
            runner.confirm_committed([conn], migration, Committed(conn, row_id + 1), workspace)
        assert str(missing.value).startswith(f"{migration.tag} was not committed: its bookkeeping row {row_id + 1}")
        assert missing.value.exit_code == 1

        other.execute("BEGIN")
        other.execute("select 1")
        with pytest.raises(runner.NotCommitted) as open_:
            runner.confirm_committed([conn, other], migration, Committed(conn, row_id), workspace)
        assert "still inside a transaction" in str(open_.value)
        assert other.info.transaction_status == psycopg.pq.TransactionStatus.IDLE  # and it was ended


def test_the_bookkeeping_table_is_created_under_the_lock(empty_db: str) -> None:
    """While another run holds the lock, a migrate waits before it creates anything, then times out cleanly."""
    with psycopg.connect(empty_db, autocommit=True) as holder:
        holder.execute("set application_name = 'deploy-bot'")
        holder.execute("BEGIN")
        holder.execute("select pg_advisory_xact_lock(%s)", [lock_key("drizzle", "__drizzle_migrations")])
        done = run_inv("migrate", "--url", empty_db, "--lock-wait", "0.3")
        holder.execute("ROLLBACK")
    assert done.returncode == 1, done.stderr
    assert "another migration holds the lock (pid " in done.stderr and "deploy-bot" in done.stderr
    assert query(empty_db, "select to_regclass('drizzle.__drizzle_migrations')") == [(None,)]
    assert query(empty_db, "select count(*) from pg_locks where locktype = 'advisory'") == [(0,)]
