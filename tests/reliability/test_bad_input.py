"""A corpus of bad input: each case gets its one-line message and exit code, and the database is unchanged.

Each case runs the real `inv` against a database where half the migrations are
applied, so a change of any kind would show in the bookkeeping rows or catalog.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from drizzle_ops.engine import runner
from drizzle_ops.engine.states import PlanOptions
from drizzle_ops.engine.workspace import load_workspace
from tests.helpers import EXAMPLE, rows, run_inv_process, url_for
from tests.reliability.catalog import fingerprint

HALF = "0003_gallery_images"


@dataclass
class Case:
    args: list[str]
    code: int
    message: str
    prepare: Callable[[Path, str], dict[str, str] | None] = field(default=lambda ws, url: None)


def edit(relative: str, change: Callable[[str], str]) -> Callable[[Path, str], None]:
    def prepare(ws: Path, url: str) -> None:
        path = ws / relative
        path.write_text(change(path.read_text()))

    return prepare


def write_bytes(relative: str, data: bytes) -> Callable[[Path, str], None]:
    def prepare(ws: Path, url: str) -> None:
        (ws / relative).write_bytes(data)

    return prepare


def remove(relative: str) -> Callable[[Path, str], None]:
    def prepare(ws: Path, url: str) -> None:
        (ws / relative).unlink()

    return prepare


def journal_edit(change: Callable[[dict], None]) -> Callable[[Path, str], None]:
    def prepare(ws: Path, url: str) -> None:
        path = ws / "drizzle/meta/_journal.json"
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data))

    return prepare


def env(**values: str) -> Callable[[Path, str], dict[str, str]]:
    return lambda ws, url: values


J = "drizzle/meta/_journal.json"
S5 = "drizzle/meta/0005_snapshot.json"
M5 = "drizzle/0005_backfill_display_names.sql"

CASES: dict[str, Case] = {
    "malformed journal": Case(["migrate"], 2, "_journal.json is not valid JSON", write_bytes(J, b'{"entries": [')),
    "journal without entries": Case(["status"], 2, "has no `entries` list", write_bytes(J, b'{"version": "7"}')),
    "journal entry without tag": Case(
        ["migrate"], 2, "entry 1 needs integer", journal_edit(lambda d: d["entries"][1].pop("tag"))
    ),
    # drizzle-kit applies these, so they are warnings; --strict makes them fail before anything runs
    "duplicate when, strict": Case(
        ["migrate", "--strict"],
        1,
        "have the same journal `when`",
        journal_edit(lambda d: d["entries"][6].update(when=d["entries"][5]["when"])),
    ),
    "malformed snapshot": Case(["verify"], 2, "0005_snapshot.json is not valid JSON", write_bytes(S5, b"{")),
    "broken snapshot chain, strict": Case(
        ["verify", "--strict"], 1, "chain is broken", edit(S5, lambda t: t.replace('"prevId": "', '"prevId": "x', 1))
    ),
    "missing SQL file": Case(["migrate"], 2, "0005_backfill_display_names.sql is missing", remove(M5)),
    "missing snapshot, strict": Case(
        ["migrate", "--strict"], 1, "have no snapshot, first 0005_backfill_display_names", remove(S5)
    ),
    "invalid UTF-8": Case(["migrate"], 2, "is not valid UTF-8", write_bytes(M5, b"SELECT '\xc3\x28';")),
    "tag with a path": Case(
        ["status"], 2, "invalid tag", journal_edit(lambda d: d["entries"][7].update(tag="../../etc/passwd"))
    ),
    "no config": Case(["status"], 2, "no drizzle.config.ts", remove("drizzle.config.ts")),
    "config not static": Case(
        ["migrate"],
        2,
        "set drizzle_ops.out",
        edit("drizzle.config.ts", lambda t: t.replace('out: "./drizzle"', "out: process.env.OUT")),
    ),
    "mysql workspace": Case(
        ["migrate"],
        2,
        "supports only postgresql",
        edit("drizzle.config.ts", lambda t: t.replace('"postgresql"', '"mysql"')),
    ),
    "edited after apply": Case(
        ["migrate"],
        2,
        "0001_moc_instructions changed after being applied",
        edit("drizzle/0001_moc_instructions.sql", lambda t: t + "\n-- edited\n"),
    ),
    "unknown --to tag": Case(["migrate", "--to", "0042_nope"], 2, "no migration tagged '0042_nope'"),
    "unknown environment": Case(["status", "--env", "qa"], 2, "--env 'qa': choose an environment invoke.yaml declares"),
    "environment variable unset": Case(["migrate", "--env", "staging"], 2, "$STAGING_DATABASE_URL, which is not set"),
    "protected without --yes": Case(
        ["migrate", "--env", "production"],
        2,
        "protected environment: migrate needs --yes",
        env(PRODUCTION_DATABASE_URL="postgresql://u:p@127.0.0.1:1/db"),
    ),
    "negative lock wait": Case(
        ["migrate", "--lock-wait", "-1"], 2, "--lock-wait '-1': give a number of seconds, 0 or more"
    ),
    "malformed URL": Case(["migrate", "--url", "postgresql://u:pw@host:port/db"], 2, "is malformed"),
    "not a postgres URL": Case(["status", "--url", "mysql://u:pw@h/db"], 2, "is not a postgresql:// URL"),
    "unknown provider": Case(["db.up", "--provider", "podman"], 2, "--provider 'podman': choose one of auto"),
    "missing workspace": Case(["status", "--workspace", "/nonexistent/ws"], 2, "does not exist"),
}

# cases that need the live server: (args built from the URL, code, message)
SERVER_CASES = [
    "wrong password",
    "database does not exist",
    "unreachable host",
    "permission denied",
    "read-only database",
    "refused connection",
]


@pytest.fixture
def half_migrated(databases) -> str:  # type: ignore[no-untyped-def]
    url = databases.create()
    with psycopg.connect(url, autocommit=True) as conn:
        runner.migrate(conn, load_workspace(EXAMPLE), PlanOptions(to=HALF))
    return url


def assert_one_clean_line(proc, code: int, message: str) -> None:  # type: ignore[no-untyped-def]
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert message in errors[0]


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name: str, half_migrated: str, workspace_copy: Path) -> None:
    case = CASES[name]
    before_rows, before_schema = rows(half_migrated), fingerprint(half_migrated)
    extra_env = case.prepare(workspace_copy, half_migrated) or {}
    args = list(case.args)
    if args[0] != "db.up":
        if "--workspace" not in args:
            args += ["--workspace", str(workspace_copy)]
        if "--url" not in args and "--env" not in args:
            args += ["--url", half_migrated]
    proc = run_inv_process(*args, env=extra_env)
    assert_one_clean_line(proc, case.code, case.message)
    assert rows(half_migrated) == before_rows and fingerprint(half_migrated) == before_schema


def _silent_server() -> tuple[int, threading.Event]:
    """A TCP port that accepts connections and never answers: a host that hangs."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    stop = threading.Event()

    def hold() -> None:
        held = []
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue
        for conn in held:
            conn.close()
        sock.close()

    threading.Thread(target=hold, daemon=True).start()
    return sock.getsockname()[1], stop


