"""The migration lock: one advisory key per bookkeeping table, taken the same way by every writer.

migrate, rollback, repair, ``migrate --runner drizzle`` and each fleet target take it through
:class:`MigrationLock`. It never depends on a session where a transaction will do, so it holds
through a transaction-mode pooler (PgBouncer, Supavisor), where each transaction may run on another
server connection and a session lock would be taken on one and "released" on another:

- work that fits in one transaction (a migration, a rollback step, a repair) takes the lock inside
  that transaction, with ``pg_try_advisory_xact_lock``; it goes when the transaction ends, on
  whichever server connection ran it, and the caller re-reads the bookkeeping table after taking it;
- work that cannot (CREATE INDEX CONCURRENTLY, a file with its own COMMITs, drizzle-kit's own
  migrate) holds a session lock on a connection that keeps its session (the direct URL), and is
  refused on a pooled one before anything changes (engine/sessions.py).

Both spin on a try-lock, never block in the server: a waiter blocked in pg_advisory_lock() is a
transaction that CREATE INDEX CONCURRENTLY waits for, while it waits for the index. While we wait,
no transaction of ours is open, and the holder is named.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

from drizzle_ops.engine.batching import command, rollback_open
from drizzle_ops.errors import LockTimeout, OperationFailed

# an explicit level: the bookkeeping table is re-read after the lock, which a snapshot taken before it
# (REPEATABLE READ or SERIALIZABLE as a role's default) would not show
BEGIN = "BEGIN ISOLATION LEVEL READ COMMITTED"
POLL_SECONDS = 0.1
BUSY = "drizzle-ops: the migration lock is held by another run"  # the guard's error text, seen in server logs


def lock_key(schema: str, table: str) -> int:
    """A stable signed 64-bit key per bookkeeping table, so two workspaces don't block each other."""
    digest = hashlib.sha256(f"drizzle-ops:{schema}.{table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True)
class LockHolder:
    pid: int
    application_name: str
    client: str | None
    backend_start: str | None
    state: str | None

    def __str__(self) -> str:
        who = f"pid {self.pid}"
        if self.application_name:
            who += f" ({self.application_name})"
        if self.client:
            who += f" from {self.client}"
        return who


def lock_holder(conn: psycopg.Connection, key: int) -> LockHolder | None:
    """Who holds the key now, at session or transaction level (both show in pg_locks alike)."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    row = conn.execute(
        """
        select a.pid, coalesce(a.application_name, ''), host(a.client_addr),
               to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS'), a.state
        from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and l.objsubid = 1
          and l.classid = %s::oid and l.objid = %s::oid
          and l.database = (select oid from pg_database where datname = current_database())
        limit 1
        """,
        [unsigned >> 32, unsigned & 0xFFFFFFFF],
    ).fetchone()
    return LockHolder(*row) if row else None


class LockBusy(Exception):
    """The transaction's guard found the lock taken; the transaction was rolled back (internal, never shown)."""


class MigrationLock:
    """The lock of one bookkeeping table, as every writer takes it.

    ``wait``: seconds to wait for another run each time the lock is found taken; ``on_wait`` hears
    the holder once per run. ``waited`` adds up the seconds spent waiting.
    """

    def __init__(self, key: int, *, wait: float, on_wait: Callable[[LockHolder | None], None] | None = None) -> None:
        self.key = key
        self.wait = wait
        self.on_wait = on_wait
        self.waited = 0.0
        self._announced = False

    # -- inside one transaction ------------------------------------------------------------------------

    def guard(self) -> str:
        """The statement that takes the lock in the transaction it runs in, or fails it.

        For a transaction sent as one simple query: the server runs every statement without
        waiting for us, so the guard must stop the rest by failing. Its failure names itself in
        the server's log; engine/one_transaction.py reads it as :class:`LockBusy`.
        """
        return f"select (case when pg_try_advisory_xact_lock({self.key}) then '1' else '{BUSY}' end)::int"

    def begin(self, conn: psycopg.Connection) -> None:
        """BEGIN, then the lock, waiting politely (outside any transaction) while another run holds it."""
        started: float | None = None
        while True:
            command(conn, BEGIN)
            if _taken(conn, "pg_try_advisory_xact_lock", self.key):
                break
            command(conn, "ROLLBACK")  # never wait inside a transaction: CONCURRENTLY would wait for it
            started = self.pause(conn, started)
        if started is not None:
            self.waited += time.monotonic() - started

    @contextmanager
    def transaction(self, conn: psycopg.Connection) -> Iterator[None]:
        """A transaction that holds the lock from its first statement; committed when the block ends cleanly."""
        self.begin(conn)
        try:
            yield
        except BaseException:
            rollback_open(conn, quietly=True)
            raise
        command(conn, "COMMIT")

    def wait_while_held(self, conn: psycopg.Connection) -> None:
        """After a transaction's guard found the lock taken (and it was rolled back): wait until it is free."""
        started = self.pause(conn)
        while lock_holder(conn, self.key) is not None:
            started = self.pause(conn, started)
        self.waited += time.monotonic() - started

    def pause(self, conn: psycopg.Connection, started: float | None = None) -> float:
        """One round of waiting after the lock was found taken: name the holder (once per run, once one is seen),
        give up with LockTimeout after ``wait`` seconds, else sleep a poll interval. No transaction may be open.

        ``started``: when this wait began (None: now); returned, for the next round of the same wait.
        """
        started = time.monotonic() if started is None else started
        holder = lock_holder(conn, self.key)
        if holder is not None and not self._announced:  # a holder that left at once is no wait worth a line
            self._announced = True
            if self.on_wait is not None:
                self.on_wait(holder)
        waited = time.monotonic() - started
        if waited >= self.wait:
            self.waited += waited
            raise LockTimeout(
                f"another migration holds the lock ({holder or 'holder gone'}) and {self.wait:g}s passed; "
                "wait for it to finish, or raise --lock-wait"
            )
        # a holder that just left (None) is retried almost at once; a live one is polled
        time.sleep(min(POLL_SECONDS if holder else POLL_SECONDS / 10, self.wait - waited))
        return started

    # -- across transactions, on a connection that keeps its session ---------------------------------------

    @contextmanager
    def session(self, conn: psycopg.Connection) -> Iterator[None]:
        """Hold the lock at session level on ``conn`` for the block (work that cannot fit in one transaction).

        ``conn`` must keep its session (never a transaction-mode pooler's; engine/sessions.py decides).
        On leaving, the unlock must find the lock: if it does not, the session moved under us (a pooler
        nobody told us about), and that is said rather than ignored.
        """
        started: float | None = None
        while not _taken(conn, "pg_try_advisory_lock", self.key):
            started = self.pause(conn, started)
        if started is not None:
            self.waited += time.monotonic() - started
        released = False
        try:
            yield
        finally:
            if not conn.broken:
                rollback_open(conn, quietly=True)
                released = _taken(conn, "pg_advisory_unlock", self.key)
        if not released and not conn.broken:
            raise OperationFailed(
                "the migration lock taken on this connection was not there to release: the connection does not "
                "keep its session (a transaction-mode pooler?), so the lock may stay held by a pooled server "
                "connection until it closes; give the direct URL (direct_url_env in invoke.yaml, or $DIRECT_URL)"
            )


def _taken(conn: psycopg.Connection, function: str, key: int) -> bool:
    row = conn.execute(sql.SQL("select {}(%s)").format(sql.Identifier(function)), [key]).fetchone()
    return bool(row and row[0])
