"""Through a real PgBouncer in transaction mode (tests/pooler.py): every guarantee holds, or the run is refused.

The pool holds fewer server connections than the clients the tests start, so each transaction may run
on another server connection, as on Supavisor or Neon's pooled endpoints. After every run: each
migration applied once, no advisory lock left, no prepared-statement error, and every pooled server
connection back at the server's default settings. Work that needs a session (CONCURRENTLY, a file
with its own COMMITs, a down file outside a transaction, drizzle-kit's own migrate) is refused on a
URL recognised as a pooler's before anything changes, and runs on the direct URL when one is given.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from drizzle_ops.context.fleet.targets import label_of
from drizzle_ops.disposable.base import Server
from drizzle_ops.engine import connection
from drizzle_ops.engine.lock import lock_key
from drizzle_ops.engine.workspace import load_workspace
from tests import processes
from tests.conftest import Databases
from tests.helpers import ROOT, add_migration, rows, run_inv
from tests.integration.fleet_support import by_label, fleet_config, start_fleet_inv
from tests.integration.test_generate import drizzle_workspace, needs_drizzle_kit
from tests.pooler import Pooler, advisory_locks, pooled_sessions, server_defaults

MIGRATORS = 8
ROUNDS = 5
CIC = 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_display_name_idx" ON "users" USING btree ("display_name");'
DROP_CIC = 'DROP INDEX CONCURRENTLY IF EXISTS "users_display_name_idx";'
OWN_TRANSACTIONS = ROOT / "tests" / "fixtures" / "histories" / "own-transactions"
# the variables a run reads its URLs from: each test gives exactly the ones it means
URL_VARIABLES = ("DATABASE_URL", "DIRECT_URL", "STAGING_DATABASE_URL", "POOLED_URL", "POOLED_DIRECT_URL")


@pytest.fixture(autouse=True)
def no_url_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in URL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def add_probe(workspace: Path) -> None:
    """A table, then a migration that inserts exactly one row into it, with the timeouts it ran under."""
    add_migration(
        workspace,
        "pooler_probe",
        'CREATE TABLE "pooler_probe" ("id" serial PRIMARY KEY, "lock_timeout" text, "statement_timeout" text);',
    )
    add_migration(
        workspace,
        "pooler_probe_row",
        'INSERT INTO "pooler_probe" ("lock_timeout", "statement_timeout") '
        "VALUES (current_setting('lock_timeout'), current_setting('statement_timeout'));",
    )


def probe_rows(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return [
            (str(a), str(b)) for a, b in conn.execute('select "lock_timeout", "statement_timeout" from pooler_probe')
        ]


def expected_rows(workspace: Path) -> list[tuple[str, int]]:
    return [(m.hash, m.when) for m in load_workspace(workspace).migrations]


def ours(url: str) -> list[str]:
    """What runs left in the database: schemas and relations outside the catalogs (none in a fresh one)."""
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "select 'schema ' || nspname from pg_namespace "
            "where nspname <> 'public' and nspname <> 'information_schema' and nspname !~ '^pg_' "
            "union all select 'relation ' || n.nspname || '.' || c.relname from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname <> 'information_schema' and n.nspname !~ '^pg_' order by 1"
        ).fetchall()
    return [str(row[0]) for row in found]


def index_exists(url: str, name: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select i.indisvalid from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname = %s", [name]
        ).fetchone()
    return bool(row and row[0])


def assert_clean(pgbouncer: Pooler, admin: psycopg.Connection, direct_url: str, defaults: tuple[str, str]) -> None:
    """No advisory lock left in the database, and every pooled server connection at the server's defaults."""
    assert advisory_locks(admin, direct_url) == []
    sessions = pooled_sessions(pgbouncer, direct_url)
    assert [(s.lock_timeout, s.statement_timeout) for s in sessions] == [defaults] * pgbouncer.pool_size, sessions


def assert_no_prepared_statement_errors(*outputs: str) -> None:
    for output in outputs:
        assert "42P05" not in output and "prepared statement" not in output.lower(), output


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


# -- the pooler is real: what depends on a session breaks through it ---------------------------------------------


