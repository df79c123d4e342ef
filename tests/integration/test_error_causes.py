"""Each row of errors.CAUSES, produced against a real server: exit code, advice, SQLSTATE and the state afterwards.

Every case runs the real `inv`, so the line is checked as a user sees it: one
line starting with `error:`, no traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from drizzle_ops.engine import runner
from drizzle_ops.engine.states import PlanOptions
from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.errors import CAUSES, cause_of
from tests.helpers import EXAMPLE, ROOT, add_migration, rows, run_inv

BOOKKEEPING = "drizzle.__drizzle_migrations"


def error_line(proc: subprocess.CompletedProcess[str], code: int) -> str:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def migrate_to(url: str, tag: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        runner.migrate(conn, load_workspace(EXAMPLE), PlanOptions(to=tag))


def tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [
            r[0]
            for r in conn.execute(
                "select relname from pg_class where relkind = 'r' and relnamespace::regnamespace::text "
                "not in ('pg_catalog', 'information_schema') order by 1"
            ).fetchall()
        ]


@pytest.fixture
def limited_role(admin: psycopg.Connection) -> Iterator[str]:
    """A login role with no privileges beyond CONNECT (granted per test)."""
    role = f"limited_{uuid.uuid4().hex[:8]}"
    admin.execute(sql.SQL("create role {} login password 'limited-pw'").format(sql.Identifier(role)))
    yield role
    # its objects die with the test databases; drop what it still owns here
    for db in admin.execute("select datname from pg_database where not datistemplate").fetchall():
        admin.execute(sql.SQL("revoke all on database {} from {}").format(sql.Identifier(db[0]), sql.Identifier(role)))


def as_role(url: str, role: str) -> str:
    params = conninfo_to_dict(url)
    return f"postgresql://{role}:limited-pw@{params['host']}:{params['port']}/{params['dbname']}"


def test_every_row_of_the_table_has_advice_and_classes_fall_back() -> None:
    assert cause_of("57P01").name == cause_of("08006").name == "connection-lost"
    assert cause_of(None, connection_lost=True).name == "connection-lost"
    assert cause_of(None).name == cause_of("42P01").name == cause_of("22012").name == "sql"
    assert cause_of("53200").name == "resources" and cause_of("53100").name == "disk-full"
    for key, cause in CAUSES.items():
        assert len(key) in (2, 5) and cause.what and cause.advice


@pytest.mark.process
def test_backend_terminated_mid_migration_is_a_lost_connection_and_a_rerun_completes(
    empty_db: str, workspace_copy: Path
) -> None:
    tag = add_migration(
        workspace_copy, "slow", 'CREATE TABLE "slow_one" (id int);--> statement-breakpoint\nSELECT pg_sleep(30);'
    )
    inv = [shutil.which("inv") or "inv", "migrate", "--url", empty_db, "--workspace", str(workspace_copy)]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"NO_COLOR": "1"}
    proc = subprocess.Popen(inv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed: list[tuple[bool]] = []
    with psycopg.connect(empty_db, autocommit=True) as admin:
        deadline = time.monotonic() + 30
        while not killed and time.monotonic() < deadline:
            killed = admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where application_name = 'drizzle-ops' and query like '%pg_sleep(30)%' and state = 'active'"
            ).fetchall()
            time.sleep(0.05)
    out, err = proc.communicate(timeout=60)
    assert killed, "never saw the migration running"
    line = error_line(subprocess.CompletedProcess(inv, proc.returncode, out, err), 1)
    assert "[57P01]" in line
    assert "the connection was lost" in line.lower()
    assert f"nothing of {tag} was committed" in line and "run migrate again when the server answers" in line
    assert "fix the SQL" not in line
    workspace = load_workspace(workspace_copy)
    assert len(rows(empty_db)) == len(workspace.migrations) - 1 and "slow_one" not in tables(empty_db)
    # the SQL was fine: once the server answers, the same run completes
    (workspace_copy / "drizzle" / f"{tag}.sql").write_text('CREATE TABLE "slow_one" (id int);')
    again = run_inv("migrate", "--url", empty_db, "--workspace", str(workspace_copy))
    assert again.returncode == 0, again.stderr and "slow_one" in tables(empty_db)


def test_read_only_database_names_the_step_the_role_and_the_sqlstate(empty_db: str, admin: psycopg.Connection) -> None:
    dbname = conninfo_to_dict(empty_db)["dbname"]
    admin.execute(sql.SQL("alter database {} set default_transaction_read_only = on").format(sql.Identifier(dbname)))
    try:
        line = error_line(run_inv("migrate", "--url", empty_db), 1)
    finally:
        admin.execute(sql.SQL("alter database {} reset default_transaction_read_only").format(sql.Identifier(dbname)))
    user = conninfo_to_dict(empty_db)["user"]
    assert f"creating the bookkeeping table {BOOKKEEPING} failed: [25006]" in line
    assert f"read-only for role {user}" in line and "default_transaction_read_only" in line
    assert rows(empty_db) == [] and tables(empty_db) == []


def test_read_only_transaction_inside_a_migration(migrated_db: str, workspace_copy: Path) -> None:
    tag = add_migration(
        workspace_copy, "read_only", 'SET TRANSACTION READ ONLY;--> statement-breakpoint\nCREATE TABLE "ro" (id int);'
    )
    before = rows(migrated_db)
    line = error_line(run_inv("migrate", "--url", migrated_db, "--workspace", str(workspace_copy)), 1)
    assert f"migration {tag} failed at statement 2" in line and "[25006]" in line
    assert "is read-only for role" in line and f"nothing of {tag} was committed" in line
    assert rows(migrated_db) == before and "ro" not in tables(migrated_db)


def test_role_without_create_on_the_database_fails_at_the_bookkeeping_step(
    empty_db: str, admin: psycopg.Connection, limited_role: str
) -> None:
    dbname = conninfo_to_dict(empty_db)["dbname"]
    admin.execute(
        sql.SQL("grant connect on database {} to {}").format(sql.Identifier(dbname), sql.Identifier(limited_role))
    )
    line = error_line(run_inv("migrate", "--url", as_role(empty_db, limited_role)), 1)
    assert f"creating the bookkeeping table {BOOKKEEPING} failed: [42501]" in line
    assert f"role {limited_role} lacks a privilege" in line and f"grant it to {limited_role}" in line
    assert "limited-pw" not in line
    assert rows(empty_db) == []


def test_role_without_create_on_public_fails_inside_the_first_migration(
    empty_db: str, admin: psycopg.Connection, limited_role: str
) -> None:
    dbname = conninfo_to_dict(empty_db)["dbname"]
    # it may create the bookkeeping schema, but PostgreSQL 15 grants nobody CREATE on public
    admin.execute(
        sql.SQL("grant connect, create on database {} to {}").format(
            sql.Identifier(dbname), sql.Identifier(limited_role)
        )
    )
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("revoke create on schema public from public")
    line = error_line(run_inv("migrate", "--url", as_role(empty_db, limited_role)), 1)
    first = load_workspace(EXAMPLE).migrations[0].tag
    assert f"migration {first} failed at statement" in line and "[42501]" in line
    assert f"role {limited_role} lacks a privilege" in line.lower() and f"nothing of {first} was committed" in line
    assert rows(empty_db) == [] and tables(empty_db) == ["__drizzle_migrations"]


def test_lock_timeout_names_the_setting_its_environment_and_the_blocker(empty_db: str) -> None:
    workspace = load_workspace(EXAMPLE)
    migrate_to(empty_db, workspace.migrations[-2].tag)
    migrated_db = empty_db
    before = rows(migrated_db)
    env = {"STAGING_DATABASE_URL": migrated_db, "INVOKE_DRIZZLE_OPS_ENVIRONMENTS_STAGING_LOCK_TIMEOUT": "150ms"}
    with psycopg.connect(migrated_db) as blocker:
        blocker.execute("set application_name = 'long-report'")
        blocker.execute("lock table users in access exclusive mode")
        line = error_line(run_inv("migrate", "--env", "staging", env=env), 1)
        blocker.rollback()
    assert f"migration {workspace.migrations[-1].tag} failed" in line and "[55P03]" in line
    assert "lock_timeout 150ms (set by environment staging in invoke.yaml)" in line
    assert "long-report" in line and "raise lock_timeout or retries" in line
    assert rows(migrated_db) == before


def test_statement_timeout_names_the_setting_and_its_environment(empty_db: str, workspace_copy: Path) -> None:
    tag = add_migration(workspace_copy, "slow", "SELECT pg_sleep(5);")
    env = {"STAGING_DATABASE_URL": empty_db, "INVOKE_DRIZZLE_OPS_ENVIRONMENTS_STAGING_STATEMENT_TIMEOUT": "300ms"}
    line = error_line(run_inv("migrate", "--env", "staging", "--workspace", str(workspace_copy), env=env), 1)
    assert f"migration {tag} failed" in line and "[57014]" in line
    assert "statement_timeout 300ms (set by environment staging in invoke.yaml)" in line
    assert f"nothing of {tag} was committed" in line
    assert len(rows(empty_db)) == len(load_workspace(workspace_copy).migrations) - 1


def test_statement_timeout_from_the_database_says_drizzle_ops_did_not_set_it(
    empty_db: str, workspace_copy: Path, admin: psycopg.Connection
) -> None:
    tag = add_migration(workspace_copy, "slow", "SELECT pg_sleep(5);")
    dbname = conninfo_to_dict(empty_db)["dbname"]
    admin.execute(sql.SQL("alter database {} set statement_timeout = '400ms'").format(sql.Identifier(dbname)))
    line = error_line(run_inv("migrate", "--url", empty_db, "--workspace", str(workspace_copy)), 1)
    assert f"migration {tag} failed" in line and "[57014]" in line
    assert "statement_timeout (not set by drizzle-ops: a role or database default, or PGOPTIONS)" in line


@pytest.mark.parametrize("task", ["migrate", "status", "rollback"])
def test_a_foreign_table_at_the_bookkeeping_name_is_bad_config_and_nothing_runs(empty_db: str, task: str) -> None:
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("create schema drizzle")
        conn.execute("create table drizzle.__drizzle_migrations (version bigint primary key, dirty boolean not null)")
        conn.execute("insert into drizzle.__drizzle_migrations values (20240101, false)")
    line = error_line(run_inv(task, "--url", empty_db), 2)
    assert f"{BOOKKEEPING} exists but is not a Drizzle bookkeeping table (its columns: version, dirty;" in line
    assert "set migrations.table or migrations.schema in drizzle.config.ts to another name" in line
    assert tables(empty_db) == ["__drizzle_migrations"]
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("select * from drizzle.__drizzle_migrations").fetchall() == [(20240101, False)]
