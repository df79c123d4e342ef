"""A migration in two round trips (its statements and row in one query, then COMMIT), reporting as one by one.

Every failure is run twice, on two fresh databases: the way migrate sends it now, and
statement by statement (what it did before, kept for what cannot be sent together). The
error (tag, statement, file:line, SQLSTATE, message, detail, hint), the bookkeeping rows
and the schema left behind must be the same.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from drizzle_ops.engine import batching, one_transaction, runner
from drizzle_ops.engine.runner import ExecutionPolicy
from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.errors import MigrationFailed
from tests.helpers import EXAMPLE, ROOT, add_migration, rows

V1_EXAMPLE = ROOT / "examples" / "drizzle-v1"


def connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True)


def tables(url: str) -> list[str]:
    with connect(url) as conn:
        return sorted(r[0] for r in conn.execute("select tablename from pg_tables where schemaname = 'public'"))


@contextmanager
def counting_queries(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """Every query that travels through batching.exchange (one round trip each)."""
    sent: list[bytes] = []
    exchange = batching.exchange

    def counted(conn: psycopg.Connection, query: bytes) -> batching.Exchange:
        sent.append(query)
        return exchange(conn, query)

    with monkeypatch.context() as patch:
        patch.setattr(batching, "exchange", counted)
        yield sent


@contextmanager
def one_by_one(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Statement by statement, as before: no server is new enough to get several statements in one query."""
    with monkeypatch.context() as patch:
        patch.setattr(one_transaction, "BATCHING_SINCE", 10**9)
        yield


def migrate(url: str, workspace_path: Path, policy: ExecutionPolicy | None = None) -> BaseException | None:
    with connect(url) as conn:
        try:
            runner.migrate(conn, load_workspace(workspace_path), policy=policy)
        except (MigrationFailed, psycopg.Error) as exc:
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE  # nothing left open
            return exc
    return None


def report(exc: BaseException | None) -> Any:
    if isinstance(exc, MigrationFailed):
        return (type(exc).__name__, str(exc), exc.as_dict(), exc.partial)
    return (type(exc).__name__, str(exc)) if exc is not None else None


FIRST = 'CREATE TABLE "t1" (id int);'
BATCH = b"BEGIN ISOLATION LEVEL READ COMMITTED;\n"  # how a migration sent as one query starts

FAILURES = {
    "a positioned error in the third of four statements": (
        f'{FIRST}--> statement-breakpoint\nCREATE TABLE "t2" (id int);--> statement-breakpoint\n'
        'ALTER TABLE "t2"\n  ADD COLUMN "x" no_such_type;--> statement-breakpoint\nCREATE TABLE "t3" (id int);'
    ),
    "an error without a position": (
        f'{FIRST}--> statement-breakpoint\nCREATE TABLE "t2" (id int);--> statement-breakpoint\n'
        f'{FIRST}--> statement-breakpoint\nCREATE TABLE "t3" (id int);'
    ),
    "the last statement of a chunk that holds three": (
        f'{FIRST}--> statement-breakpoint\nCREATE TABLE "t2" (id int);\nINSERT INTO "t2" VALUES (1);\n'
        'INSERT INTO "t2" VALUES (\'x\');--> statement-breakpoint\nCREATE TABLE "t3" (id int);'
    ),
    "a syntax error after an error that comes first when run in order": (
        f'{FIRST}--> statement-breakpoint\nINSERT INTO "missing" VALUES (1);--> statement-breakpoint\n'
        'CREATE TABL "t3" (id int);'
    ),
    "a syntax error": f'{FIRST}--> statement-breakpoint\n\n\nCREATE TABL "t3" (id int);',
    "a chunk that ends in a comment with no newline": (
        f'{FIRST} -- a note--> statement-breakpoint\nSELECT "nope" FROM "t1";'
    ),
    "after a dollar-quoted block with semicolons": (
        'DO $$ BEGIN CREATE TABLE "t1" (id int); END $$;--> statement-breakpoint\nSELECT "nope"\nFROM "t1";'
    ),
    "after multibyte text": (
        'CREATE TABLE "tä" (id int); -- ünïcödé ✓\n--> statement-breakpoint\n-- ✓ ✓ ✓\nSELECT 1,\n  "ñope" FROM "tä";'
    ),
    "after a chunk that is only a comment": (
        f'{FIRST}--> statement-breakpoint\n-- nothing to run here\n--> statement-breakpoint\nSELECT nope FROM "t1";'
    ),
    "a check violation, with its detail": (
        'CREATE TABLE "t1" (n int CHECK (n > 0));--> statement-breakpoint\nINSERT INTO "t1" VALUES (1);'
        '--> statement-breakpoint\nINSERT INTO "t1" VALUES (-1);'
    ),
    "an error with a hint": f"{FIRST}--> statement-breakpoint\nSELECT no_such_function(1);",
    "a deferred constraint that fails at COMMIT": (
        'CREATE TABLE "p" (id int PRIMARY KEY);--> statement-breakpoint\n'
        'CREATE TABLE "c" (p int REFERENCES "p" DEFERRABLE INITIALLY DEFERRED);--> statement-breakpoint\n'
        'INSERT INTO "c" VALUES (1);'
    ),
    "a migration that is never sent together (a savepoint)": (
        f'{FIRST}--> statement-breakpoint\nSAVEPOINT s;--> statement-breakpoint\nSELECT nope FROM "t1";'
    ),
    "a read-only transaction": f"SET TRANSACTION READ ONLY;--> statement-breakpoint\n{FIRST}",
}
POLICIES = {"no timeouts": None, "with timeouts": ExecutionPolicy(lock_timeout="5s", statement_timeout="30s")}


