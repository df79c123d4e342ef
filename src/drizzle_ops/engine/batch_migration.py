"""A batch migration: one UPDATE or DELETE run in keyset batches by primary key, each batch its own transaction.

Each batch, in one short transaction under the environment's lock_timeout and statement_timeout:

1. BEGIN, the migration lock (``pg_try_advisory_xact_lock``; while another run holds it, roll back and wait
   politely), the bookkeeping guard (the table is as the plan read it, else the runner plans again) and the
   progress guard (this migration's progress row still holds the last key this run committed, else another
   run took a turn: read it and go on from there);
2. the statement with ``AND <key> > <last key done> AND <key> <= <this batch's last key>`` added to its
   WHERE (none for the last batch, which runs to the end of the table);
3. the progress row (the new last key, rows changed, batches), the query for where the next batch ends
   (the ``rows``-th key after this one: fewer keys left make the next batch the last), and COMMIT; after
   the last batch, instead, the progress row goes and the migration's bookkeeping row is inserted.

1 and 2 travel as one simple query, 3 as another: two round trips a batch.

Why no batch runs twice and none is lost: a batch's rows and its progress row commit in the same
transaction, so after a crash, a SIGKILL or a Ctrl-C either both are there or neither is; the next run
reads the last key committed and goes on after it. The lock and the guard make two runs take turns,
batch by batch, never the same batch. And the statement's WHERE excludes the rows it has done
(``batch_statement.where_problem``), so even the whole file run again (drizzle-kit runs it as one
statement) changes no row twice.

Between batches nothing is held: no transaction, no lock. So it needs no session and runs through a
transaction-mode pooler like a migration in one transaction does; another run that starts meanwhile
goes on with the next batch. After each batch it pauses (``pause=``), and with ``max-lag=`` it waits
before the next one while a standby's replay lag (``pg_stat_replication``) is above the limit.

Progress lives in a table of ours beside the bookkeeping table (``<table>_batches``, in the same
schema), created when a batch migration first runs and dropped with its last row, so a finished run
leaves the catalog as drizzle-kit's run of the same file does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from psycopg.pq.abc import PGresult

from drizzle_ops.engine import batching, bookkeeping, server
from drizzle_ops.engine.batch_progress import ProgressRow, ProgressTable
from drizzle_ops.engine.batch_statement import (
    BatchProblem,
    BatchStatement,
    Key,
    KeyColumn,
    batch_statement,
    key_condition,
    key_of,
)
from drizzle_ops.engine.batching import command, commit_confirming, rollback_open
from drizzle_ops.engine.bookkeeping import Fingerprint
from drizzle_ops.engine.connection import step
from drizzle_ops.engine.execution import ExecutionPolicy, OnRetry, failure_of, with_lock_retries
from drizzle_ops.engine.lock import BEGIN, LockBusy, MigrationLock
from drizzle_ops.engine.one_transaction import Committed, Stale, begin_locked_and_unchanged
from drizzle_ops.engine.workspace import Migration, Workspace
from drizzle_ops.errors import MigrationFailed, UserError
from drizzle_ops.paths import display_path

LAG_POLL_SECONDS = 1.0


# -- what the edge hears ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchReport:
    """Where a batch migration stands, after each batch (and while it waits for a standby)."""

    tag: str
    batches: int  # committed so far, by every run
    rows: int  # rows the statement changed so far, by every run
    keys_done: int  # keys walked so far
    keys_total: int | None  # the table's rows (the planner's estimate); None: unknown
    seconds: float  # this run's time so far
    seconds_left: float | None  # estimate from this run's pace; None: not known yet
    resumed_after: int = 0  # batches an earlier run committed before this one began
    waiting_for_lag: float | None = None  # a standby's replay lag (s) above max-lag: the next batch waits
    done: bool = False


OnReport = Callable[[BatchReport], None]


class BatchFailed(MigrationFailed):
    """A batch failed and was rolled back; the batches before it are committed and stay."""

    batches_done = 0

    def state(self) -> str:
        if not self.batches_done:
            return f"nothing of {self.tag} was committed"
        return f"{self.tag} was not recorded as applied; its {self.batches_done} committed batch(es) stay"

    def rerun_note(self) -> str:
        return (
            " (the same file resumes after the last committed batch, no batch twice; an edited one starts again "
            "from the first key, its WHERE passing over the rows done)"
        )

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "batches_committed": self.batches_done}


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C between or during batches: what stays, and that the next run resumes (the edge prints it)."""