def test_the_pooler_shares_server_connections_so_session_state_leaks_and_prepared_statements_collide(
    pgbouncer: Pooler, empty_db: str
) -> None:
    """The control: without it the checks below could pass against a pooler that kept sessions."""
    pooled = pgbouncer.url(empty_db)
    with psycopg.connect(pooled, autocommit=True, prepare_threshold=None) as conn:
        conn.execute("set lock_timeout = '7s'")  # a session SET: stays on the server connection, not with us
    sessions = pooled_sessions(pgbouncer, empty_db)
    assert "7s" in [s.lock_timeout for s in sessions]  # the check sees a setting left in the pool
    with psycopg.connect(pooled, autocommit=True, prepare_threshold=None) as conn:
        conn.execute("reset all")
    # psycopg's own prepared statements (threshold 0: prepare at once) collide on a shared server connection
    with pytest.raises(psycopg.Error) as caught:
        for _ in range(pgbouncer.pool_size + 1):
            with psycopg.connect(pooled, autocommit=True, prepare_threshold=0) as conn:
                conn.execute("select %s::int", [1])
    assert caught.value.sqlstate in ("42P05", "26000")  # already exists, or missing on this one


def test_a_pgbouncer_true_url_connects_although_libpq_refuses_the_parameter(pgbouncer: Pooler, empty_db: str) -> None:
    marked = pgbouncer.url(empty_db, pgbouncer="true")
    with pytest.raises(psycopg.ProgrammingError):
        psycopg.connect(marked)  # libpq: invalid URI query parameter "pgbouncer"
    with connection.connect(marked, source="--url") as conn:
        assert conn.execute("select current_database()").fetchone() == (conninfo_to_dict(empty_db)["dbname"],)
    status = run_inv("status", "--url", marked)
    assert status.returncode == 0, status.stderr


# -- the transactional path, through a pooler nobody told us about -----------------------------------------------


@pytest.mark.process
def test_eight_concurrent_migrators_through_the_pooler_apply_each_migration_exactly_once(
    pgbouncer: Pooler,
    pg_server: Server,
    admin: psycopg.Connection,
    databases: Databases,
    workspace_copy: Path,
) -> None:
    add_probe(workspace_copy)
    expected = expected_rows(workspace_copy)
    tags = [m.tag for m in load_workspace(workspace_copy).migrations]
    defaults = server_defaults(pg_server.url)
    for round_ in range(1, ROUNDS + 1):
        direct = databases.create()
        # the staging environment sets lock_timeout 5s and statement_timeout 15min: SET LOCAL in each transaction
        env = {"STAGING_DATABASE_URL": pgbouncer.url(direct)}
        args = ("migrate", "--env", "staging", "--workspace", str(workspace_copy), "--lock-wait", "120", "--json")
        started = [processes.start("inv", *args, env=env) for _ in range(MIGRATORS)]
        procs = [run.result(timeout=300) for run in started]
        outputs = [(proc.stdout, proc.stderr) for proc in procs]
        where = f"round {round_}"
        assert [proc.returncode for proc in procs] == [0] * MIGRATORS, (where, [err for _, err in outputs])
        assert_no_prepared_statement_errors(*(out + err for out, err in outputs))
        applied = [entry["tag"] for out, _ in outputs for entry in json.loads(out)["applied"]]
        assert sorted(applied) == sorted(tags), where  # each migration reported applied by exactly one process
        assert probe_rows(direct) == [("5s", "15min")], where  # one row, inserted under the environment's timeouts
        assert rows(direct) == expected, where  # every row once, in order
        assert_clean(pgbouncer, admin, direct, defaults)


# -- work that needs a session: refused through a recognised pooler, or run on the direct URL ------------------------