@pytest.mark.parametrize("policy", POLICIES.values(), ids=POLICIES.keys())
@pytest.mark.parametrize("text", FAILURES.values(), ids=FAILURES.keys())
def test_a_failure_is_reported_as_statement_by_statement_and_leaves_the_same_database(
    text: str,
    policy: ExecutionPolicy | None,
    databases,  # type: ignore[no-untyped-def]
    workspace_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tag = add_migration(workspace_copy, "failing", text)
    together, apart = databases.create(), databases.create()
    with counting_queries(monkeypatch) as sent:
        failure = migrate(together, workspace_copy, policy)
    with one_by_one(monkeypatch), counting_queries(monkeypatch) as sent_apart:
        expected = migrate(apart, workspace_copy, policy)
    assert expected is not None and report(failure) == report(expected)
    if isinstance(expected, MigrationFailed):
        assert expected.tag == tag
    assert len(sent) >= len(load_workspace(EXAMPLE).migrations)
    assert not [query for query in sent_apart if query.startswith(BATCH)]  # no migration travelled as one query
    earlier = [(m.hash, m.when) for m in load_workspace(workspace_copy).migrations[:-1]]
    assert rows(together) == rows(apart) == earlier  # no row for the failed migration
    assert tables(together) == tables(apart)  # and nothing of it stays
    assert not {"t1", "t2", "t3", "tä", "p", "c"} & set(tables(together))


def test_the_reported_line_is_the_failing_lines(databases, workspace_copy: Path) -> None:  # type: ignore[no-untyped-def]
    text = FAILURES["a positioned error in the third of four statements"]
    add_migration(workspace_copy, "failing", text)
    failure = migrate(databases.create(), workspace_copy)
    assert isinstance(failure, MigrationFailed)
    assert failure.statement_number == 3 and failure.sqlstate == "42704"
    assert "no_such_type" in text.splitlines()[failure.line - 1]
    assert failure.path.endswith(".sql") and f":{failure.line}" in str(failure)


def test_a_connection_that_breaks_silently_names_the_statements_in_flight_and_nothing_is_committed(
    empty_db: str, workspace_copy: Path
) -> None:
    tag = add_migration(
        workspace_copy,
        "network",
        f'{FIRST}--> statement-breakpoint\nSELECT pg_sleep(1);--> statement-breakpoint\nCREATE TABLE "t3" (id int);',
    )
    workspace = load_workspace(workspace_copy)
    with connect(empty_db) as conn:
        pid = conn.info.backend_pid
        cutter = WireCutter(empty_db, conn, "%pg_sleep(1)%")
        cutter.start()
        with pytest.raises(MigrationFailed) as caught:
            runner.migrate(conn, workspace)
        cutter.join()
    assert cutter.seen, "the statement to cut the wire at never ran"
    failure = caught.value
    assert failure.tag == tag and failure.connection_lost and failure.sqlstate is None
    # the server answers when it is done: the statements it had not answered for were all in flight
    assert failure.statement_number <= 2
    assert f"statements {failure.statement_number}-3 were in flight" in str(failure)
    assert f"nothing of {tag} was committed" in str(failure)
    wait_until_gone(empty_db, pid)  # the server ran on, found no COMMIT and no client: it rolled back
    assert rows(empty_db) == [(m.hash, m.when) for m in workspace.migrations[:-1]]
    assert not {"t1", "t3"} & set(tables(empty_db))


def test_a_connection_on_a_descriptor_above_1023_works(empty_db: str) -> None:
    """select() refuses such descriptors; a fleet run's process may hold that many."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if min(soft, hard) < 1100:
        pytest.skip(f"this process may open only {min(soft, hard)} files")
    padding = [os.open(os.devnull, os.O_RDONLY) for _ in range(1030)]
    try:
        with connect(empty_db) as conn:
            assert conn.pgconn.socket > 1023
            runner.migrate(conn, load_workspace(EXAMPLE))
    finally:
        for fd in padding:
            os.close(fd)
    assert rows(empty_db) == [(m.hash, m.when) for m in load_workspace(EXAMPLE).migrations]


def test_each_migration_is_one_query_and_a_commit(empty_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = load_workspace(EXAMPLE)
    executed: list[object] = []
    execute = psycopg.Connection.execute

    def counted(self: psycopg.Connection, query: Any, *args: Any, **kwargs: Any) -> Any:
        executed.append(query)
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", counted)
    with counting_queries(monkeypatch) as sent, connect(empty_db) as conn:
        before = len(executed)
        runner.migrate(conn, workspace)
    n = len(workspace.migrations)
    # the bookkeeping table is created in a transaction of its own that holds the lock
    assert sent[:2] == [b"BEGIN ISOLATION LEVEL READ COMMITTED", b"COMMIT"]
    # BEGIN, the lock, the check, the statements and the row in one query, then COMMIT with the row confirmed:
    # two round trips per migration
    per_migration = sent[2:]
    assert len(per_migration) == 2 * n
    assert all(query.startswith(BATCH) and query.endswith(b" returning id") for query in per_migration[::2])
    assert all(query.startswith(b"COMMIT;\nselect exists (select 1 from ") for query in per_migration[1::2])
    # the rest is per run: the lock, the bookkeeping table, reading its rows
    assert len(executed) - before < 10
    assert rows(empty_db) == [(m.hash, m.when) for m in workspace.migrations]


def test_a_query_sent_together_gives_a_result_per_counted_statement(empty_db: str) -> None:
    chunks = [
        "CREATE TABLE x (id int); CREATE TABLE y (id int);",
        "SELECT 1;;  ;\n;",
        "-- only a comment",
        "/* only\n a comment */\n",
        "SELECT 1; -- and a comment at the end",
        "SELECT 1 /* a /* nested */ comment ; */;",
        "SELECT 1 AS \"semi;colon\", 'semi;colon';",
        'SELECT \'it\'\'s; fine\' AS "a ""b"";";',
        "SELECT 1 - -1; SELECT 4 / 2;",
        "DO $$ BEGIN\n  CREATE TYPE t AS ENUM('a');\nEXCEPTION WHEN duplicate_object THEN null;\nEND $$;",
        "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql; SELECT 2;",
        "SELECT 1 AS a$b, 2 AS c$;",
        "SELECT 'x' AS \"café\"; SELECT 1;",
        'CREATE TABLE "users" (\n\t"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL\n);\n',
    ]
    with connect(empty_db) as conn:
        for chunk in chunks:
            count = batching.simple_query_statements(chunk)
            assert count is not None, chunk
            outcome = batching.exchange(conn, f"BEGIN;\n{chunk}{one_transaction.SEPARATOR}ROLLBACK".encode())
            assert outcome.failed_at() is None, chunk
            assert len(outcome.results) == 1 + count + 1, chunk


def test_v1_rows_are_the_same_either_way(databases, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    together, apart = databases.create(), databases.create()
    assert migrate(together, V1_EXAMPLE) is None
    with one_by_one(monkeypatch):
        assert migrate(apart, V1_EXAMPLE) is None

    def recorded(url: str) -> list[tuple[Any, ...]]:
        with connect(url) as conn:
            return conn.execute(
                'select id, hash, created_at, name from drizzle."__drizzle_migrations" order by id'
            ).fetchall()

    assert recorded(together) == recorded(apart) and len(recorded(together)) == len(
        load_workspace(V1_EXAMPLE).migrations
    )


class WireCutter(threading.Thread):
    """Cuts ``conn``'s socket, as a network failure would (no message from the server), once its backend runs a
    query like ``like``; ``seen`` says whether it did run (else the wire was cut when the wait ran out)."""

    def __init__(self, url: str, conn: psycopg.Connection, like: str) -> None:
        super().__init__()
        self.url, self.conn, self.like, self.pid, self.seen = url, conn, like, conn.info.backend_pid, False

    def run(self) -> None:
        with connect(self.url) as watcher:
            deadline = time.monotonic() + 20
            while not self.seen and time.monotonic() < deadline:
                self.seen = (
                    watcher.execute(
                        "select 1 from pg_stat_activity where pid = %s and state = 'active' and query like %s",
                        [self.pid, self.like],
                    ).fetchone()
                    is not None
                )
                time.sleep(0 if self.seen else 0.02)
        wire = socket.socket(fileno=os.dup(self.conn.pgconn.socket))
        wire.shutdown(socket.SHUT_RDWR)
        wire.close()


def wait_until_gone(url: str, pid: int) -> None:
    """Until the backend ``pid`` has ended (a cut-off client's backend ends once the server notices)."""
    with connect(url) as admin:
        deadline = time.monotonic() + 30
        while admin.execute("select 1 from pg_stat_activity where pid = %s", [pid]).fetchone():
            assert time.monotonic() < deadline, "the cut-off backend never ended"
            time.sleep(0.05)
