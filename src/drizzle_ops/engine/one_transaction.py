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

Memory: a query is held three times while it is sent (our bytes, and libpq's copies: its output
buffer and the text it keeps for error reports). So a migration larger than ``QUERY_BYTES`` goes
as several queries in the same transaction, none much larger than that, and a chunk that large
travels alone, as the very bytes read from its file: a 13 MB seed INSERT is held once by the
workspace and twice by libpq, never copied by us. Results are counted across the queries as if
they were one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from drizzle_ops.engine import batching, bookkeeping, server
from drizzle_ops.engine.batching import command, rollback_open, simple_query_statements
from drizzle_ops.engine.bookkeeping import Fingerprint
from drizzle_ops.engine.execution import ExecutionPolicy, failure_of, run_statement
from drizzle_ops.engine.lock import BEGIN, LockBusy, MigrationLock
from drizzle_ops.engine.workspace import Migration, Statement, Workspace
from drizzle_ops.paths import display_path

SEPARATOR = "\n;\n"  # between chunks sent together: the newline ends a trailing -- comment, the ';' the statement
BATCHING_SINCE = 130000  # PostgreSQL 13: statement_timeout counts per statement of a multi-statement query
# a query carries chunks until it holds this many bytes; a chunk this large is a query of its own
QUERY_BYTES = 1 << 20

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
        try:
            # waits politely while another run holds the lock; Stale if that run changed the table
            begin_locked_and_unchanged(conn, self.lock, self.schema, self.table, expected)
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
        """In two round trips (more for a migration over ``QUERY_BYTES``); None: send it statement by statement instead.

        It returns None only when nothing of the migration stays: it was not sent, or the server
        refused a whole query before running any of it (a syntax error anywhere: it parses all of
        it first), or the failure could not be placed and was rolled back. Statement by statement
        then gives exactly the report it always gave. A failure it places is raised here, after
        the rollback, as ``run_statement`` raises it.
        """
        conn = self.conn
        statements = migration.statements
        counts = [simple_query_statements(statement.source) for statement in statements]  # as read: no decoding
        if not self.batching or None in counts:
            return None
        guard = bookkeeping.fingerprint_guard(conn, self.schema, self.table, expected)
        row = self.insert.literal(conn, migration.hash, migration.when, self.name(migration))
        queries = _queries(f"{self.prelude}{guard};\n{self.timeouts}", statements, [c or 0 for c in counts], row)
        answered = 0  # results of the queries before this one, all of them successes
        for number, query in enumerate(queries):
            try:
                data = query.encoded(statements, conn.info.encoding)
            except UnicodeEncodeError:  # chunk by chunk, psycopg reports it as it always did
                if number:
                    rollback_open(conn)
                return None
            try:
                outcome = batching.exchange(conn, data)  # through the module: tests count the round trips
            except BaseException:  # Ctrl-C: the query was cancelled; leave no transaction open behind us
                rollback_open(conn, quietly=True)
                raise
            del data  # before the next query is built
            failed_at = outcome.failed_at()
            if failed_at is not None:
                self._raise_failure(migration, counts, query, number, outcome, answered + failed_at)
                return None
            answered += len(outcome.results)
        row_id = int(outcome.results[-1].get_value(0, 0) or b"0")
        return self._finish(migration, row_id, before_commit)

    def _raise_failure(
        self,
        migration: Migration,
        counts: list[int | None],
        query: _Query,
        number: int,
        outcome: batching.Exchange,
        failed_at: int,
    ) -> None:
        """Roll back, then raise the failure at result ``failed_at`` (counted across the queries).

        Returns (having raised nothing) when the failure cannot be placed: nothing of the migration stays,
        and statement by statement gives the report.
        """
        conn, statements = self.conn, migration.statements
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
        # before the first statement ran (a syntax error anywhere), or after this query's last: the bookkeeping
        # row, or (the connection lost) the end of a query that had answered for all its statements
        if index is None or index not in query.statements:
            if conn.broken:
                raise error  # as the BEGIN or the insert raised it
            return None
        # a later query refused whole (a syntax error anywhere in it) fails at its first answer too: only a
        # query of one chunk is sure to have failed in that chunk
        if number and not silent and index == query.first_running(counts) and query.running(counts) > 1:
            return None
        statement = statements[index]
        position = int(error.diag.statement_position) if error.diag.statement_position else None
        if position is not None:
            position -= query.offset(statements, index)  # the server counts from the start of the whole query
            if not 0 < position <= len(statement.sql):
                if not conn.broken:
                    return None  # not where the count says: trust neither, ask the server statement by statement
                position = None
        failure = failure_of(
            conn, error, statement, position, tag=migration.tag, path=self.path(migration), policy=self.policy
        )
        later = [statements[i].number for i in query.statements if i > index and counts[i]]  # sent with it
        if silent and later:
            failure = failure.with_detail(
                f"the connection broke with no error from the server while statements {statement.number}-{later[-1]} "
                "were in flight (sent together), so the one running is not known"
            )
        raise failure


@dataclass
class _Query:
    """One simple query of a migration: the prelude (the first only), chunks, the bookkeeping row (the last only)."""

    head: str = ""
    statements: list[int] = field(default_factory=list)  # indexes of the migration's statements it carries
    tail: str = ""
    size: int = 0  # bytes of its chunks

    def encoded(self, statements: list[Statement], encoding: str) -> bytes:
        """The query to send; a chunk alone is the bytes read from its file, not a copy of them."""
        if not self.head and not self.tail and len(self.statements) == 1:
            return statements[self.statements[0]].encoded(encoding)
        separator = SEPARATOR.encode(encoding)
        parts = [self.head.encode(encoding)]
        for index in self.statements:
            parts += (statements[index].encoded(encoding), separator)
        parts.append(self.tail.encode(encoding))
        return b"".join(parts)

    def offset(self, statements: list[Statement], index: int) -> int:
        """Where statement ``index`` starts in the query, in characters (as the server counts positions)."""
        at = len(self.head)
        for i in self.statements:
            if i == index:
                return at
            at += len(statements[i].sql) + len(SEPARATOR)
        raise ValueError(f"statement {index} is not in this query")

    def running(self, counts: list[int | None]) -> int:
        """How many of its chunks run anything (the others are only comments)."""
        return sum(1 for i in self.statements if counts[i])

    def first_running(self, counts: list[int | None]) -> int | None:
        """Its first chunk that runs anything: the one a query refused whole answers for."""
        return next((i for i in self.statements if counts[i]), None)


def _queries(head: str, statements: list[Statement], counts: list[int], tail: str) -> list[_Query]:
    """The queries that carry a migration: one, unless its chunks hold more than ``QUERY_BYTES``.

    A chunk of ``QUERY_BYTES`` or more goes alone; the others fill queries up to that size. A query
    that would run nothing (chunks that are only comments, with no prelude or row) is left out:
    the server would answer it with an empty result no count foresees.
    """
    queries = [_Query(head=head)]
    for index, statement in enumerate(statements):
        size = statement.size
        if size >= QUERY_BYTES:
            queries += (_Query(statements=[index], size=size), _Query())
            continue
        if queries[-1].size >= QUERY_BYTES:
            queries.append(_Query())
        queries[-1].statements.append(index)
        queries[-1].size += size
    queries[-1].tail = tail
    return [q for q in queries if q.head or q.tail or any(counts[i] for i in q.statements)]


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
