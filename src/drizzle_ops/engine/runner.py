"""Apply migrations: under the advisory lock, one transaction per migration.

Each migration's statements and its bookkeeping row commit together or not at
all, so a failure leaves earlier migrations applied and recorded and nothing of
the failed one behind.

Round trips: a migration's BEGIN, timeouts, statements and bookkeeping row travel
as ONE simple query, and COMMIT follows once the server has answered for every
statement: two round trips per migration, whatever its number of statements.
The server runs the statements one after the other, as if they came one by one,
and stops at the first error; the number of results before the error names the
failed statement, so the report (statement, file:line, SQLSTATE) is the one the
statement-by-statement run gives, and the lock-timeout retries see the same
failure. What cannot travel that way (``pg.simple_query_statements`` is not sure
how the server splits it), and a failure that cannot be placed (a syntax error
anywhere: the server parses the whole text before running any of it), go
statement by statement as before, from a state where nothing of the migration
ran, so their report is exactly the old one. A migration that cannot run in a
transaction keeps its own statement-by-statement path.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import psycopg
from psycopg import pq

from drizzle_ops.engine import pg
from drizzle_ops.engine.plan import Entry, compute_status, plan_migrate
from drizzle_ops.engine.transactionality import SqlSource, concurrent_indexes, is_non_transactional
from drizzle_ops.engine.workspace import Migration, Statement, Workspace, line_of
from drizzle_ops.errors import MigrationFailed
from drizzle_ops.paths import display_path


@dataclass(frozen=True)
class ExecutionPolicy:
    """Per-environment limits: how long a statement may wait for a table lock, and retries when it can't get one."""

    lock_timeout: str | None = None  # e.g. "5s"; SET LOCAL per migration
    statement_timeout: str | None = None
    retries: int = 0  # extra attempts after SQLSTATE 55P03 (lock_not_available)
    backoff: float = 0.5  # first wait in seconds; doubles each attempt, with jitter
    environment: str | None = None  # the invoke.yaml environment these came from, for error messages

    def describe(self, sqlstate: str | None) -> str | None:
        """For a timeout error: which setting stopped it, its value, and who set it."""
        name = {LOCK_NOT_AVAILABLE: "lock_timeout", QUERY_CANCELED: "statement_timeout"}.get(sqlstate or "")
        if name is None:
            return None
        value = self.lock_timeout if name == "lock_timeout" else self.statement_timeout
        if value and self.environment:
            return f"{name} {value} (set by environment {self.environment} in invoke.yaml)"
        if value:
            return f"{name} {value} (set by drizzle-ops)"
        return f"{name} (not set by drizzle-ops: a role or database default, or PGOPTIONS)"

    def delay(self, attempt: int) -> float:
        base = self.backoff * 2.0 ** (attempt - 1)
        return base / 2 + random.uniform(0, base / 2)  # "equal jitter": never zero, never in lockstep


LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"  # statement_timeout (or a cancel request)


class Progress(Protocol):
    def lock_waiting(self, holder: pg.LockHolder | None) -> None: ...
    def migration_started(self, migration: Migration, statements: int) -> None: ...
    def migration_finished(self, migration: Migration, seconds: float) -> None: ...
    def migration_failed(self, migration: Migration) -> None: ...
    def warning(self, message: str) -> None: ...
    def retrying(self, migration: Migration, attempt: int, delay: float, reason: str) -> None: ...


AfterEach = Callable[[psycopg.Connection, Migration], None]
OnRetry = Callable[[int, float, str], None]  # attempt, delay in seconds, why (the blocker when known)


class SilentProgress:
    def lock_waiting(self, holder: pg.LockHolder | None) -> None:
        pass

    def migration_started(self, migration: Migration, statements: int) -> None:
        pass

    def migration_finished(self, migration: Migration, seconds: float) -> None:
        pass

    def migration_failed(self, migration: Migration) -> None:
        pass

    def warning(self, message: str) -> None:
        pass

    def retrying(self, migration: Migration, attempt: int, delay: float, reason: str) -> None:
        pass


@dataclass
class AppliedMigration:
    tag: str
    statements: int
    seconds: float


@dataclass
class MigrateResult:
    applied: list[AppliedMigration] = field(default_factory=list)
    planned: list[Migration] = field(default_factory=list)
    lock_waited: float = 0.0
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False


def status(conn: psycopg.Connection, workspace: Workspace) -> list[Entry]:
    rows = pg.read_applied(conn, workspace.migrations_schema, workspace.migrations_table)
    return compute_status(workspace.migrations, rows, by_name=workspace.records_names)


