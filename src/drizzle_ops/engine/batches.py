"""A batch migration: one UPDATE or DELETE run in keyset batches by primary key, each batch its own transaction.

Each batch, in one short transaction under the environment's lock_timeout and statement_timeout:

1. BEGIN, the migration lock (``pg_try_advisory_xact_lock``, waiting politely while another run holds it)
   and the bookkeeping guard (the table is as the plan read it, else the runner plans again);
2. read this migration's progress row: the last key done (none: from the start);
3. find the batch's last key: the ``rows``-th key after it in key order (none: this is the last batch,
   which runs to the end of the table);
4. run the statement with ``AND <key> > last AND <key> <= next`` added to its WHERE;
5. write the progress row (the new last key, rows changed, batches), or, after the last batch, delete
   it and insert the migration's bookkeeping row; COMMIT.

Why no batch runs twice and none is lost: a batch's rows and its progress row commit in the same
transaction, so after a crash, a SIGKILL or a Ctrl-C either both are there or neither is; the next run
reads the last key committed and goes on after it. The lock and the guard make two runs take turns,
batch by batch, never the same batch. And the statement's WHERE excludes the rows it has done
(``batch_statement.where_problem``), so even the whole file run again (drizzle-kit runs it as one
statement) changes no row twice.

Between batches nothing is held: no transaction, no lock. So it needs no session and runs through a
transaction-mode pooler like a migration in one transaction does; another run that starts meanwhile
goes on with the next batch. Before each batch it pauses (``pause=``), and with ``max-lag=`` it waits
while a standby's replay lag (``pg_stat_replication``) is above the limit.

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

from drizzle_ops.engine import bookkeeping, server
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
from drizzle_ops.engine.bookkeeping import Fingerprint, progress_table_name
from drizzle_ops.engine.connection import step
from drizzle_ops.engine.execution import ExecutionPolicy, OnRetry, failure_of, with_lock_retries
from drizzle_ops.engine.lock import MigrationLock
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
        return " (it resumes after the last committed batch; no batch runs twice)"

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
            "select c.oid, n.nspname, c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where c.oid = to_regclass({})"
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
    return (
        sql.SQL("SELECT jsonb_build_array({})::text FROM {}{}{} ORDER BY {} LIMIT 2 OFFSET {}")
        .format(
            listed,
            sql.SQL("ONLY ") if spec.only else sql.SQL(""),
            sql.Identifier(target.schema, target.table),
            where,
            listed,
            sql.Literal(spec.options.rows - 1),
        )
        .as_string(conn)
    )


# -- the progress table ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressRow:
    hash: str  # the file's hash: another version of the file starts again
    last_key: Key | None
    rows: int
    keys_done: int
    batches: int


@dataclass(frozen=True)
class ProgressTable:
    schema: str
    name: str

    @classmethod
    def of(cls, workspace: Workspace) -> ProgressTable:
        return cls(workspace.migrations_schema, progress_table_name(workspace.migrations_table))

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    def exists(self, conn: psycopg.Connection) -> bool:
        row = conn.execute(
            "select to_regclass(format('%%I.%%I', %s::text, %s::text)) is not null", [self.schema, self.name]
        ).fetchone()
        return bool(row and row[0])

    def ensure(self, conn: psycopg.Connection) -> None:
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (tag text PRIMARY KEY, hash text NOT NULL, last_key jsonb, "
                "rows_done bigint NOT NULL DEFAULT 0, keys_done bigint NOT NULL DEFAULT 0, "
                "batches bigint NOT NULL DEFAULT 0, started_at timestamptz NOT NULL DEFAULT now(), "
                "updated_at timestamptz NOT NULL DEFAULT now())"
            ).format(self.ident)
        )

    def read(self, conn: psycopg.Connection, tag: str) -> ProgressRow | None:
        row = conn.execute(
            sql.SQL("select hash, last_key::text, rows_done, keys_done, batches from {} where tag = %s").format(
                self.ident
            ),
            [tag],
        ).fetchone()
        if row is None:
            return None
        return ProgressRow(str(row[0]), key_of(row[1]) if row[1] else None, int(row[2]), int(row[3]), int(row[4]))

    def write(self, conn: psycopg.Connection, tag: str, row: ProgressRow, key_json: str | None) -> None:
        conn.execute(
            sql.SQL(
                "insert into {} (tag, hash, last_key, rows_done, keys_done, batches) values (%s, %s, %s::jsonb, %s, %s, %s) "
                "on conflict (tag) do update set hash = excluded.hash, last_key = excluded.last_key, "
                "rows_done = excluded.rows_done, keys_done = excluded.keys_done, batches = excluded.batches, "
                "updated_at = now()"
            ).format(self.ident),
            [tag, row.hash, key_json, row.rows, row.keys_done, row.batches],
        )

    def finish(self, conn: psycopg.Connection, tag: str) -> None:
        """The migration is done: its row goes, and the table with the last row (the catalog as drizzle-kit leaves it)."""
        conn.execute(sql.SQL("delete from {} where tag = %s").format(self.ident), [tag])
        left = conn.execute(sql.SQL("select exists (select 1 from {})").format(self.ident)).fetchone()
        if not (left and left[0]):
            conn.execute(sql.SQL("DROP TABLE {}").format(self.ident))


def read_progress(conn: psycopg.Connection, workspace: Workspace, migration: Migration) -> ProgressRow | None:
    """What earlier runs left of ``migration``'s batches (for plan and status); reads only, creates nothing."""
    table = ProgressTable.of(workspace)
    if not table.exists(conn):
        return None
    row = table.read(conn, migration.tag)
    return row if row is not None and row.hash == migration.hash else None