def test_a_concurrent_index_through_a_recognised_pooler_is_refused_before_anything_changes(
    pgbouncer: Pooler,
    pg_server: Server,
    admin: psycopg.Connection,
    databases: Databases,
    workspace_copy: Path,
) -> None:
    add_migration(workspace_copy, "display_name_index", CIC)
    direct, reference = databases.create(), databases.create()
    pooled = pgbouncer.url(direct, pgbouncer="true")
    ws = str(workspace_copy)

    refused = run_inv("migrate", "--url", pooled, "--workspace", ws)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr
    [line] = error_lines(refused.stderr)
    assert "0008_display_name_index" in line and "transaction-mode pooler (pgbouncer=true in the URL)" in line
    assert "set $DIRECT_URL" in line and "direct URL" in line
    assert ours(direct) == []  # not even the earlier, transactional migrations of the run, nor the bookkeeping table

    done = run_inv("migrate", "--url", pooled, "--workspace", ws, env={"DIRECT_URL": direct})
    assert done.returncode == 0, done.stderr
    assert run_inv("migrate", "--url", reference, "--workspace", ws).returncode == 0  # a direct run
    assert rows(direct) == rows(reference) == expected_rows(workspace_copy)
    assert index_exists(direct, "users_display_name_idx")
    assert_no_prepared_statement_errors(done.stdout + done.stderr)
    assert_clean(pgbouncer, admin, direct, server_defaults(pg_server.url))


def test_work_that_needs_a_session_through_a_pooler_nothing_marks_is_refused_before_anything_changes(
    pgbouncer: Pooler,
    pg_server: Server,
    admin: psycopg.Connection,
    databases: Databases,
    workspace_copy: Path,
) -> None:
    """No mark on the URL: a second connection must prove it keeps a session; PgBouncer refuses its probe."""
    add_migration(workspace_copy, "display_name_index", CIC)
    direct = databases.create()
    pooled = pgbouncer.url(direct)  # nothing in it says pooler
    ws = str(workspace_copy)

    refused = run_inv("migrate", "--url", pooled, "--workspace", ws)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    [line] = error_lines(refused.stderr)
    assert "migration 0008_display_name_index (it runs outside a transaction) needs a database session" in line
    assert "goes through a connection pooler that keeps none" in line and "as PgBouncer does" in line
    assert "set $DIRECT_URL" in line
    assert ours(direct) == []  # nothing changed, not even the bookkeeping table

    done = run_inv("migrate", "--url", pooled, "--workspace", ws, env={"DIRECT_URL": direct})
    assert done.returncode == 0, done.stderr
    assert_no_prepared_statement_errors(done.stdout + done.stderr)
    assert rows(direct) == expected_rows(workspace_copy)
    assert index_exists(direct, "users_display_name_idx")
    assert_clean(pgbouncer, admin, direct, server_defaults(pg_server.url))