def record(conn: psycopg.Connection, workspace: Workspace, migration: Migration) -> None:
    """The bookkeeping row, as the workspace's drizzle-kit version writes it."""
    pg.insert_applied(
        conn,
        workspace.migrations_schema,
        workspace.migrations_table,
        migration.hash,
        migration.when,
        name=migration.tag if workspace.records_names else None,
    )


def run_statement(
    conn: psycopg.Connection,
    statement: Statement,
    *,
    tag: str,
    path: str,
    failure: type[MigrationFailed] = MigrationFailed,
    policy: ExecutionPolicy | None = None,
    **context: Any,
) -> None:
    """Send one chunk as drizzle would; on an error raise ``failure`` naming tag, statement, file:line and SQLSTATE.

    Shared by migrations and down files, so both report failures the same way.
    """
    try:
        conn.execute(statement.sql)  # no parameters: simple protocol, like node-postgres
    except psycopg.Error as exc:
        position = int(exc.diag.statement_position) if exc.diag.statement_position else None
        raise _failed(
            conn, exc, statement, position, tag=tag, path=path, failure=failure, policy=policy, **context
        ) from None


def _failed(
    conn: psycopg.Connection,
    exc: psycopg.Error,
    statement: Statement,
    position: int | None,
    *,
    tag: str,
    path: str,
    failure: type[MigrationFailed] = MigrationFailed,
    policy: ExecutionPolicy | None = None,
    **context: Any,
) -> MigrationFailed:
    """The report of ``statement`` failing with ``exc``; ``position`` counts characters from the statement's start."""
    diag = exc.diag
    return failure(
        tag=tag,
        statement_number=statement.number,
        line=line_of(statement, position),
        path=path,
        sqlstate=diag.sqlstate,
        server_message=diag.message_primary or str(exc).strip(),
        hint=diag.message_hint,
        detail=diag.message_detail,
        role=conn.info.user,
        setting=(policy or ExecutionPolicy()).describe(diag.sqlstate),
        connection_lost=conn.broken,
        **context,
    )


# -- a migration in two round trips ------------------------------------------------------------------

SEPARATOR = "\n;\n"  # between chunks sent together: the newline ends a trailing -- comment, the ';' the statement
BATCHING_SINCE = 130000  # PostgreSQL 13: statement_timeout counts per statement of a multi-statement query


class _Run:
    """What stays the same from one migration to the next, worked out once per run."""

    def __init__(self, conn: psycopg.Connection, workspace: Workspace, policy: ExecutionPolicy) -> None:
        self.conn = conn
        self.workspace = workspace
        self.policy = policy
        self.insert = pg.RowInsert(
            conn, workspace.migrations_schema, workspace.migrations_table, with_names=workspace.records_names
        )
        timeouts = pg.local_timeouts_sql(
            conn, lock_timeout=policy.lock_timeout, statement_timeout=policy.statement_timeout
        )
        self.prelude = "".join(f"{statement};\n" for statement in ["BEGIN", *timeouts])
        self.prelude_results = 1 + len(timeouts)
        self.batching = conn.info.server_version >= BATCHING_SINCE

    def path(self, migration: Migration) -> str:
        """The file as reports show it; worked out for a report, or once for a migration sent chunk by chunk."""
        return display_path(migration.sql_path, self.workspace.root)

    def name(self, migration: Migration) -> str | None:
        return migration.tag if self.workspace.records_names else None

    def record(self, migration: Migration) -> None:
        """The bookkeeping row, as ``record`` writes it."""
        self.insert.execute(self.conn, migration.hash, migration.when, self.name(migration))


def _apply_in_transaction(run: _Run, migration: Migration) -> None:
    """Statement by statement, a round trip each: the way for what cannot travel in one query."""
    conn, policy, path = run.conn, run.policy, run.path(migration)
    with conn.transaction():
        pg.set_local_timeouts(conn, lock_timeout=policy.lock_timeout, statement_timeout=policy.statement_timeout)
        for statement in migration.statements:
            run_statement(conn, statement, tag=migration.tag, path=path, policy=policy)
        run.record(migration)


def _apply_transactional(run: _Run, migration: Migration) -> None:
    if not _apply_batched(run, migration):
        _apply_in_transaction(run, migration)