# -- standbys -------------------------------------------------------------------------------------------------

LAG_SQL = """
select count(*) filter (where state is null), max(extract(epoch from replay_lag))::float8
from pg_stat_replication
"""


@dataclass(frozen=True)
class Lag:
    seconds: float | None  # the largest replay lag of the standbys we may see; None: none, or all caught up
    hidden: int  # standbys whose details this role may not read (no pg_read_all_stats)


def replication_lag(conn: psycopg.Connection) -> Lag:
    """The standbys' replay lag, from ``pg_stat_replication`` (no standby: nothing, so never a wait)."""
    row = conn.execute(LAG_SQL).fetchone()
    if row is None:
        return Lag(None, 0)
    return Lag(float(row[1]) if row[1] is not None else None, int(row[0] or 0))


# -- the run --------------------------------------------------------------------------------------------------


@dataclass
class _Done:
    """What one batch did."""

    final: bool
    changed: int
    state: ProgressRow
    committed: Committed | None = None


@dataclass
class BatchRun:
    """One batch migration, from wherever earlier runs left it to its bookkeeping row."""

    conn: psycopg.Connection
    workspace: Workspace
    migration: Migration
    expected: Fingerprint  # the bookkeeping table as the plan read it
    lock: MigrationLock
    policy: ExecutionPolicy
    record: Callable[[psycopg.Connection], int]  # inserts the bookkeeping row, returns its id
    report: OnReport
    warn: Callable[[str], None]
    on_retry: OnRetry
    before_commit: Callable[[psycopg.Connection, Migration], None] | None = None
    spec: BatchStatement = field(init=False)
    progress: ProgressTable = field(init=False)
    committed_batches: int = field(default=0, init=False)
    committed_rows: int = field(default=0, init=False)
    path: str = field(default="", init=False)
    hidden_warned: bool = field(default=False, init=False)  # said once: standbys whose lag this role cannot read

    def __post_init__(self) -> None:
        self.spec = statement_of(self.migration, self.workspace)
        self.progress = ProgressTable.of(self.workspace)
        self.path = display_path(self.migration.sql_path, self.workspace.root)

    def run(self) -> Committed:
        """All batches left, then the bookkeeping row with the last one; Stale when another run changed the table."""
        try:
            return self._run()
        except KeyboardInterrupt:
            raise BatchInterrupted(self._interrupted()) from None

    def _interrupted(self) -> str:
        if not self.committed_batches:
            return f"interrupted: {self.migration.tag} ran no batch to the end in this run; run migrate again"
        return (
            f"interrupted: {self.migration.tag} stopped after batch {self.committed_batches} "
            f"({self.committed_rows:,} rows changed so far); the committed batches stay and `migrate` resumes after "
            "them (the batch in progress, if any, was rolled back)"
        )

    def _run(self) -> Committed:
        target, start = self._start()
        total = self._estimate(target)
        began = time.monotonic()
        resumed = start.batches if start is not None else 0
        walked_before = start.keys_done if start is not None else 0
        self.committed_batches, self.committed_rows = resumed, start.rows if start is not None else 0
        paused = 0.0  # seconds of this run spent in pauses: the pace counts the batches alone
        while True:
            self._wait_for_standbys(began, total, resumed)
            done = self._batch(target)
            self.committed_batches, self.committed_rows = done.state.batches, done.state.rows
            elapsed = time.monotonic() - began
            keys = done.state.keys_done if not done.final else max(done.state.keys_done, total or 0)
            shown_total = max(total, keys) if total is not None else None
            self.report(
                BatchReport(
                    self.migration.tag,
                    done.state.batches,
                    done.state.rows,
                    keys,
                    shown_total,
                    elapsed,
                    0.0 if done.final else self._left(keys - walked_before, elapsed - paused, shown_total, keys),
                    resumed_after=resumed,
                    done=done.final,
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

    def _report_now(self, began: float, total: int | None, resumed: int, lag: float | None) -> None:
        self.report(
            BatchReport(
                self.migration.tag,
                self.committed_batches,
                self.committed_rows,
                0,
                total,
                time.monotonic() - began,
                None,
                resumed_after=resumed,
                waiting_for_lag=lag,
            )
        )

    def _start(self) -> tuple[Target, ProgressRow | None]:
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
        return target, found

    def _estimate(self, target: Target) -> int | None:
        stats = server.table_stats(self.conn, target.schema, target.table)
        return stats.rows if stats is not None and stats.rows >= 0 else None

    def _wait_for_standbys(self, began: float, total: int | None, resumed: int) -> None:
        limit = self.spec.options.max_lag
        if limit is None:
            return
        while True:
            with step(self.conn, "reading the standbys' replay lag (pg_stat_replication)"):
                lag = replication_lag(self.conn)
            if lag.hidden and not self.hidden_warned:
                self.hidden_warned = True
                self.warn(
                    f"role {self.conn.info.user} cannot read the replay lag of {lag.hidden} standby(s) "
                    "(pg_stat_replication needs pg_read_all_stats or pg_monitor): max-lag does not wait for them"
                )
            if lag.seconds is None or lag.seconds <= limit:
                return
            self._report_now(began, total, resumed, lag.seconds)
            time.sleep(LAG_POLL_SECONDS)

    def _batch(self, target: Target) -> _Done:
        """One batch in its own transaction, retried after a lock timeout; its failure says what stays."""
        done: list[_Done] = []

        def attempt() -> None:
            done.append(self._attempt(target))

        try:
            with_lock_retries(attempt, self.conn, self.policy, self.on_retry)
        except BatchFailed as failure:
            failure.batches_done = self.committed_batches
            raise failure.with_detail(self._failure_detail(failure), partial=self.committed_batches > 0) from None
        return done[-1]

    def _failure_detail(self, failure: BatchFailed) -> str:
        notes = [failure.detail] if failure.detail else []
        batch = self.committed_batches + 1
        if self.committed_batches:
            notes.append(
                f"batches 1-{self.committed_batches} ({self.committed_rows:,} rows changed) are committed and stay; "
                f"batch {batch} was rolled back"
            )
        else:
            notes.append(f"batch {batch} was rolled back")
        return "; ".join(notes)

    def _attempt(self, target: Target) -> _Done:
        conn, spec, migration = self.conn, self.spec, self.migration
        schema, table = self.workspace.migrations_schema, self.workspace.migrations_table
        self.lock.begin(conn)  # BEGIN and the lock, waiting (outside any transaction) while another run holds it
        try:
            if bookkeeping.fingerprint(conn, schema, table) != self.expected:
                raise Stale  # another run applied or undid a migration: the runner plans again
            server.set_local_timeouts(
                conn, lock_timeout=self.policy.lock_timeout, statement_timeout=self.policy.statement_timeout
            )
            with step(conn, f"reading the batch progress of {migration.tag}"):
                state = self.progress.read(conn, migration.tag) if self.progress.exists(conn) else None
            if state is not None and state.hash != migration.hash:
                state = None  # another version of the file: from the start (said once, when the run began)
            after = state.last_key if state is not None else None
            bound = self._keys(boundary_sql(conn, spec, target, after))
            final = len(bound) < 2
            upto_json = None if final else str(bound[0][0])
            upto = key_of(upto_json) if upto_json is not None else None
            changed = self._changed(spec.batch_sql(conn, target.keys, after, upto))
            before = state or ProgressRow(migration.hash, None, 0, 0, 0)
            walked = before.keys_done + (spec.options.rows if not final else len(bound))
            now = ProgressRow(migration.hash, upto, before.rows + changed, walked, before.batches + 1)
            if not final:
                with step(conn, f"writing the batch progress of {migration.tag}"):
                    self.progress.write(conn, migration.tag, now, upto_json)
                command(conn, "COMMIT")
                return _Done(False, changed, now)
            with step(conn, f"recording {migration.tag} after its last batch"):
                if self.progress.exists(conn):
                    self.progress.finish(conn, migration.tag)
                row_id = self.record(conn)
            if self.before_commit is not None:
                self.before_commit(conn, migration)
            confirm = bookkeeping.committed_row_sql(conn, schema, table, row_id)
            with step(conn, f"committing the last batch of {migration.tag}"):
                confirmed = commit_confirming(conn, confirm)
            return _Done(True, changed, now, Committed(conn, row_id, confirmed))
        except BaseException:
            rollback_open(conn, quietly=True)
            raise

    def _keys(self, text: str) -> list[tuple[object, ...]]:
        """The boundary query: it reads the statement's table, so its failure (a lock timeout) is the statement's."""
        try:
            return self.conn.execute(text).fetchall()
        except psycopg.Error as exc:
            raise self._failure(exc) from None

    def _changed(self, text: str) -> int:
        """The statement for one batch; the rows it changed."""
        try:
            return max(self.conn.execute(text).rowcount, 0)
        except psycopg.Error as exc:
            raise self._failure(exc) from None

    def _failure(self, exc: psycopg.Error) -> MigrationFailed:
        statement = self.spec.statement
        return failure_of(
            self.conn,
            exc,
            statement,
            self.spec.position,
            tag=self.migration.tag,
            path=self.path,
            failure=BatchFailed,
            policy=self.policy,
        )