def refusal(migration: Migration, workspace: Workspace, problem: BatchProblem) -> UserError:
    """A batch migration that cannot run in batches: bad input (exit 2), said with the file and line."""
    where = display_path(migration.sql_path, workspace.root) + (f":{problem.line}" if problem.line else "")
    return UserError(f"{migration.tag} ({where}) cannot run in batches: {problem.reason}; nothing of it ran")


def statement_of(migration: Migration, workspace: Workspace) -> BatchStatement:
    """The migration's batch statement, or the refusal (exit 2) saying why it cannot run in batches."""
    try:
        return batch_statement(migration.text, migration.statements)
    except BatchProblem as problem:
        raise refusal(migration, workspace, problem) from None


# -- the table to walk ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The statement's table as the catalog has it, and its primary key in key order."""

    schema: str
    table: str
    keys: list[KeyColumn]

    @property
    def shown(self) -> str:
        return f"{self.schema}.{self.table}"


_KEY_SQL = """
select a.attname, format_type(a.atttypid, a.atttypmod), t.typcategory
from pg_index i
cross join lateral unnest(i.indkey::int2[]) with ordinality as k(attnum, n)
join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
join pg_type t on t.oid = a.atttypid
where i.indrelid = %s and i.indisprimary
order by k.n
"""


def find_target(conn: psycopg.Connection, spec: BatchStatement) -> Target:
    """The table and its primary key; BatchProblem when there is no such table or it cannot be walked."""
    name = sql.Identifier(spec.schema, spec.table) if spec.schema else sql.Identifier(spec.table)
    row = conn.execute(
        sql.SQL(
            "select c.oid, n.nspname, c.relname, c.relkind from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace where c.oid = to_regclass({})"
        ).format(sql.Literal(name.as_string(conn)))
    ).fetchone()
    if row is None or row[3] not in ("r", "p"):
        raise BatchProblem(f"there is no table {spec.shown_table} to run it on", spec.marker_line)
    oid, schema, table, _kind = row
    keys = conn.execute(_KEY_SQL, [oid]).fetchall()
    if not keys:
        raise BatchProblem(
            f"{schema}.{table} has no primary key, and batches walk the primary key; add one, or run the "
            "statement without the batch marker",
            spec.marker_line,
        )
    for column, type_name, category in keys:
        if category in ("A", "C", "P"):
            raise BatchProblem(
                f"the primary key column {column} of {schema}.{table} is of type {type_name}, which batches cannot "
                "walk in order",
                spec.marker_line,
            )
    moved = [str(column) for column, _, _ in keys if str(column).lower() in {a.lower() for a in spec.assigned}]
    if moved:
        raise BatchProblem(
            f"the UPDATE assigns the primary key column {', '.join(moved)}, which batches walk; keep the key as it is",
            spec.marker_line,
        )
    return Target(str(schema), str(table), [KeyColumn(str(c), str(t)) for c, t, _ in keys])


def boundary_sql(conn: psycopg.Connection, spec: BatchStatement, target: Target, after: Key | None) -> str:
    """The key ``rows`` keys after ``after`` and the one past it (fewer rows back: the end is near)."""
    columns = [sql.Identifier(key.name) for key in target.keys]
    listed = sql.SQL(", ").join(columns)
    where: sql.Composable = sql.SQL("")
    if after is not None:
        where = sql.SQL(" WHERE ") + sql.SQL(key_condition(conn, columns, ">", target.keys, after))
    return (  # the keys as JSON for the two rows returned only, not for the rows skipped
        sql.SQL("SELECT jsonb_build_array({})::text FROM (SELECT {} FROM {}{}{} ORDER BY {} LIMIT 2 OFFSET {}) AS k")
        .format(
            listed,
            listed,
            sql.SQL("ONLY ") if spec.only else sql.SQL(""),
            sql.Identifier(target.schema, target.table),
            where,
            listed,
            sql.Literal(spec.options.rows - 1),
        )
        .as_string(conn)
    )


def _keys(result: PGresult) -> list[str]:
    """The boundary query's answer: up to two keys, as JSON text."""
    return [bytes(result.get_value(i, 0) or b"").decode() for i in range(result.ntuples)]


# -- the run --------------------------------------------------------------------------------------------------


class _Moved(Exception):
    """The progress row is not where this run left it: another run took a turn (internal; read it again)."""


@dataclass
class _Done:
    """What one batch did: the progress it committed, and for the last one the bookkeeping row."""

    state: ProgressRow
    committed: Committed | None = None  # the last batch: the migration's row