def _apply_batched(run: _Run, migration: Migration) -> bool:
    """BEGIN, timeouts, statements and row in one query, then COMMIT. False: send it statement by statement.

    It returns False only when nothing of the migration stays: it was not sent, or the server
    refused the whole text before running any of it (a syntax error anywhere: it parses all of
    it first), or the failure could not be placed and was rolled back. Statement by statement
    then gives exactly the report it always gave. A failure it places is raised here, after
    the rollback, as ``run_statement`` raises it.
    """
    conn = run.conn
    counts = [pg.simple_query_statements(statement.sql) for statement in migration.statements]
    if not run.batching or None in counts:
        return False
    parts, offsets, at = [run.prelude], [], len(run.prelude)
    for statement in migration.statements:
        offsets.append(at)
        parts += (statement.sql, SEPARATOR)
        at += len(statement.sql) + len(SEPARATOR)
    parts.append(run.insert.literal(conn, migration.hash, migration.when, run.name(migration)))
    try:
        query = "".join(parts).encode(conn.info.encoding)
    except UnicodeEncodeError:
        return False  # chunk by chunk, psycopg reports it as it always did
    try:
        outcome = pg.exchange(conn, query)
    except BaseException:  # Ctrl-C: the query was cancelled; leave no transaction open behind us
        rollback_open(conn, quietly=True)
        raise
    failed_at = outcome.failed_at()
    if failed_at is None:
        pg.command(conn, "COMMIT")  # its failure (a deferred constraint) propagates as the transaction's commit did
        return True
    error = outcome.error(conn)
    assert error is not None
    rollback_open(conn)
    # the server sends its answers when it is done or fails: with the connection gone and no error
    # from it, the statements it had not answered for were all in flight, the first one included
    silent = error is outcome.lost
    result = failed_at - run.prelude_results
    index = _statement_at(max(result, 0) if silent else result, [count or 0 for count in counts])
    if index is None:  # before the first statement ran (a syntax error anywhere), or the bookkeeping row
        if conn.broken:
            raise error  # as the BEGIN or the insert raised it
        return False
    statement = migration.statements[index]
    position = int(error.diag.statement_position) if error.diag.statement_position else None
    if position is not None:
        position -= offsets[index]  # the server counts from the start of the whole query
        if not 0 < position <= len(statement.sql):
            if not conn.broken:
                return False  # not where the count says: trust neither, ask the server statement by statement
            position = None
    failure = _failed(conn, error, statement, position, tag=migration.tag, path=run.path(migration), policy=run.policy)
    later = [s.number for s, count in zip(migration.statements[index + 1 :], counts[index + 1 :], strict=True) if count]
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


def rollback_open(conn: psycopg.Connection, *, quietly: bool = False) -> None:
    """Roll back the transaction left open, if any (``quietly``: an error doing so is ignored)."""
    if conn.broken or conn.info.transaction_status == pq.TransactionStatus.IDLE:
        return
    if not quietly:
        pg.command(conn, "ROLLBACK")
        return
    with suppress(psycopg.Error):
        pg.command(conn, "ROLLBACK")


def run_outside_transaction(
    conn: psycopg.Connection,
    source: SqlSource,
    run_one: Callable[[Statement], None],
    finish: Callable[[], None],
    *,
    policy: ExecutionPolicy,
    warn: Callable[[str], None],
    on_retry: OnRetry,
) -> None:
    """Statement by statement, each committed on its own; ``finish`` (the bookkeeping change) only after the last one.

    Shared by migrations and down files. Statements that succeeded stay applied
    when a later one fails, so such a file must be safe to run again (IF NOT
    EXISTS / IF EXISTS). An index that a failed CREATE INDEX CONCURRENTLY left
    INVALID is dropped first.
    """
    indexes = concurrent_indexes(source)
    for index in indexes:
        if pg.index_is_invalid(conn, index.schema, index.name):
            warn(f"dropping invalid index {index.name} left by an earlier failed attempt")
            pg.drop_index_concurrently(conn, index.schema, index.name)
    # the session's own settings (role defaults, PGOPTIONS) come back afterwards, not zero
    previous = pg.session_timeouts(conn)
    pg.set_session_timeouts(conn, lock_timeout=policy.lock_timeout, statement_timeout=policy.statement_timeout)
    try:
        for statement in source.statements:
            try:
                with_lock_retries(partial(run_one, statement), conn, policy, on_retry)
            except MigrationFailed as failure:
                # on a lost connection nothing more can be asked
                left = [] if conn.broken else [i.name for i in indexes if pg.index_is_invalid(conn, i.schema, i.name)]
                notes = [failure.detail] if failure.detail else []
                if statement.number > 1:
                    notes.append(f"statements 1-{statement.number - 1} ran outside a transaction and stay applied")
                if left:
                    notes.append(f"invalid index {', '.join(left)} left behind; it is dropped on the next attempt")
                raise failure.with_detail("; ".join(notes) or None, partial=statement.number > 1) from None
    finally:
        if not conn.broken:
            pg.set_session_timeouts(conn, **previous)
    finish()


