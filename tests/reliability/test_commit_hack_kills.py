"""SIGKILL at every statement of the "COMMIT hack" migration, and a server restart in the middle of it.

The fixture history own-transactions ends with 0003_rebuild_org_email_unique: COMMIT; CREATE UNIQUE
INDEX CONCURRENTLY; BEGIN; DROP CONSTRAINT; COMMIT; DROP INDEX CONCURRENTLY; BEGIN; ADD CONSTRAINT
… USING INDEX; and the bookkeeping row goes into the transaction the file leaves open. A real
`inv migrate` runs it through a proxy of ours (wire_proxy.py) that SIGKILLs the process exactly at
one message: before a statement reaches the server, or after it did but before its answer came
back; likewise at the COMMIT that carries the row. After each kill, once the server has no backend
left from that run: nothing is recorded that did not commit, no lock is held, and the schema is
what the statements before the kill point leave (the killed one too, when it reached the server).
Then `inv migrate` again, directly: it completes with drizzle-kit's rows and catalog.

Every case starts from a clone of one database migrated to 0002, with rows in accounts so the
index builds have work.
"""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import pq, sql
from psycopg.conninfo import conninfo_to_dict

from drizzle_ops.disposable.base import Server
from drizzle_ops.disposable.local import LocalProvider
from drizzle_ops.engine import runner
from drizzle_ops.engine.states import PlanOptions
from drizzle_ops.engine.workspace import load_workspace
from tests.helpers import NO_DRIZZLE_KIT, only_with_backend, requires, rows, run_inv_process, url_for
from tests.integration.test_histories import DRIZZLE_KIT_BIN, FIXTURES, case_named, drizzle_migrate, fixture_copy
from tests.integration.test_roundtrip import catalog
from tests.reliability.catalog import fingerprint
from tests.reliability.test_concurrency_and_crashes import spawn_migrate
from tests.reliability.wire_proxy import KillingProxy, Message, Trigger, When

pytestmark = [pytest.mark.drizzle, requires(DRIZZLE_KIT_BIN.exists, NO_DRIZZLE_KIT)]

CASE = case_named("own-transactions")
BEFORE_HACK = "0002_lowercase_emails"
HACK = load_workspace(FIXTURES / CASE.name).migrations[-1]
assert HACK.tag == "0003_rebuild_org_email_unique"
STATEMENTS = HACK.statements
CONCURRENT = {s.number for s in STATEMENTS if "CONCURRENTLY" in s.sql}  # a kill may leave these half done
ACCOUNTS = 20_000  # rows in accounts: the index builds take some milliseconds

INDEX_STATE = """
select 'index ' || c.relname || ' valid=' || i.indisvalid::text || ' ' || pg_get_indexdef(i.indexrelid)
  from pg_index i join pg_class c on c.oid = i.indexrelid
 where c.relnamespace = 'public'::regnamespace
 order by 1
"""


def state(url: str) -> tuple[str, ...]:
    """The user schema (tests/reliability/catalog.py), plus each index's validity and definition."""
    with psycopg.connect(url, autocommit=True) as conn:
        indexes = [r[0] for r in conn.execute(INDEX_STATE).fetchall()]
    return tuple(fingerprint(url) + indexes)


# -- where to kill -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KillPoint:
    statement: int | None  # a statement of the hack file (1-based); None: the COMMIT carrying the bookkeeping row
    when: When

    def __str__(self) -> str:
        at = f"statement{self.statement}" if self.statement else "row-commit"
        return f"{self.when}-{at}"

    def trigger(self) -> Trigger:
        return StatementTrigger(self.statement) if self.statement else RowCommitTrigger()


class StatementTrigger:
    """The Query message carrying statement ``number``: its text, counted among the file's statements with the
    same text (COMMIT; and BEGIN; each come twice). The engine's own commands never send those exact texts."""

    def __init__(self, number: int) -> None:
        self.text = STATEMENTS[number - 1].sql
        self.occurrence = sum(1 for s in STATEMENTS[:number] if s.sql == self.text)
        self.seen = 0

    def __call__(self, message: Message) -> bool:
        if message.kind == "Q" and message.text == self.text:
            self.seen += 1
            return self.seen == self.occurrence
        return False