def test_a_direct_url_that_reaches_another_database_is_refused_before_anything_changes(
    pgbouncer: Pooler, databases: Databases, workspace_copy: Path
) -> None:
    add_migration(workspace_copy, "display_name_index", CIC)
    direct, elsewhere = databases.create(), databases.create()
    done = run_inv(
        "migrate", "--url", pgbouncer.url(direct, pgbouncer="true"), "--workspace", str(workspace_copy),
        env={"DIRECT_URL": elsewhere},
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = error_lines(done.stderr)
    assert "the direct URL from $DIRECT_URL does not reach the target's database" in line
    assert ours(direct) == [] and ours(elsewhere) == []


def test_files_with_their_own_commits_through_an_environment_marked_pooler_transaction(
    pgbouncer: Pooler,
    pg_server: Server,
    admin: psycopg.Connection,
    databases: Databases,
    tmp_path: Path,
) -> None:
    """The pooler is declared (`pooler: transaction`), not recognised from the URL; the direct URL's
    variable is the environment's own (`direct_url_env`)."""
    workspace = tmp_path / "own-transactions"
    shutil.copytree(OWN_TRANSACTIONS, workspace)
    config = tmp_path / "pooled.yaml"
    spec = {"url_env": "POOLED_URL", "pooler": "transaction", "direct_url_env": "POOLED_DIRECT_URL"}
    config.write_text(json.dumps({"drizzle_ops": {"environments": {"pooled": spec}}}))  # JSON is YAML
    direct, reference = databases.create(), databases.create()
    args = ("-f", str(config), "migrate", "--env", "pooled", "--workspace", str(workspace))
    env = {"POOLED_URL": pgbouncer.url(direct), "DIRECT_URL": direct}  # DIRECT_URL is not this environment's

    refused = run_inv(*args, env=env)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    [line] = error_lines(refused.stderr)
    assert "0001_last_seen (it manages its own transactions)" in line
    assert "environment pooled says pooler: transaction" in line
    assert "set $POOLED_DIRECT_URL (direct_url_env of environment pooled)" in line
    assert ours(direct) == []

    done = run_inv(*args, env={**env, "POOLED_DIRECT_URL": direct})
    assert done.returncode == 0, done.stderr
    assert run_inv("migrate", "--url", reference, "--workspace", str(workspace)).returncode == 0
    assert rows(direct) == rows(reference) == expected_rows(workspace)
    assert_no_prepared_statement_errors(done.stdout + done.stderr)
    assert_clean(pgbouncer, admin, direct, server_defaults(pg_server.url))


def test_a_down_file_that_needs_a_session_through_a_recognised_pooler(
    pgbouncer: Pooler,
    pg_server: Server,
    admin: psycopg.Connection,
    empty_db: str,
    workspace_copy: Path,
    tmp_path: Path,
) -> None:
    tag = add_migration(workspace_copy, "display_name_index", CIC)
    rollback_dir = tmp_path / "rollback"
    shutil.copytree(ROOT / "sql" / "rollback", rollback_dir)
    (rollback_dir / f"{tag}.down.sql").write_text(DROP_CIC + "\n")
    ws = ("--workspace", str(workspace_copy), "--rollback-dir", str(rollback_dir))
    assert run_inv("migrate", "--url", empty_db, *ws).returncode == 0
    before = rows(empty_db)
    pooled = pgbouncer.url(empty_db, pgbouncer="true")

    refused = run_inv("rollback", "--url", pooled, *ws)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    [line] = error_lines(refused.stderr)
    assert f"{tag}.down.sql" in line and "pgbouncer=true in the URL" in line and "set $DIRECT_URL" in line
    assert rows(empty_db) == before and index_exists(empty_db, "users_display_name_idx")

    done = run_inv("rollback", "--url", pooled, *ws, env={"DIRECT_URL": empty_db})
    assert done.returncode == 0, done.stderr
    assert rows(empty_db) == before[:-1] and not index_exists(empty_db, "users_display_name_idx")
    assert_no_prepared_statement_errors(done.stdout + done.stderr)
    assert_clean(pgbouncer, admin, empty_db, server_defaults(pg_server.url))


def test_a_rollback_whose_direct_url_reaches_another_database_is_refused_before_anything_changes(
    pgbouncer: Pooler, databases: Databases, workspace_copy: Path, tmp_path: Path
) -> None:
    """The newest step is transactional and would run through the pooler; the older one needs the direct URL."""
    tag = add_migration(workspace_copy, "display_name_index", CIC)
    newest = add_migration(workspace_copy, "notes", 'CREATE TABLE "notes" ("id" integer);')
    rollback_dir = tmp_path / "rollback"
    shutil.copytree(ROOT / "sql" / "rollback", rollback_dir)
    (rollback_dir / f"{tag}.down.sql").write_text(DROP_CIC + "\n")
    (rollback_dir / f"{newest}.down.sql").write_text('DROP TABLE "notes";\n')
    ws = ("--workspace", str(workspace_copy), "--rollback-dir", str(rollback_dir))
    direct, elsewhere = databases.create(), databases.create()
    assert run_inv("migrate", "--url", direct, *ws).returncode == 0
    before = rows(direct)
    done = run_inv(
        "rollback", "--url", pgbouncer.url(direct, pgbouncer="true"), *ws, "--steps", "2",
        env={"DIRECT_URL": elsewhere},
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = error_lines(done.stderr)
    assert "the direct URL from $DIRECT_URL does not reach the target's database" in line
    assert rows(direct) == before and "relation public.notes" in ours(direct)
    assert ours(elsewhere) == []


@needs_drizzle_kit
def test_runner_drizzle_through_a_recognised_pooler_holds_its_lock_on_the_direct_url(
    pgbouncer: Pooler,
    pg_server: Server,
    admin: psycopg.Connection,
    empty_db: str,
    migrated_db: str,
    tmp_path: Path,
) -> None:
    ws = str(drizzle_workspace(tmp_path))
    pooled = pgbouncer.url(empty_db, pgbouncer="true")

    refused = run_inv("migrate", "--url", pooled, "--workspace", ws, "--runner", "drizzle")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    [line] = error_lines(refused.stderr)
    assert "migrate --runner drizzle" in line and "pgbouncer=true in the URL" in line and "set $DIRECT_URL" in line
    assert ours(empty_db) == []

    done = run_inv("migrate", "--url", pooled, "--workspace", ws, "--runner", "drizzle", env={"DIRECT_URL": empty_db})
    assert done.returncode == 0, done.stdout + done.stderr
    assert rows(empty_db) == rows(migrated_db)
    assert_no_prepared_statement_errors(done.stdout + done.stderr)
    assert_clean(pgbouncer, admin, empty_db, server_defaults(pg_server.url))


# -- fleets and lock waits through the pooler ------------------------------------------------------------------------


@pytest.mark.process
def test_two_fleet_runs_at_once_through_the_pooler_apply_each_migration_once_per_target(
    pgbouncer: Pooler,
    pg_server: Server,
    admin: psycopg.Connection,
    databases: Databases,
    workspace_copy: Path,
    tmp_path: Path,
) -> None:
    add_probe(workspace_copy)
    expected = expected_rows(workspace_copy)
    directs = [databases.create() for _ in range(4)]
    pooled = [pgbouncer.url(url) for url in directs]
    # the fleet environment declares its pooler; its lock_timeout (3s) is set in every migration's transaction
    config = fleet_config(tmp_path, parallel=4, canary=0, pooler="transaction")
    started = [start_fleet_inv(config, pooled, "migrate", "--json", workspace=workspace_copy) for _ in range(2)]
    runs = [run.result(timeout=300) for run in started]
    outputs = [(proc.stdout, proc.stderr) for proc in runs]
    assert [proc.returncode for proc in runs] == [0, 0], [err for _, err in outputs]
    assert_no_prepared_statement_errors(*(out + err for out, err in outputs))
    documents = [json.loads(out) for out, _ in outputs]
    defaults = server_defaults(pg_server.url)
    for direct, url in zip(directs, pooled, strict=True):
        applied = [tag for document in documents for tag in by_label(document)[label_of(url)]["applied"]]
        assert sorted(applied) == sorted(m.tag for m in load_workspace(workspace_copy).migrations)
        assert rows(direct) == expected
        assert probe_rows(direct) == [("3s", defaults[1])]
        assert_clean(pgbouncer, admin, direct, defaults)


def test_a_lock_wait_through_the_pooler_names_the_holder_and_gives_up_leaving_no_lock(
    pgbouncer: Pooler, pg_server: Server, admin: psycopg.Connection, empty_db: str, workspace_copy: Path
) -> None:
    key = lock_key("drizzle", "__drizzle_migrations")
    pooled = pgbouncer.url(empty_db)
    # another migration's transaction, through the pooler too, holds the lock
    with psycopg.connect(pooled, application_name="deploy-bot", prepare_threshold=None) as holder:
        holder_pid = holder.execute("select pg_backend_pid(), pg_advisory_xact_lock(%s)", [key]).fetchone()[0]  # type: ignore[index]
        done = run_inv("migrate", "--url", pooled, "--workspace", str(workspace_copy), "--lock-wait", "1")
        assert [pid for pid, *_ in advisory_locks(admin, empty_db)] == [holder_pid]  # only the holder's
    assert done.returncode == 1, done.stdout + done.stderr
    [line] = error_lines(done.stderr)
    assert "another migration holds the lock" in line and f"pid {holder_pid} (deploy-bot)" in line
    assert "--lock-wait" in line and "Traceback" not in done.stderr
    assert ours(empty_db) == []  # it gave up before creating anything
    assert_no_prepared_statement_errors(done.stdout + done.stderr)
    assert_clean(pgbouncer, admin, empty_db, server_defaults(pg_server.url))
