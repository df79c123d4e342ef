"""A migration in one transaction of ours: its statements and its bookkeeping row commit together or not at all.

The transaction takes the migration lock first (``pg_try_advisory_xact_lock``), then checks that
the bookkeeping table is as the plan read it: nothing here depends on the session, so it holds
through a transaction-mode pooler.

Round trips: BEGIN, the lock, the check, the timeouts (SET LOCAL), the statements and the
bookkeeping row travel as ONE simple query; COMMIT, with the question whether the row is now
committed, as a second. The server runs the statements one after the other and stops at the
first error; the number of results before it names the failed statement, so the report
(statement, file:line, SQLSTATE) is the one the statement-by-statement run gives. What cannot
travel that way (``batching.simple_query_statements`` is not sure how the server splits it), and
a failure that cannot be placed (a syntax error anywhere: the server parses the whole text
before running any of it), go statement by statement, from a state where nothing of the
migration ran, so their report is exactly the old one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from drizzle_ops.engine import batching, bookkeeping, server
from drizzle_ops.engine.batching import command, rollback_open, simple_query_statements
from drizzle_ops.engine.bookkeeping import Fingerprint
from drizzle_ops.engine.execution import ExecutionPolicy, failure_of, run_statement
from drizzle_ops.engine.lock import BEGIN, LockBusy, MigrationLock
from drizzle_ops.engine.workspace import Migration, Workspace
from drizzle_ops.paths import display_path

SEPARATOR = "\n;\n"  # between chunks sent together: the newline ends a trailing -- comment, the ';' the statement
BATCHING_SINCE = 130000  # PostgreSQL 13: statement_timeout counts per statement of a multi-statement query

# what runs inside the transaction after the statements and the row, before COMMIT (migrate --verify)
BeforeCommit = Callable[[psycopg.Connection, Migration], None]


class Stale(Exception):
    """The bookkeeping table changed since the plan read it (another run); nothing was done (internal)."""


@dataclass(frozen=True)
class Committed:
    """A migration's bookkeeping row, written and committed on ``conn``; ``confirmed``: seen after the COMMIT."""

    conn: psycopg.Connection
    row_id: int
    confirmed: bool | None = None  # None: not asked yet (the runner asks)