def with_lock_retries(
    attempt_once: Callable[[], None], conn: psycopg.Connection, policy: ExecutionPolicy, on_retry: OnRetry
) -> None:
    """Retry only lock timeouts: what failed was rolled back whole, so running it again is safe."""
    attempt = 0
    while True:
        try:
            attempt_once()
            return
        except MigrationFailed as failure:
            if failure.sqlstate == LOCK_NOT_AVAILABLE and failure.detail is None and not conn.broken:
                # asked only now: inside the failed transaction no query can run
                blocker = pg.likely_blocker(conn)
                if blocker:
                    failure = failure.with_detail(f"the lock is probably held by {blocker}")
            attempt += 1
            if failure.sqlstate != LOCK_NOT_AVAILABLE or attempt > policy.retries:
                raise failure from None
            delay = policy.delay(attempt)
            on_retry(attempt, delay, failure.detail or failure.server_message)
            time.sleep(delay)


def _apply(run: _Run, migration: Migration, progress: Progress) -> None:
    conn, policy = run.conn, run.policy
    on_retry = partial(progress.retrying, migration)
    try:
        if is_non_transactional(migration):
            path = run.path(migration)
            run_outside_transaction(
                conn,
                migration,
                lambda statement: run_statement(conn, statement, tag=migration.tag, path=path, policy=policy),
                lambda: run.record(migration),
                policy=policy,
                warn=progress.warning,
                on_retry=on_retry,
            )
        else:
            with_lock_retries(partial(_apply_transactional, run, migration), conn, policy, on_retry)
    except MigrationFailed:
        progress.migration_failed(migration)
        raise


def migrate(
    conn: psycopg.Connection,
    workspace: Workspace,
    *,
    to: str | None = None,
    dry_run: bool = False,
    allow_out_of_order: bool = False,
    allow_modified: bool = False,
    strict: bool = False,
    lock_wait: float = 60.0,
    policy: ExecutionPolicy | None = None,
    progress: Progress | None = None,
    after_each: AfterEach | None = None,
) -> MigrateResult:
    """``after_each`` runs after each migration commits, still under the lock (e.g. to verify, and revert)."""
    progress = progress or SilentProgress()
    policy = policy or ExecutionPolicy()
    result = MigrateResult(dry_run=dry_run)
    by_tag = {m.tag: m for m in workspace.migrations}
    if dry_run:
        # reads only: no lock, no bookkeeping table created
        plan = plan_migrate(
            status(conn, workspace),
            to=to,
            allow_out_of_order=allow_out_of_order,
            allow_modified=allow_modified,
            strict=strict,
        )
        result.planned = [by_tag[t] for t in plan.to_apply]
        result.warnings = plan.warnings
        return result

    key = pg.lock_key(workspace.migrations_schema, workspace.migrations_table)
    table = f"{workspace.migrations_schema}.{workspace.migrations_table}"
    with pg.step(conn, "taking the migration lock"):
        result.lock_waited = pg.acquire_lock(conn, key, timeout=lock_wait, on_wait=progress.lock_waiting)
    try:
        with pg.step(conn, f"creating the bookkeeping table {table}"):
            pg.ensure_bookkeeping(
                conn, workspace.migrations_schema, workspace.migrations_table, with_names=workspace.records_names
            )
        # decided only now, under the lock: a run we waited for may have applied everything
        with pg.step(conn, f"reading the applied migrations from {table}"):
            entries = status(conn, workspace)
        plan = plan_migrate(
            entries, to=to, allow_out_of_order=allow_out_of_order, allow_modified=allow_modified, strict=strict
        )
        result.warnings = plan.warnings
        for warning in plan.warnings:
            progress.warning(warning)
        result.planned = [by_tag[t] for t in plan.to_apply]
        run = _Run(conn, workspace, policy)
        for migration in result.planned:
            for note in migration.notes:
                progress.warning(note)
            progress.migration_started(migration, len(migration.statements))
            started = time.perf_counter()
            _apply(run, migration, progress)
            elapsed = time.perf_counter() - started
            progress.migration_finished(migration, elapsed)
            result.applied.append(AppliedMigration(migration.tag, len(migration.statements), elapsed))
            if after_each is not None:
                after_each(conn, migration)
    finally:
        if not conn.broken:
            pg.release_lock(conn, key)
    return result
