"""Several statements in one round trip: how many the server will run, and every answer it gives.

A chunk of a migration is sent as one simple query. Several chunks can travel as ONE simple
query, joined by a newline, ";" and a newline, when that cannot change what the server runs: each chunk must end
outside any quote or comment, and we must know how many statements (so how many results) each
chunk gives, to name the one that failed. ``simple_query_statements`` (engine/scan.py) answers
that, or None when it is not sure; None sends the chunks one by one.
"""

from __future__ import annotations

import select
from contextlib import suppress
from dataclasses import dataclass

import psycopg
from psycopg import pq
from psycopg.errors import error_from_result
from psycopg.pq.abc import PGconn, PGresult

from drizzle_ops.engine.scan import simple_query_statements

# the count lives in engine/scan.py; re-exported beside the exchange that relies on it
__all__ = ["Exchange", "command", "commit_confirming", "exchange", "rollback_open", "simple_query_statements"]


@dataclass
class Exchange:
    """What came back for one simple query: a result per statement the server ran, up to the failed one."""

    results: list[PGresult]
    lost: psycopg.OperationalError | None = None  # the connection broke before the server was done

    def failed_at(self) -> int | None:
        """Index of the failed statement's result; with a lost connection and no error, the first unanswered one."""
        for index, result in enumerate(self.results):
            if result.status == pq.ExecStatus.FATAL_ERROR:
                return index
        return len(self.results) if self.lost is not None else None

    def error(self, conn: psycopg.Connection) -> psycopg.Error | None:
        """The failure as psycopg raises it from ``conn.execute``."""
        for result in self.results:
            if result.status == pq.ExecStatus.FATAL_ERROR:
                return error_from_result(result, encoding=conn.info.encoding)
        return self.lost


def exchange(conn: psycopg.Connection, query: bytes) -> Exchange:
    """Send ``query`` (any number of statements) as ONE simple-protocol message; keep every result.

    ``conn.execute`` would raise at an error and drop the results before it; their count is what
    names the failed statement. Like psycopg, a Ctrl-C cancels the query in the server first.
    """
    pgconn = conn.pgconn
    results: list[PGresult] = []
    try:
        pgconn.send_query(query)
        while pgconn.flush():  # non-blocking: the rest goes out as the socket takes it
            if _wait(pgconn.socket, write=True):
                pgconn.consume_input()
        _collect(pgconn, results)
    except psycopg.OperationalError as exc:
        return Exchange(results, exc)
    except KeyboardInterrupt:
        with suppress(psycopg.Error, OSError):
            conn.cancel()
            _collect(pgconn, results)
        raise
    return Exchange(results)


def command(conn: psycopg.Connection, query: str) -> None:
    """A plain command (COMMIT, ROLLBACK) in one round trip, never prepared; its error raised as psycopg raises it."""
    error = exchange(conn, query.encode()).error(conn)
    if error is not None:
        raise error


def _wait(fd: int, *, write: bool = False) -> bool:
    """Block until the socket can be read (or, with ``write``, written); True when it can be read.

    poll where there is one: select() refuses descriptors above 1023, which a fleet run's process may hold.
    """
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | (select.POLLOUT if write else 0))
        events = poller.poll()
        return any(event & (select.POLLIN | select.POLLERR | select.POLLHUP) for _, event in events)
    readable, _, _ = select.select([fd], [fd] if write else [], [])
    return bool(readable)


def _collect(pgconn: PGconn, results: list[PGresult]) -> None:
    while True:
        while pgconn.is_busy():
            _wait(pgconn.socket)
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:
            return
        results.append(result)


def rollback_open(conn: psycopg.Connection, *, quietly: bool = False) -> None:
    """Roll back the transaction left open, if any (``quietly``: an error doing so is ignored)."""
    if conn.broken or conn.info.transaction_status == pq.TransactionStatus.IDLE:
        return
    if not quietly:
        command(conn, "ROLLBACK")
        return
    with suppress(psycopg.Error):
        command(conn, "ROLLBACK")


def commit_confirming(conn: psycopg.Connection, confirm: str) -> bool:
    """COMMIT, then ``confirm`` (a query answering true or false) in the same round trip; its answer.

    A COMMIT that fails (a deferred constraint) raises as psycopg raises it, and nothing is confirmed.
    """
    outcome = exchange(conn, f"COMMIT;\n{confirm}".encode(conn.info.encoding))
    error = outcome.error(conn)
    if error is not None:
        raise error
    return bool(outcome.results) and outcome.results[-1].get_value(0, 0) == b"t"