class OneTransaction:
    """What stays the same from one migration to the next, worked out once per run."""

    def __init__(
        self, conn: psycopg.Connection, workspace: Workspace, policy: ExecutionPolicy, lock: MigrationLock
    ) -> None:
        self.conn = conn
        self.workspace = workspace
        self.policy = policy
        self.lock = lock
        self.schema, self.table = workspace.migrations_schema, workspace.migrations_table
        self.insert = bookkeeping.RowInsert(conn, self.schema, self.table, with_names=workspace.records_names)
        timeouts = server.local_timeouts_sql(
            conn, lock_timeout=policy.lock_timeout, statement_timeout=policy.statement_timeout
        )
        self.prelude = "".join(f"{statement};\n" for statement in [BEGIN, lock.guard()])
        self.timeouts = "".join(f"{statement};\n" for statement in timeouts)
        self.prelude_results = 3 + len(timeouts)  # BEGIN, lock, bookkeeping check, timeouts
        self.batching = conn.info.server_version >= BATCHING_SINCE

    def path(self, migration: Migration) -> str:
        """The file as reports show it; worked out for a report, or once for a migration sent chunk by chunk."""
        return display_path(migration.sql_path, self.workspace.root)

    def name(self, migration: Migration) -> str | None:
        return migration.tag if self.workspace.records_names else None

    def confirm_sql(self, row_id: int) -> str:
        return bookkeeping.committed_row_sql(self.conn, self.schema, self.table, row_id)

    def apply(self, migration: Migration, expected: Fingerprint, before_commit: BeforeCommit | None) -> Committed:
        """Apply ``migration`` if the table still has the ``expected`` fingerprint; raises Stale if it has not,
        LockBusy if another run holds the lock (batched path; nothing was done either way)."""
        committed = self._batched(migration, expected, before_commit)
        return committed if committed is not None else self._one_by_one(migration, expected, before_commit)

    def _finish(self, migration: Migration, row_id: int, before_commit: BeforeCommit | None) -> Committed:
        """Inside the transaction, all statements done: the hook, then COMMIT with the row confirmed."""
        conn = self.conn
        if before_commit is not None:
            try:
                before_commit(conn, migration)
            except BaseException:
                rollback_open(conn, quietly=True)
                raise
        return Committed(conn, row_id, batching.commit_confirming(conn, self.confirm_sql(row_id)))

    def _one_by_one(self, migration: Migration, expected: Fingerprint, before_commit: BeforeCommit | None) -> Committed:
        """Statement by statement, a round trip each: the way for what cannot travel in one query."""
        conn, policy, path = self.conn, self.policy, self.path(migration)
        self.lock.begin(conn)  # waits politely while another run holds it
        try:
            if bookkeeping.fingerprint(conn, self.schema, self.table) != expected:
                raise Stale
            server.set_local_timeouts(
                conn, lock_timeout=policy.lock_timeout, statement_timeout=policy.statement_timeout
            )
            for statement in migration.statements:
                run_statement(conn, statement, tag=migration.tag, path=path, policy=policy)
            row_id = self.insert.execute(conn, migration.hash, migration.when, self.name(migration))
        except BaseException:
            rollback_open(conn, quietly=True)
            raise
        return self._finish(migration, row_id, before_commit)

    def _batched(
        self, migration: Migration, expected: Fingerprint, before_commit: BeforeCommit | None
    ) -> Committed | None:
        """In two round trips; None: send it statement by statement instead.

        It returns None only when nothing of the migration stays: it was not sent, or the server
        refused the whole text before running any of it (a syntax error anywhere: it parses all of
        it first), or the failure could not be placed and was rolled back. Statement by statement
        then gives exactly the report it always gave. A failure it places is raised here, after
        the rollback, as ``run_statement`` raises it.
        """
        conn = self.conn
        counts = [simple_query_statements(statement.sql) for statement in migration.statements]
        if not self.batching or None in counts:
            return None
        guard = bookkeeping.fingerprint_guard(conn, self.schema, self.table, expected)
        parts = [self.prelude, guard, ";\n", self.timeouts]
        offsets, at = [], sum(len(part) for part in parts)
        for statement in migration.statements:
            offsets.append(at)
            parts += (statement.sql, SEPARATOR)
            at += len(statement.sql) + len(SEPARATOR)
        parts.append(self.insert.literal(conn, migration.hash, migration.when, self.name(migration)))
        try:
            query = "".join(parts).encode(conn.info.encoding)
        except UnicodeEncodeError:
            return None  # chunk by chunk, psycopg reports it as it always did
        try:
            outcome = batching.exchange(conn, query)  # through the module: tests count the round trips
        except BaseException:  # Ctrl-C: the query was cancelled; leave no transaction open behind us
            rollback_open(conn, quietly=True)
            raise
        failed_at = outcome.failed_at()
        if failed_at is None:
            row_id = int(outcome.results[-1].get_value(0, 0) or b"0")
            return self._finish(migration, row_id, before_commit)
        error = outcome.error(conn)
        assert error is not None
        rollback_open(conn)
        if failed_at in (1, 2) and error.diag.sqlstate == "22P02" and not outcome.lost:  # a guard said no
            raise LockBusy if failed_at == 1 else Stale
        # the server sends its answers when it is done or fails: with the connection gone and no error
        # from it, the statements it had not answered for were all in flight, the first one included
        silent = error is outcome.lost
        result = failed_at - self.prelude_results
        index = _statement_at(max(result, 0) if silent else result, [count or 0 for count in counts])
        if index is None:  # before the first statement ran (a syntax error anywhere), or the bookkeeping row
            if conn.broken:
                raise error  # as the BEGIN or the insert raised it
            return None
        statement = migration.statements[index]
        position = int(error.diag.statement_position) if error.diag.statement_position else None
        if position is not None:
            position -= offsets[index]  # the server counts from the start of the whole query
            if not 0 < position <= len(statement.sql):
                if not conn.broken:
                    return None  # not where the count says: trust neither, ask the server statement by statement
                position = None
        failure = failure_of(
            conn, error, statement, position, tag=migration.tag, path=self.path(migration), policy=self.policy
        )
        later = [
            s.number for s, count in zip(migration.statements[index + 1 :], counts[index + 1 :], strict=True) if count
        ]
        if silent and later:
            failure = failure.with_detail(
                f"the connection broke with no error from the server while statements {statement.number}-{later[-1]} "
                "were in flight (sent together), so the one running is not known"
            )
        raise failure


def _statement_at(result: int, counts: list[int]) -> int | None:
    """The statement (0-based) that gave the result with this index, counting the statements' own results only."""
    if result < 0:
        return None
    for index, count in enumerate(counts):
        if result < count:
            return index
        result -= count
    return None


def begin_locked_and_unchanged(
    conn: psycopg.Connection, lock: MigrationLock, schema: str, table: str, expected: Fingerprint
) -> None:
    """BEGIN a transaction holding the lock, in which the table still has ``expected``'s fingerprint (else Stale)."""
    lock.begin(conn)
    if bookkeeping.fingerprint(conn, schema, table) != expected:
        command(conn, "ROLLBACK")
        raise Stale
