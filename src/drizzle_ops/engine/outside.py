"""Running a file outside any one transaction of ours: statement by statement, or by its own BEGIN and COMMIT.

Shared by migrations and down files. The connection must keep its session (the caller holds the
migration lock at session level on it, see engine/lock.py), because the work spans transactions.

- A file that cannot run in a transaction (CONCURRENTLY, VACUUM, the no-transaction marker) runs
  statement by statement, each committed on its own.
- A file with its own transaction control runs as drizzle-kit runs it: it starts inside a
  transaction, as drizzle-kit's own BEGIN would have it (unless its first statement is itself a
  BEGIN or a COMMIT, or what comes before its first one cannot run in a transaction), and from
  then on its own BEGIN, COMMIT, ROLLBACK and SAVEPOINT statements decide.

The bookkeeping change comes last: into the transaction the file leaves open (a trailing BEGIN),
committed with it, as under drizzle-kit; otherwise in a transaction of its own once everything
before it has committed. On a failure the report says exactly which statements stay (committed
by the file's own COMMIT, or run outside a transaction) and which were rolled back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg
from psycopg import pq

from drizzle_ops.engine import server
from drizzle_ops.engine.batching import command, rollback_open
from drizzle_ops.engine.connection import step
from drizzle_ops.engine.execution import ExecutionPolicy, OnRetry, name_blocker, run_statement
from drizzle_ops.engine.transactionality import (
    Control,
    ControlStatement,
    Mode,
    SqlSource,
    chunk_controls,
    concurrent_indexes,
    marked,
    needs_outside,
)
from drizzle_ops.engine.workspace import Statement
from drizzle_ops.errors import MigrationFailed

T = TypeVar("T")

_ENDS_COMMITTED = (Control.COMMIT, Control.PREPARE)


@dataclass
class Ledger:
    """What became of each statement of the file so far: committed, rolled back, or in the open transaction.

    Only statements that do work are listed; BEGIN, COMMIT and the like change nothing themselves.
    """

    stays: list[int] = field(default_factory=list)
    open: list[int] = field(default_factory=list)
    undone: list[int] = field(default_factory=list)  # by the file's own ROLLBACK (TO SAVEPOINT)
    savepoints: list[tuple[str, int]] = field(default_factory=list)  # name, len(open) when it was set

    def ran(self, number: int, controls: list[ControlStatement], *, work: bool, in_transaction: bool) -> None:
        for control in controls:
            self._apply(control)
        if work:
            (self.open if in_transaction else self.stays).append(number)
        elif not in_transaction and self.open:  # a COMMIT the scan did not see (AND CHAIN ends otherwise): committed
            self._end(committed=True)

    def _apply(self, control: ControlStatement) -> None:
        if control.kind in _ENDS_COMMITTED:
            self._end(committed=True)
        elif control.kind is Control.ROLLBACK:
            self._end(committed=False)
        elif control.kind is Control.SAVEPOINT and control.savepoint:
            self.savepoints.append((control.savepoint, len(self.open)))
        elif control.kind in (Control.ROLLBACK_TO, Control.RELEASE) and control.savepoint:
            marks = [i for i, (name, _) in enumerate(self.savepoints) if name == control.savepoint]
            if not marks:
                return
            index = marks[-1]
            if control.kind is Control.ROLLBACK_TO:
                kept = self.savepoints[index][1]
                self.undone += self.open[kept:]
                del self.open[kept:]
                del self.savepoints[index + 1 :]
            else:
                del self.savepoints[index:]

    def _end(self, *, committed: bool) -> None:
        (self.stays if committed else self.undone).extend(self.open)
        self.open.clear()
        self.savepoints.clear()

    def failed(self) -> list[int]:
        """At a failure: the open transaction is rolled back; what it held, for the report."""
        lost = list(self.open)
        self._end(committed=False)
        return lost


def statements_numbered(values: Iterable[int], one: str = "", many: str = "") -> str:
    """'statement 4 <one>', or 'statements 1-3, 5 <many>' for [1, 2, 3, 5] (the verb agrees)."""
    ordered = sorted(set(values))
    if len(ordered) == 1:
        return f"statement {ordered[0]} {one}".rstrip()
    return f"statements {numbers(ordered)} {many}".rstrip()


def numbers(values: Iterable[int]) -> str:
    """'1-3, 5' for [1, 2, 3, 5]."""
    ranges: list[list[int]] = []
    for value in sorted(set(values)):
        if ranges and value == ranges[-1][1] + 1:
            ranges[-1][1] = value
        else:
            ranges.append([value, value])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def _in_transaction(conn: psycopg.Connection) -> bool:
    return conn.info.transaction_status != pq.TransactionStatus.IDLE


@dataclass(frozen=True)
class _Chunk:
    index: int  # 0-based position in the file's statements
    controls: list[ControlStatement]
    work: bool  # holds a statement other than transaction control


def run_outside(
    conn: psycopg.Connection,
    source: SqlSource,
    mode: Mode,
    finish: Callable[[psycopg.Connection], T],
    *,
    tag: str,
    path: str,
    policy: ExecutionPolicy,
    warn: Callable[[str], None],
    on_retry: OnRetry,
    failure: type[MigrationFailed] = MigrationFailed,
    **context: Any,
) -> T:
    """Run ``source`` (NO_TRANSACTION or OWN_TRANSACTIONS) on ``conn``, then ``finish`` (the bookkeeping change).

    Returns what ``finish`` returns, once committed. A failure is raised as ``failure`` with what
    stays and what was rolled back in its detail; a lock timeout is retried (policy.retries) from
    the start of the transaction it rolled back, or, for a statement that ran alone, that statement.
    """
    statements = source.statements
    chunks = [
        _Chunk(index, *chunk_controls(statement)) if mode is Mode.OWN_TRANSACTIONS else _Chunk(index, [], True)
        for index, statement in enumerate(statements)
    ]
    indexes = concurrent_indexes(source)
    for index in indexes:
        if server.index_is_invalid(conn, index.schema, index.name):
            warn(f"dropping invalid index {index.name} left by an earlier failed attempt")
            server.drop_index_concurrently(conn, index.schema, index.name)
    leading = mode is Mode.OWN_TRANSACTIONS and _starts_inside_a_transaction(source, chunks)
    ledger = Ledger()
    previous = server.session_timeouts(conn)  # the session's own settings come back afterwards, not zero
    server.set_session_timeouts(conn, lock_timeout=policy.lock_timeout, statement_timeout=policy.statement_timeout)
    try:
        position, segment, attempt = 0, 0, 0  # segment: where the open transaction began (to retry from)
        if leading:
            command(conn, "BEGIN")  # drizzle-kit's own BEGIN, which the file's first COMMIT ends
        while position < len(statements):
            statement, chunk = statements[position], chunks[position]
            alone = not _in_transaction(conn)
            if alone:
                segment = position
            try:
                run_statement(conn, statement, tag=tag, path=path, failure=failure, policy=policy, **context)
            except MigrationFailed as error:
                inside = _in_transaction(conn) or not alone
                rollback_open(conn, quietly=True)
                error = name_blocker(conn, error)
                attempt += 1
                if policy.retry(error, attempt) and not conn.broken:
                    # what failed was rolled back whole: the statement alone, or its transaction from its start
                    delay = policy.delay(attempt)
                    on_retry(attempt, delay, error.detail or error.server_message)
                    time.sleep(delay)
                    if inside:
                        ledger.failed()
                        position = segment
                        if position == 0 and leading:
                            command(conn, "BEGIN")
                    continue
                raise _report(conn, error, ledger, mode, indexes, statement) from None
            ledger.ran(statement.number, chunk.controls, work=chunk.work, in_transaction=_in_transaction(conn))
            position += 1
        stays = f" ({statements_numbered(ledger.stays, 'stays', 'stay')} applied)" if ledger.stays else ""
        with step(conn, f"recording {tag} after its last statement{stays}", command=failure.command):
            if not _in_transaction(conn):
                command(conn, "BEGIN")
            result = finish(conn)  # in the transaction the file left open, or in its own
            command(conn, "COMMIT")
        return result
    except BaseException:
        rollback_open(conn, quietly=True)
        raise
    finally:
        if not conn.broken:
            server.set_session_timeouts(conn, **previous)


def starts_inside_a_transaction(source: SqlSource) -> bool:
    """Whether a file with its own transaction control starts inside a transaction of ours (drizzle-kit's BEGIN)."""
    return _starts_inside_a_transaction(
        source, [_Chunk(i, *chunk_controls(s)) for i, s in enumerate(source.statements)]
    )


def _starts_inside_a_transaction(source: SqlSource, chunks: list[_Chunk]) -> bool:
    """Whether drizzle-kit's BEGIN would hold the file's first statements: not when the file opens with its own
    transaction control or asks for no transaction (the marker), nor when what comes before its first
    control cannot run in a transaction at all."""
    if marked(source):
        return False
    for position, (statement, chunk) in enumerate(zip(source.statements, chunks, strict=True)):
        if chunk.controls:
            # a file that opens with its own BEGIN or COMMIT needs no transaction of ours before it
            return position > 0 or chunk.work
        if needs_outside(statement):
            return False
    return False


def _report(
    conn: psycopg.Connection,
    error: MigrationFailed,
    ledger: Ledger,
    mode: Mode,
    indexes: list[Any],
    statement: Statement,
) -> MigrationFailed:
    """The failure, saying what of the file stays and what was rolled back with it."""
    rolled_back = ledger.failed()
    notes = [error.detail] if error.detail else []
    if ledger.stays and mode is Mode.NO_TRANSACTION:
        notes.append(
            statements_numbered(
                ledger.stays,
                "ran outside a transaction and stays applied",
                "ran outside a transaction and stay applied",
            )
        )
    elif ledger.stays:
        notes.append(
            statements_numbered(ledger.stays, "stays", "stay")
            + " applied (committed by the file's own COMMIT, or run outside any transaction)"
        )
    if rolled_back:
        notes.append(statements_numbered(rolled_back, "was", "were") + " rolled back with the failed one")
    left: list[str] = []
    if not conn.broken:
        left = [i.name for i in indexes if server.index_is_invalid(conn, i.schema, i.name)]
        if left:
            notes.append(f"invalid index {', '.join(left)} left behind; it is dropped on the next attempt")
    else:  # nothing more can be asked: a concurrent build commits its catalog entry before it builds
        left = [i.name for i in concurrent_indexes(_One(statement))]
        if left:
            notes.append(
                f"index {', '.join(left)} may be left behind INVALID (the connection was lost while it was built "
                "concurrently); it is dropped on the next attempt"
            )
    return error.with_detail("; ".join(notes) or None, partial=bool(ledger.stays or left))


@dataclass(frozen=True)
class _One:
    """One statement of a file, as a source of its own."""

    statement: Statement

    @property
    def text(self) -> str:
        return self.statement.sql

    @property
    def statements(self) -> list[Statement]:
        return [self.statement]