class RowCommitTrigger:
    """The first Query starting with COMMIT after the bookkeeping insert was sent (alone or with the row check)."""

    def __init__(self) -> None:
        self.inserted = False

    def __call__(self, message: Message) -> bool:
        text = message.text.lstrip().lower()
        if "insert into" in text and "__drizzle_migrations" in text:
            self.inserted = True
            return False
        return self.inserted and message.kind == "Q" and text.startswith("commit")


POINTS = [KillPoint(s.number, when) for s in STATEMENTS for when in When] + [KillPoint(None, when) for when in When]


# -- the world every case starts from ----------------------------------------------------------------------


@dataclass
class Hack:
    workspace: Path  # the fixture, with node_modules linked in
    template: str  # a database migrated to 0002, with rows in accounts
    prefixes: list[tuple[str, ...]]  # prefixes[k]: the state after statements 1..k, an open transaction rolled back
    interrupted: dict[int, tuple[str, ...]]  # a CONCURRENTLY statement stopped while it ran: what it leaves
    done: tuple[str, ...]  # the whole file committed
    theirs_rows: list[tuple[str, int]]  # drizzle-kit's rows for the whole history
    theirs_catalog: list[str]

    def allowed(self, point: KillPoint) -> dict[tuple[str, ...], str]:
        """The states the kill point may leave: the statements before it; with AFTER, the killed one too, done or
        stopped half way (what a prefix of the file can leave). Each with a label for the failure message."""
        last = point.statement - 1 if point.statement else len(STATEMENTS)
        states = {self.prefixes[last]: _run_up_to(last)}
        if point.when is When.AFTER and point.statement:
            states.setdefault(self.prefixes[point.statement], _run_up_to(point.statement))
            if point.statement in self.interrupted:
                states[self.interrupted[point.statement]] = f"statement {point.statement} stopped half way"
        return states


def _run_up_to(count: int) -> str:
    return "none of the file" if count == 0 else f"statements 1-{count}" if count > 1 else "statement 1"


def _create(admin: psycopg.Connection, template: str | None = None) -> str:
    name = f"hack_{uuid.uuid4().hex[:10]}"
    query = sql.SQL("create database {}").format(sql.Identifier(name))
    if template:
        query = sql.SQL("create database {} template {}").format(sql.Identifier(name), sql.Identifier(template))
    admin.execute(query)
    return name


def _drop(admin: psycopg.Connection, name: str) -> None:
    admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def migrated_to_0002(url: str, workspace: Path) -> None:
    """The history up to 0002 (our runner, in process: this is set-up), then rows for the index builds."""
    with psycopg.connect(url, autocommit=True) as conn:
        runner.migrate(conn, load_workspace(workspace), PlanOptions(to=BEFORE_HACK))
        conn.execute(
            "insert into accounts (org_id, email) "
            "select g %% 50, 'user' || g || '@example.com' from generate_series(1, %s) g",
            [ACCOUNTS],
        )