@dataclass
class BatchRun:
    """One batch migration, from wherever earlier runs left it to its bookkeeping row.

    Two round trips per batch, each one simple query: BEGIN, the lock, the bookkeeping guard, the progress guard
    (the row is where this run left it), the timeouts and the statement; then the progress row, the query for
    where the next batch ends, and COMMIT. That query runs in the batch before, so the next batch's statement
    can travel with its BEGIN: the key it returns only bounds the batch, it decides nothing else (the ranges
    stay contiguous: each starts after the last key committed).
    """

    conn: psycopg.Connection
    workspace: Workspace
    migration: Migration
    spec: BatchStatement  # the marked statement, as statement_of found it
    expected: Fingerprint  # the bookkeeping table as the plan read it
    lock: MigrationLock
    policy: ExecutionPolicy
    record: Callable[[psycopg.Connection], int]  # inserts the bookkeeping row, returns its id
    report: OnReport
    warn: Callable[[str], None]
    on_retry: OnRetry
    before_commit: Callable[[psycopg.Connection, Migration], None] | None = None
    progress: ProgressTable = field(init=False)
    state: ProgressRow | None = field(default=None, init=False)  # the progress committed last, as this run knows it
    next: list[str] | None = field(default=None, init=False)  # where the next batch ends (None: read it first)
    path: str = field(default="", init=False)
    hidden_warned: bool = field(default=False, init=False)  # said once: standbys whose lag this role cannot read
    prelude: tuple[str, ...] = field(default=(), init=False)  # BEGIN, the lock's guard, the bookkeeping guard
    timeouts: tuple[str, ...] = field(default=(), init=False)  # SET LOCAL lock_timeout, statement_timeout

    def __post_init__(self) -> None:
        self.progress = ProgressTable.of(self.workspace)
        self.path = display_path(self.migration.sql_path, self.workspace.root)
        # the same for every batch of this run: written once
        schema, table, policy = self.workspace.migrations_schema, self.workspace.migrations_table, self.policy
        self.prelude = (
            BEGIN,
            self.lock.guard(),
            bookkeeping.fingerprint_guard(self.conn, schema, table, self.expected),
        )
        self.timeouts = tuple(
            server.local_timeouts_sql(
                self.conn, lock_timeout=policy.lock_timeout, statement_timeout=policy.statement_timeout
            )
        )

    @property
    def batches(self) -> int:
        return self.state.batches if self.state is not None else 0

    @property
    def rows(self) -> int:
        return self.state.rows if self.state is not None else 0

    def run(self) -> Committed:
        """All batches left, then the bookkeeping row with the last one; Stale when another run changed the table."""
        try:
            return self._run()
        except KeyboardInterrupt:
            raise BatchInterrupted(self._interrupted()) from None

    def _interrupted(self) -> str:
        if not self.batches:
            return f"interrupted: {self.migration.tag} committed no batch yet; run migrate again"
        return (
            f"interrupted: {self.migration.tag} stopped after batch {self.batches} ({self.rows:,} rows changed so "
            "far); the committed batches stay and `migrate` resumes after them (the batch in progress, if any, "
            "was rolled back)"
        )

    def _run(self) -> Committed:
        target = self._start()
        total = self._estimate(target)
        began = time.monotonic()
        resumed = self.batches
        walked_before = self.state.keys_done if self.state is not None else 0
        paused = 0.0  # seconds of this run spent in pauses: the pace counts the batches alone
        while True:
            self._wait_for_standbys(began, total, resumed)
            done = self._batch(target)
            self.state = done.state
            elapsed = time.monotonic() - began
            final = done.committed is not None
            keys = max(done.state.keys_done, total or 0) if final else done.state.keys_done
            shown_total = max(total, keys) if total is not None else None
            left = 0.0 if final else self._left(keys - walked_before, elapsed - paused, shown_total, keys)
            self.report(
                BatchReport(
                    self.migration.tag,
                    done.state.batches,
                    done.state.rows,
                    keys,
                    shown_total,
                    elapsed,
                    left,
                    resumed_after=resumed,
                    done=final,
                )
            )
            if done.committed is not None:
                return done.committed
            if self.spec.options.pause:
                time.sleep(self.spec.options.pause)
                paused += self.spec.options.pause

    def _left(self, walked: int, seconds: float, total: int | None, keys_done: int) -> float | None:
        """Seconds left at this run's pace so far (keys walked per second of batches), with the pauses to come."""
        if total is None or walked <= 0 or seconds <= 0:
            return None
        remaining = max(total - keys_done, 0)
        batches_left = -(-remaining // self.spec.options.rows)
        return remaining / (walked / seconds) + batches_left * self.spec.options.pause

    def _start(self) -> Target:
        """Under the lock: the table and its key, the progress table, and where earlier runs stopped."""
        conn, schema, table = self.conn, self.workspace.migrations_schema, self.workspace.migrations_table
        with step(conn, f"taking the migration lock for {self.migration.tag}"):
            begin_locked_and_unchanged(conn, self.lock, schema, table, self.expected)
        try:
            try:
                target = find_target(conn, self.spec)
            except BatchProblem as problem:
                raise refusal(self.migration, self.workspace, problem) from None
            with step(conn, f"creating the batch progress table {self.progress.schema}.{self.progress.name}"):
                self.progress.ensure(conn)
                found = self.progress.read(conn, self.migration.tag)
            command(conn, "COMMIT")
        except BaseException:
            rollback_open(conn, quietly=True)
            raise
        if found is not None and found.hash != self.migration.hash:
            self.warn(
                f"{self.migration.tag} changed since its batches began ({found.batches} batch(es), {found.rows:,} rows "
                "done by the earlier version); it starts again from the first key, and its WHERE passes over the rows "
                "already done"
            )
            found = None
        self.state = found
        return target

    def _estimate(self, target: Target) -> int | None:
        stats = server.table_stats(self.conn, target.schema, target.table)
        return stats.rows if stats is not None and stats.rows >= 0 else None

    def _wait_for_standbys(self, began: float, total: int | None, resumed: int) -> None:
        limit = self.spec.options.max_lag
        if limit is None:
            return
        while True:
            with step(self.conn, "reading the standbys' replay lag (pg_stat_replication)"):
                lag = server.replication_lag(self.conn)
            if lag.hidden and not self.hidden_warned:
                self.hidden_warned = True
                self.warn(
                    f"role {self.conn.info.user} cannot read the replay lag of {lag.hidden} standby(s) "
                    "(pg_stat_replication needs pg_read_all_stats or pg_monitor): max-lag does not wait for them"
                )
            if lag.seconds is None or lag.seconds <= limit:
                return
            keys = self.state.keys_done if self.state is not None else 0
            self.report(
                BatchReport(
                    self.migration.tag,
                    self.batches,
                    self.rows,
                    keys,
                    max(total, keys) if total is not None else None,
                    time.monotonic() - began,
                    None,
                    resumed_after=resumed,
                    waiting_for_lag=lag.seconds,
                )
            )
            time.sleep(LAG_POLL_SECONDS)

    def _batch(self, target: Target) -> _Done:
        """One batch in its own transaction, retried after a lock timeout; its failure says what stays."""
        done: list[_Done] = []

        def attempt() -> None:
            done.append(self._attempt(target))

        try:
            with_lock_retries(attempt, self.conn, self.policy, self.on_retry)
        except BatchFailed as failure:
            failure.batches_done = self.batches
            raise failure.with_detail(self._failure_detail(failure), partial=self.batches > 0) from None
        return done[-1]

    def _failure_detail(self, failure: BatchFailed) -> str:
        notes = [failure.detail] if failure.detail else []
        batch = self.batches + 1
        if self.batches:
            notes.append(
                f"batches 1-{self.batches} ({self.rows:,} rows changed) are committed and stay; batch {batch} was "
                "rolled back"
            )
        else:
            notes.append(f"batch {batch} was rolled back")
        return "; ".join(notes)

    def _attempt(self, target: Target) -> _Done:
        """BEGIN … COMMIT of one batch; the transaction is rolled back on any failure."""
        while True:
            if self.next is None:
                self.next = self._boundary(target)
            try:
                changed = self._open(target, self.next)
                break
            except LockBusy:
                self.lock.wait_while_held(self.conn)  # nothing is open: wait politely, then try again
            except _Moved:  # another run took a turn: go on from where it left the batches
                with step(self.conn, f"reading the batch progress of {self.migration.tag}"):
                    self.state = self.progress.read(self.conn, self.migration.tag)
                self.next = None
        try:
            return self._close(target, self.next, changed)
        except BaseException:
            rollback_open(self.conn, quietly=True)
            raise

    def _range(self, bound: list[str]) -> tuple[Key | None, Key | None, str | None]:
        """The batch's keys: after the last one done, up to the first of ``bound`` (none: to the end of the table)."""
        after = self.state.last_key if self.state is not None else None
        upto_json = bound[0] if len(bound) == 2 else None  # fewer: nothing past this batch, the last one
        return after, key_of(upto_json) if upto_json is not None else None, upto_json

    def _boundary(self, target: Target) -> list[str]:
        """Where the next batch ends, read in a transaction of its own (at the start, or after another run's turn)."""
        conn = self.conn
        after = self.state.last_key if self.state is not None else None
        query = ";\n".join([BEGIN, *self.timeouts, boundary_sql(conn, self.spec, target, after), "COMMIT"])
        outcome = self._exchange(query)
        error = outcome.error(conn)
        if error is not None:  # it reads the statement's table: its failure (a lock timeout) is the statement's
            rollback_open(conn, quietly=True)
            raise self._failure(error)
        return _keys(outcome.results[-2])

    def _open(self, target: Target, bound: list[str]) -> int:
        """One round trip: BEGIN, the lock, both guards, the timeouts and the statement for this batch; rows changed.

        The transaction stays open for :meth:`_close`; on a failure it is rolled back.
        """
        conn, migration = self.conn, self.migration
        after, upto, _ = self._range(bound)
        statements = [
            *self.prelude,
            self.progress.guard_sql(conn, migration.tag, self.state, migration.hash),
            *self.timeouts,
            self.spec.batch_sql(conn, target.keys, after, upto),
        ]
        outcome = self._exchange(";\n".join(statements))
        failed_at = outcome.failed_at()
        if failed_at is None:
            return max(int(outcome.results[-1].command_tuples or 0), 0)
        error = outcome.error(conn)
        assert error is not None
        rollback_open(conn, quietly=True)
        if error.diag.sqlstate == "22P02" and failed_at in (1, 2, 3) and not outcome.lost:  # a guard said no
            raise (LockBusy, Stale, _Moved)[failed_at - 1]
        if failed_at == len(statements) - 1:
            raise self._failure(error)
        with step(conn, f"starting batch {self.batches + 1} of {migration.tag}"):
            raise error

    def _close(self, target: Target, bound: list[str], changed: int) -> _Done:
        """Inside the batch's transaction: the progress row, where the next batch ends, and COMMIT in one round trip;
        after the last batch, the bookkeeping row instead, committed and confirmed."""
        conn, spec, migration = self.conn, self.spec, self.migration
        _after, upto, upto_json = self._range(bound)
        before = self.state or ProgressRow(migration.hash, None, 0, 0, 0)
        walked = before.keys_done + (spec.options.rows if upto is not None else len(bound))
        now = ProgressRow(migration.hash, upto_json, before.rows + changed, walked, before.batches + 1)
        if upto is not None:
            query = ";\n".join(
                [self.progress.write_sql(conn, migration.tag, now), boundary_sql(conn, spec, target, upto), "COMMIT"]
            )
            outcome = self._exchange(query)
            failed_at, error = outcome.failed_at(), outcome.error(conn)
            if error is not None:
                rollback_open(conn, quietly=True)
                if failed_at == 1:
                    raise self._failure(error)
                with step(conn, f"writing the batch progress of {migration.tag}"):
                    raise error
            self.next = _keys(outcome.results[1])
            return _Done(now)
        schema, table = self.workspace.migrations_schema, self.workspace.migrations_table
        with step(conn, f"recording {migration.tag} after its last batch"):
            if self.progress.exists(conn):
                self.progress.finish(conn, migration.tag)
            row_id = self.record(conn)
        if self.before_commit is not None:
            self.before_commit(conn, migration)
        confirm = bookkeeping.committed_row_sql(conn, schema, table, row_id)
        with step(conn, f"committing the last batch of {migration.tag}"):
            confirmed = commit_confirming(conn, confirm)
        self.next = None
        return _Done(now, Committed(conn, row_id, confirmed))

    def _exchange(self, query: str) -> batching.Exchange:
        conn = self.conn
        try:
            return batching.exchange(conn, query.encode(conn.info.encoding))
        except BaseException:  # Ctrl-C: the query was cancelled; leave no transaction open behind us
            rollback_open(conn, quietly=True)
            raise

    def _failure(self, exc: psycopg.Error) -> MigrationFailed:
        return failure_of(
            self.conn,
            exc,
            self.spec.statement,
            self.spec.position,
            tag=self.migration.tag,
            path=self.path,
            failure=BatchFailed,
            policy=self.policy,
        )
