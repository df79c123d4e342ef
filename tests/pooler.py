"""A real PgBouncer in transaction mode in front of the session's test server (tests only).

It uses the distribution's ``pgbouncer`` (Debian: ``apt-get install pgbouncer``; ``.ci/run`` installs
it). Clients log in as the server's user without a password (``auth_type = trust``); PgBouncer logs
in to the server with the server's own credentials. The pool is small (``POOL_SIZE`` server
connections per database), so concurrent clients really do share server connections, and each
transaction may run on another one: what a transaction-mode pooler does to every session.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from drizzle_ops.disposable.base import free_port

NO_PGBOUNCER = "pgbouncer is not installed: install the pgbouncer package (apt-get install pgbouncer; .ci/run does)"
POOL_SIZE = 4  # server connections per database: fewer than the concurrent clients the tests start
STARTUP_SECONDS = 15


def pgbouncer_binary() -> str | None:
    """The pgbouncer program: on PATH, or where Debian puts it (/usr/sbin, not on an ordinary user's PATH)."""
    found = shutil.which("pgbouncer")
    if found:
        return found
    debian = Path("/usr/sbin/pgbouncer")
    return str(debian) if debian.is_file() else None


@dataclass
class Pooler:
    """A running PgBouncer: where it listens, and what it forwards to."""

    process: subprocess.Popen[bytes]
    base: Path  # its config, auth file, log and pid file
    port: int
    server_url: str  # the server it pools, reached directly
    pool_size: int = POOL_SIZE

    def url(self, direct_url: str, **query: str) -> str:
        """``direct_url``'s database through the pooler (its user, no password: PgBouncer trusts it)."""
        params = conninfo_to_dict(direct_url)
        user = params.get("user") or "postgres"
        tail = "&".join(f"{key}={value}" for key, value in query.items())
        return f"postgresql://{user}@127.0.0.1:{self.port}/{params.get('dbname') or 'postgres'}" + (
            f"?{tail}" if tail else ""
        )

    def log(self) -> str:
        """What it logged: its logfile, or what it said on stderr before it could open one."""
        for name in ("pgbouncer.log", "stderr.log"):
            path = self.base / name
            if path.exists() and path.read_text(errors="replace").strip():
                return path.read_text(errors="replace")
        return ""


def start(server_url: str, *, pool_size: int = POOL_SIZE) -> Pooler:
    """Start PgBouncer in front of ``server_url``'s server, on a free port; returns once it answers."""
    binary = pgbouncer_binary()
    if binary is None:
        raise RuntimeError(NO_PGBOUNCER)
    params = conninfo_to_dict(server_url)
    user = str(params.get("user") or "postgres")
    base = Path(tempfile.mkdtemp(prefix="drizzle-ops-pgbouncer-"))
    run_as = _unprivileged_user()
    failures: list[str] = []
    for _ in range(3):  # a free port can be taken between choosing it and PgBouncer binding it
        port = free_port()
        _write_config(base, params, user, port, pool_size)
        if run_as:
            entry = pwd.getpwnam(run_as)
            for path in [base, *base.iterdir()]:
                os.chown(path, entry.pw_uid, entry.pw_gid)
        argv = [binary, *(["-u", run_as] if run_as else []), str(base / "pgbouncer.ini")]
        with (base / "stderr.log").open("wb") as stderr:  # it logs to its logfile and to stderr: keep the test output
            process = subprocess.Popen(
                argv, cwd=base, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
            )
        pooler = Pooler(process, base, port, server_url, pool_size)
        if _wait_until_ready(pooler):
            return pooler
        failures.append((pooler.log().strip().splitlines() or ["no log"])[-1])
        _stop_process(process)
    shutil.rmtree(base, ignore_errors=True)
    raise RuntimeError(f"pgbouncer did not start: {' | '.join(failures)}")


def stop(pooler: Pooler) -> None:
    _stop_process(pooler.process)
    shutil.rmtree(pooler.base, ignore_errors=True)


@contextlib.contextmanager
def running(server_url: str, *, pool_size: int = POOL_SIZE) -> Iterator[Pooler]:
    pooler = start(server_url, pool_size=pool_size)
    try:
        yield pooler
    finally:
        stop(pooler)


def _unprivileged_user() -> str | None:
    """PgBouncer refuses to run as root: as root it runs as postgres (or nobody), as initdb does."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and no unprivileged user (postgres, nobody) exists for pgbouncer")


def _quoted(value: object) -> str:
    """A value in PgBouncer's connection string: single-quoted, quotes and backslashes escaped."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _write_config(base: Path, params: Mapping[str, object], user: str, port: int, pool_size: int) -> None:
    server = " ".join(
        f"{key}={_quoted(params[key])}" for key in ("host", "port", "user", "password") if params.get(key) is not None
    )
    (base / "users.txt").write_text(f'"{user}" ""\n')
    (base / "pgbouncer.ini").write_text(
        "\n".join(
            [
                "[databases]",
                f"* = {server}",
                "",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {base / 'users.txt'}",
                f"admin_users = {user}",
                "pool_mode = transaction",
                f"default_pool_size = {pool_size}",
                "min_pool_size = 0",
                "reserve_pool_size = 0",
                "max_client_conn = 500",
                f"logfile = {base / 'pgbouncer.log'}",
                f"pidfile = {base / 'pgbouncer.pid'}",
                "",
            ]
        )
    )


def _wait_until_ready(pooler: Pooler) -> bool:
    deadline = time.monotonic() + STARTUP_SECONDS
    url = pooler.url(pooler.server_url)
    while time.monotonic() < deadline:
        if pooler.process.poll() is not None:
            return False
        try:
            with psycopg.connect(url, connect_timeout=2, autocommit=True, prepare_threshold=None) as conn:
                conn.execute("select 1")
            return True
        except psycopg.Error:
            time.sleep(0.1)
    return False


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()  # SIGTERM: PgBouncer closes every connection and exits
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# -- what the tests check on every server connection the pooler holds ---------------------------------------------


@dataclass(frozen=True)
class PooledSession:
    pid: int
    lock_timeout: str
    statement_timeout: str


def server_defaults(server_url: str) -> tuple[str, str]:
    """lock_timeout and statement_timeout as a new direct session starts with them."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        row = conn.execute("select current_setting('lock_timeout'), current_setting('statement_timeout')").fetchone()
    assert row is not None
    return str(row[0]), str(row[1])


def pooled_sessions(pooler: Pooler, direct_url: str, *, settle_seconds: float = 10) -> list[PooledSession]:
    """The settings of EVERY server connection PgBouncer holds for ``direct_url``'s database.

    As many clients as the pool has room for each hold a transaction, so each is given a server
    connection of its own; their pids must then be every backend of that database in
    pg_stat_activity (apart from the direct connection that asks). Backends of direct connections
    that just closed may linger for a moment: they are waited for, up to ``settle_seconds``.
    """
    dbname = str(conninfo_to_dict(direct_url).get("dbname"))
    pooled_url = pooler.url(direct_url)
    with contextlib.ExitStack() as stack:
        found: list[PooledSession] = []
        for _ in range(pooler.pool_size):
            conn = stack.enter_context(psycopg.connect(pooled_url, prepare_threshold=None))  # a transaction is open
            row = conn.execute(
                "select pg_backend_pid(), current_setting('lock_timeout'), current_setting('statement_timeout')"
            ).fetchone()
            assert row is not None
            found.append(PooledSession(int(row[0]), str(row[1]), str(row[2])))
        seen = {session.pid for session in found}
        assert len(seen) == pooler.pool_size, f"clients holding a transaction shared a server connection: {found}"
        with psycopg.connect(direct_url, autocommit=True) as direct:
            deadline = time.monotonic() + settle_seconds
            while True:
                backends = _backends(direct, dbname)
                if backends <= seen or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        assert backends == seen, f"backends of {dbname} not reached through the pooler: {sorted(backends - seen)}"
        return found


def _backends(conn: psycopg.Connection, dbname: str) -> set[int]:
    rows = conn.execute(
        "select pid from pg_stat_activity where datname = %s and backend_type = 'client backend' "
        "and pid <> pg_backend_pid()",
        [dbname],
    ).fetchall()
    return {int(row[0]) for row in rows}


def advisory_locks(admin: psycopg.Connection, direct_url: str) -> list[tuple[object, ...]]:
    """Every advisory lock held or awaited in ``direct_url``'s database (pg_locks, from a direct connection)."""
    dbname = str(conninfo_to_dict(direct_url).get("dbname"))
    return admin.execute(
        "select l.pid, l.classid, l.objid, l.mode, l.granted from pg_locks l "
        "join pg_database d on d.oid = l.database where l.locktype = 'advisory' and d.datname = %s",
        [dbname],
    ).fetchall()