def run_prefix(url: str, count: int) -> None:
    """Statements 1..count of the hack file, as sent by a client that then goes away (an open transaction is lost)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in STATEMENTS[:count]:
            conn.execute(statement.sql)
        if conn.info.transaction_status != pq.TransactionStatus.IDLE:
            conn.execute("ROLLBACK")  # as the server does for a client gone (the block's end would commit it)


def create_index_interrupted(url: str, number: int) -> None:
    """Statement ``number`` (CREATE INDEX CONCURRENTLY) stopped while it waits for a writer: its invalid index."""
    with psycopg.connect(url) as writer, psycopg.connect(url, autocommit=True) as conn:
        writer.execute("lock table accounts in row exclusive mode")  # held until the end: the build waits for it
        run_prefix(url, number - 1)
        conn.execute("set statement_timeout = '300ms'")
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute(STATEMENTS[number - 1].sql)


@pytest.fixture(scope="module")
def hack(admin: psycopg.Connection, pg_server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hack]:
    tmp = tmp_path_factory.mktemp("commit-hack")
    workspace = fixture_copy(CASE, tmp)
    made: list[str] = []

    def database(template: str | None = None) -> str:
        made.append(_create(admin, template))
        return url_for(pg_server.url, made[-1])

    try:
        theirs = database()
        drizzle_migrate(fixture_copy(CASE, tmp / "drizzle-kit"), theirs)  # real drizzle-kit 0.31.11, whole history
        migrated_to_0002(database(), workspace)
        template = made[-1]
        prefixes = []
        for count in range(len(STATEMENTS) + 1):
            url = database(template)
            run_prefix(url, count)
            prefixes.append(state(url))
        interrupted = {}
        for number in sorted(CONCURRENT):
            if STATEMENTS[number - 1].sql.lstrip().upper().startswith("CREATE"):
                url = database(template)
                create_index_interrupted(url, number)
                interrupted[number] = state(url)
        url = database(template)
        with psycopg.connect(url, autocommit=True) as conn:
            for statement in STATEMENTS:
                conn.execute(statement.sql)
            conn.execute("COMMIT")
        done = state(url)
        yield Hack(workspace, template, prefixes, interrupted, done, rows(theirs), catalog(theirs))
    finally:
        for name in made:
            _drop(admin, name)


# -- checks ------------------------------------------------------------------------------------------------


def proxied(url: str, port: int) -> str:
    """``url`` through the proxy on ``port``, unencrypted so the proxy can read the messages."""
    params = conninfo_to_dict(url)
    user = quote(str(params["user"]), safe="")
    password = f":{quote(str(params['password']), safe='')}" if params.get("password") else ""
    return f"postgresql://{user}{password}@127.0.0.1:{port}/{params['dbname']}?sslmode=disable&gssencmode=disable"


def wait_for_backends_to_end(admin: psycopg.Connection, ports: list[int], timeout: float = 60) -> None:
    """Until the server has no backend left on the killed run's connections (a running statement may finish first)."""
    deadline = time.monotonic() + timeout
    while True:
        left = admin.execute(
            "select pid, state, left(query, 80) from pg_stat_activity where client_port = any(%s)", [ports]
        ).fetchall()
        if not left:
            return
        assert time.monotonic() < deadline, f"backends of the killed run still there after {timeout:g}s: {left}"
        time.sleep(0.02)


def advisory_locks(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "select l.pid, l.mode from pg_locks l where l.locktype = 'advisory' "
            "and l.database = (select oid from pg_database where datname = current_database())"
        ).fetchall()