@pytest.mark.parametrize("name", SERVER_CASES)
def test_server_side_failures(name: str, half_migrated: str, admin: psycopg.Connection, pg_server) -> None:  # type: ignore[no-untyped-def]
    before_rows, before_schema = rows(half_migrated), fingerprint(half_migrated)
    dbname = conninfo_to_dict(half_migrated)["dbname"]
    started = time.monotonic()
    if name == "wrong password":
        url = half_migrated.replace(conninfo_to_dict(half_migrated)["password"], "wrong-Pa55")
        code, message = 1, "password authentication failed"
    elif name == "database does not exist":
        url = url_for(pg_server.url, "no_such_db")
        code, message = 1, 'database "no_such_db" does not exist'
    elif name == "refused connection":
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()  # nothing listens there now
        url, code, message = f"postgresql://u:p@127.0.0.1:{port}/db", 1, "Connection refused"
    elif name == "unreachable host":
        port, stop = _silent_server()
        url, code, message = f"postgresql://u:p@127.0.0.1:{port}/db?connect_timeout=2", 1, "timeout"
    elif name == "permission denied":
        role = f"limited_{uuid.uuid4().hex[:8]}"
        admin.execute(sql.SQL("create role {} login password 'limited-pw'").format(sql.Identifier(role)))
        admin.execute(
            sql.SQL("grant connect on database {} to {}").format(sql.Identifier(dbname), sql.Identifier(role))
        )
        params = conninfo_to_dict(half_migrated)
        url = f"postgresql://{role}:limited-pw@{params['host']}:{params['port']}/{dbname}"
        code, message = 1, "permission denied"
    else:  # read-only database, as on a standby
        admin.execute(
            sql.SQL("alter database {} set default_transaction_read_only = on").format(sql.Identifier(dbname))
        )
        url, code, message = half_migrated, 1, "read-only transaction"
    try:
        proc = run_inv_process("migrate", "--url", url)
    finally:
        if name == "unreachable host":
            stop.set()
        if name == "read-only database":
            admin.execute(
                sql.SQL("alter database {} reset default_transaction_read_only").format(sql.Identifier(dbname))
            )
    assert_one_clean_line(proc, code, message)
    if name == "unreachable host":
        assert time.monotonic() - started < 10  # gave up at the connect timeout, not never
    assert rows(half_migrated) == before_rows and fingerprint(half_migrated) == before_schema