def rebuilt_constraint(url: str) -> list[tuple[str, str, bool, bool]]:
    """accounts_org_email_unique: its definition, its index, and whether that index is valid and unique."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "select pg_get_constraintdef(k.oid), k.conindid::regclass::text, i.indisvalid, i.indisunique "
            "from pg_constraint k join pg_index i on i.indexrelid = k.conindid "
            "where k.conrelid = 'public.accounts'::regclass and k.conname = 'accounts_org_email_unique'"
        ).fetchall()


REBUILT = [("UNIQUE (org_id, email)", "accounts_org_email_unique", True, True)]


def invalid_indexes(url: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [r[0] for r in conn.execute("select indexrelid::regclass::text from pg_index where not indisvalid")]


def differences(now: tuple[str, ...], allowed: dict[tuple[str, ...], str]) -> str:
    """How ``now`` differs from each allowed state, for the failure message."""
    return "\n".join(
        f"from {label}: has {sorted(set(now) - set(state))}, lacks {sorted(set(state) - set(now))}"
        for state, label in allowed.items()
    )


def said(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"


def assert_rerun_completes(url: str, hack: Hack) -> subprocess.CompletedProcess[str]:
    again = run_inv_process("migrate", "--url", url, "--workspace", str(hack.workspace))
    assert again.returncode == 0, said(again)
    assert rows(url) == hack.theirs_rows  # 0003 recorded exactly once, as drizzle-kit records it
    assert rebuilt_constraint(url) == REBUILT
    assert invalid_indexes(url) == []
    assert catalog(url) == hack.theirs_catalog
    assert advisory_locks(url) == []
    return again


# -- the cases ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("point", POINTS, ids=str)
def test_sigkill_at_each_statement_of_the_commit_hack_then_a_rerun_completes(
    point: KillPoint, hack: Hack, databases, admin: psycopg.Connection, pg_server: Server
) -> None:  # type: ignore[no-untyped-def]
    url = databases.create(template=hack.template)
    server = conninfo_to_dict(pg_server.url)
    proxy = KillingProxy(
        (str(server.get("host", "127.0.0.1")), int(str(server.get("port", 5432)))), point.trigger(), point.when
    )
    try:
        proc = spawn_migrate(proxied(url, proxy.port), hack.workspace)
        try:
            proxy.aim(proc.pid)
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:  # it never reached the kill point and hangs: not left behind
                proc.kill()
    finally:
        proxy.close()
    assert proxy.fired.is_set(), f"the run never reached {point}: exit {proc.returncode}\n{out}\n{err}"
    assert proc.returncode == -signal.SIGKILL
    assert proxy.server_ports, "the killed run never connected through the proxy"
    wait_for_backends_to_end(admin, proxy.server_ports)

    recorded = rows(url)
    now = state(url)
    if recorded == hack.theirs_rows:  # recorded: then everything of it committed
        assert rebuilt_constraint(url) == REBUILT
        assert now == hack.done
        assert point == KillPoint(None, When.AFTER), f"{point}: recorded before its row's COMMIT reached the server"
    else:
        assert recorded == hack.theirs_rows[:-1], recorded  # 0003 not recorded, nothing else changed
        allowed = hack.allowed(point)
        assert now in allowed, f"{point} left a state no prefix of the file leaves:\n{differences(now, allowed)}"
        assert point != KillPoint(None, When.AFTER), "the row's COMMIT reached the server, yet 0003 is not recorded"
    assert advisory_locks(url) == []

    assert_rerun_completes(url, hack)


@only_with_backend("local", reason="restarts a PostgreSQL server of its own with pg_ctl (the local backend)")
def test_server_restart_during_the_concurrent_index_build(hack: Hack, request: pytest.FixtureRequest) -> None:
    """pg_ctl restart while statement 2 (CREATE UNIQUE INDEX CONCURRENTLY) waits for a writer's transaction."""
    provider = LocalProvider()
    own = provider.up(major=request.config.getoption("--pg"))
    try:
        with psycopg.connect(own.url, autocommit=True) as admin:
            url = url_for(own.url, _create(admin))
        migrated_to_0002(url, hack.workspace)
        writer = psycopg.connect(url)
        writer.execute("lock table accounts in row exclusive mode")  # the index build waits for this transaction
        proc = spawn_migrate(url, hack.workspace)
        try:
            wait_for_index_build_to_wait(url, proc)
            restart(own)
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
            with suppress(psycopg.Error):
                writer.close()
        done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        assert proc.returncode == 1, said(done)
        assert "Traceback" not in err, said(done)
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, said(done)
        report = errors[0]
        assert f"{HACK.tag} failed at statement 2" in report, said(done)
        assert rows(url) == hack.theirs_rows[:-1]  # nothing recorded
        left = state(url)
        allowed = {hack.prefixes[1]: _run_up_to(1), hack.interrupted[2]: "statement 2 stopped half way"}
        assert left in allowed, f"the restart left a state no prefix of the file leaves:\n{differences(left, allowed)}"
        assert advisory_locks(url) == []
        again = assert_rerun_completes(url, hack)
        if left == hack.interrupted[2]:
            assert "dropping invalid index accounts_org_email_unique_new" in again.stderr, said(again)

        # last, so that a report short of the truth does not hide how the rest behaves
        if left == hack.prefixes[1]:
            assert f"nothing of {HACK.tag} was committed" in report, said(done)
        else:  # the build's first transaction committed the index's catalog entry: an invalid index stays
            assert "accounts_org_email_unique_new" in report, f"the report does not say what stays:\n{said(done)}"
    finally:
        provider.down(own)


def wait_for_index_build_to_wait(url: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """Until the migrator's CREATE INDEX CONCURRENTLY is running and waiting on a lock."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            waiting = conn.execute(
                "select 1 from pg_stat_activity where application_name = 'drizzle-ops' and state = 'active' "
                "and query like '%CREATE UNIQUE INDEX CONCURRENTLY%' and wait_event_type = 'Lock'"
            ).fetchone()
            if waiting:
                return
            assert proc.poll() is None, f"the migrator ended first: {proc.communicate()}"
            assert time.monotonic() < deadline, "the index build never started waiting"
            time.sleep(0.02)


def restart(server: Server) -> None:
    """The local backend's restart: pg_ctl restart (fast: running statements are cancelled, sessions ended)."""
    base = Path(server.details["base_dir"])
    done = subprocess.run(
        [
            str(Path(server.details["bin_dir"]) / "pg_ctl"),
            *("-D", str(base / "data"), "-l", str(base / "server.log"), "-m", "fast", "-w", "-t", "60", "restart"),
        ],
        user=server.details.get("user"),
        cwd=base,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"pg_ctl restart failed: {done.stderr}"
