"""Apply migrations, each exactly once: one transaction per migration, or the file's own transactions.

A migration that fits in one transaction takes the migration lock inside it and checks that the
bookkeeping table is as the plan read it (engine/one_transaction.py): nothing depends on the
session, so this holds through a transaction-mode pooler. If another run changed the table
meanwhile, the plan is made again from what is there now, and a migration that run applied is
not applied twice.

A batch migration (one UPDATE or DELETE after ``-- drizzle-ops: batch rows=N``) runs in keyset batches,
each its own transaction that takes the lock and checks the table the same way, with the migration's
row written in the last batch's transaction (engine/batch_migration.py): it needs no session either.

A migration that cannot (CREATE INDEX CONCURRENTLY, a file with its own BEGIN/COMMIT) holds the
lock at session level on a connection that keeps its session, re-reads the table under it, and
runs as engine/outside.py describes. Through a pooler it needs the direct URL; without one, the
run is refused before anything changes (engine/sessions.py).

Whichever way a migration ran, before it is reported as applied the runner confirms that no
connection is left inside a transaction and that the migration's bookkeeping row is committed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

import psycopg
from psycopg import pq

from drizzle_ops.engine import bookkeeping
from drizzle_ops.engine.batch_migration import BatchReport, BatchRun, statement_of
from drizzle_ops.engine.batch_statement import BatchStatement
from drizzle_ops.engine.batching import command, rollback_open
from drizzle_ops.engine.bookkeeping import Fingerprint
from drizzle_ops.engine.connection import step
from drizzle_ops.engine.execution import ExecutionPolicy, with_lock_retries
from drizzle_ops.engine.lock import LockBusy, LockHolder, MigrationLock, lock_key
from drizzle_ops.engine.one_transaction import Committed, OneTransaction, Stale
from drizzle_ops.engine.outside import run_outside
from drizzle_ops.engine.sessions import Sessions
from drizzle_ops.engine.states import (
    EVERYTHING_PENDING,
    Entry,
    MigratePlan,
    PlanOptions,
    compute_status,
    plan_migrate,
)
from drizzle_ops.engine.transactionality import Mode, mode_of
from drizzle_ops.engine.workspace import Migration, Workspace
from drizzle_ops.errors import MigrationFailed, OperationFailed
from drizzle_ops.paths import display_path


class Progress(Protocol):
    def lock_waiting(self, holder: LockHolder | None) -> None: ...
    def migration_started(self, migration: Migration, statements: int) -> None: ...
    def migration_finished(self, migration: Migration, seconds: float) -> None: ...
    def migration_failed(self, migration: Migration, failure: MigrationFailed) -> None: ...
    def warning(self, message: str) -> None: ...
    def retrying(self, migration: Migration, attempt: int, delay: float, reason: str) -> None: ...
    def batch_progress(self, migration: Migration, report: BatchReport) -> None: ...


class SilentProgress:
    def lock_waiting(self, holder: LockHolder | None) -> None:
        pass

    def migration_started(self, migration: Migration, statements: int) -> None:
        pass

    def migration_finished(self, migration: Migration, seconds: float) -> None:
        pass

    def migration_failed(self, migration: Migration, failure: MigrationFailed) -> None:
        pass

    def warning(self, message: str) -> None:
        pass

    def retrying(self, migration: Migration, attempt: int, delay: float, reason: str) -> None:
        pass

    def batch_progress(self, migration: Migration, report: BatchReport) -> None:
        pass


class Verifier(Protocol):
    """``migrate --verify``: each migration against its snapshot (verify/migrate_verify.py)."""

    def in_transaction(self, conn: psycopg.Connection, migration: Migration) -> None:
        """Inside the migration's own transaction, before COMMIT: raise to roll it back."""

    def after_commit(self, conn: psycopg.Connection, migration: Migration, lock: MigrationLock) -> None:
        """After a migration that ran outside one transaction committed (under ``lock``, held): revert, then raise."""


class NotCommitted(OperationFailed):
    """A migration seemed to succeed, but its work is not committed: never reported as applied."""

    def __init__(self, tag: str, why: str) -> None:
        self.tag = tag
        super().__init__(
            f"{tag} was not committed: {why}; it is not recorded as applied; run `status` to see what the "
            "database holds, then run migrate again"
        )


@dataclass
class AppliedMigration:
    tag: str
    statements: int
    seconds: float
    batches: BatchReport | None = None  # a batch migration: where its last batch left it (batches, rows changed)


@dataclass
class MigrateResult:
    applied: list[AppliedMigration] = field(default_factory=list)
    planned: list[Migration] = field(default_factory=list)
    lock_waited: float = 0.0
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    applied_elsewhere: list[str] = field(default_factory=list)  # planned here, applied meanwhile by another run


def status(conn: psycopg.Connection, workspace: Workspace) -> list[Entry]:
    rows = bookkeeping.read_applied(conn, workspace.migrations_schema, workspace.migrations_table)
    return compute_status(workspace.migrations, rows, by_name=workspace.records_names)


def record(conn: psycopg.Connection, workspace: Workspace, migration: Migration) -> int:
    """The bookkeeping row, as the workspace's drizzle-kit version writes it; its id."""
    return bookkeeping.insert_applied(
        conn,
        workspace.migrations_schema,
        workspace.migrations_table,
        migration.hash,
        migration.when,
        name=migration.tag if workspace.records_names else None,
    )


def needs_session(migration: Migration, mode: Mode | None = None) -> str | None:
    """Why ``migration`` cannot run in one transaction of ours (so needs a session), or None.

    ``mode``: its mode when already known (finding it scans the whole file)."""
    mode = mode_of(migration) if mode is None else mode
    if mode is Mode.OWN_TRANSACTIONS:
        return f"{migration.tag} (it manages its own transactions)"
    if mode is Mode.NO_TRANSACTION:
        return f"{migration.tag} (it runs outside a transaction)"
    return None


@dataclass
class _Modes:
    """Each migration's mode, and a batch migration's statement, found once per run: each reads the whole file
    (the statement parses it too)."""

    found: dict[str, Mode] = field(default_factory=dict)
    batch_statements: dict[str, BatchStatement] = field(default_factory=dict)

    def of(self, migration: Migration) -> Mode:
        if migration.tag not in self.found:
            self.found[migration.tag] = mode_of(migration)
        return self.found[migration.tag]

    def batch_statement(self, migration: Migration, workspace: Workspace) -> BatchStatement:
        """The statement to run in batches, or BatchProblem's refusal (a UserError)."""
        if migration.tag not in self.batch_statements:
            self.batch_statements[migration.tag] = statement_of(migration, workspace)
        return self.batch_statements[migration.tag]


@dataclass
class _Planner:
    """The plan, made again from the table whenever another run changed it."""

    options: PlanOptions
    progress: Progress
    warned: set[str] = field(default_factory=set)

    def make(self, entries: list[Entry]) -> MigratePlan:
        plan = plan_migrate(entries, self.options)
        for warning in plan.warnings:
            if warning not in self.warned:  # said once, however often the plan is made again
                self.warned.add(warning)
                self.progress.warning(warning)
        return plan


def _read(conn: psycopg.Connection, workspace: Workspace) -> tuple[list[Entry], Fingerprint]:
    """The migrations' states and the table's fingerprint, from ONE read of the rows.

    Both must come from the same snapshot: a fingerprint read after the rows could already
    count a migration another run committed in between, and the guard would then let this
    run apply it a second time.
    """
    table = f"{workspace.migrations_schema}.{workspace.migrations_table}"
    with step(conn, f"reading the applied migrations from {table}"):
        exists, rows = bookkeeping.read_table(conn, workspace.migrations_schema, workspace.migrations_table)
    entries = compute_status(workspace.migrations, rows, by_name=workspace.records_names)
    return entries, bookkeeping.Fingerprint.of(rows, exists=exists)


def migrate(
    conn: psycopg.Connection,
    workspace: Workspace,
    plan_options: PlanOptions = EVERYTHING_PENDING,
    *,
    dry_run: bool = False,
    policy: ExecutionPolicy | None = None,
    progress: Progress | None = None,
    verifier: Verifier | None = None,
    sessions: Sessions | None = None,
) -> MigrateResult:
    """Apply what the plan says is pending. ``sessions``: where work that needs a session runs (default: ``conn``)."""
    progress = progress or SilentProgress()
    policy = policy or ExecutionPolicy()
    sessions = sessions or Sessions(conn)
    result = MigrateResult(dry_run=dry_run)
    by_tag = {m.tag: m for m in workspace.migrations}
    planner = _Planner(plan_options, progress)
    if dry_run:
        # reads only: no lock, no bookkeeping table created
        plan = planner.make(status(conn, workspace))
        result.planned = [by_tag[t] for t in plan.to_apply]
        result.warnings = plan.warnings
        return result

    schema, table = workspace.migrations_schema, workspace.migrations_table
    # planned from a read that creates nothing: a refusal (drift, a session that cannot be had) changes nothing
    entries, print_ = _read(conn, workspace)
    plan = planner.make(entries)
    result.warnings = plan.warnings
    result.planned = [by_tag[t] for t in plan.to_apply]
    if not result.planned and print_.exists:
        return result  # nothing to do: no lock, no write
    modes = _Modes()
    for migration in result.planned:
        reason = needs_session(migration, modes.of(migration))
        if reason:  # opened (and checked) now, or refused, before anything changes
            sessions.connection(f"migration {reason}")
        if modes.of(migration) is Mode.BATCH:  # a file that cannot run in batches is refused before anything changes
            modes.batch_statement(migration, workspace)
    lock = MigrationLock(lock_key(schema, table), wait=policy.lock_wait, on_wait=progress.lock_waiting)
    with step(conn, "taking the migration lock"):
        lock.begin(conn)  # the table is created under the lock: concurrent CREATE TABLE IF NOT EXISTS collide
    with step(conn, f"creating the bookkeeping table {schema}.{table}"):
        try:
            bookkeeping.ensure_bookkeeping(conn, schema, table, with_names=workspace.records_names)
            command(conn, "COMMIT")
        except BaseException:
            rollback_open(conn, quietly=True)
            raise
    # if another run wrote meanwhile, the first migration's guard sees it and the plan is made again
    run = OneTransaction(conn, workspace, policy, lock)
    pending = list(plan.to_apply)
    last_batches: dict[str, BatchReport] = {}  # a batch migration's last report, for its line in the result
    try:
        while pending:
            migration = by_tag[pending[0]]
            for note in migration.notes:
                progress.warning(note)
            progress.migration_started(migration, len(migration.statements))
            started = time.perf_counter()
            committed: Committed | None
            try:
                if modes.of(migration) is Mode.BATCH:
                    spec = modes.batch_statement(migration, workspace)
                    committed = _apply_in_batches(run, migration, spec, print_, progress, verifier, last_batches)
                elif needs_session(migration, modes.of(migration)):
                    committed = _apply_with_session(
                        sessions, lock, workspace, migration, modes.of(migration), planner, policy, progress, verifier
                    )
                else:
                    committed = _apply_in_one_transaction(run, lock, migration, print_, policy, progress, verifier)
            except Stale:
                entries, print_ = _read(conn, workspace)
                pending = _replanned(planner, entries, pending, result)
                continue
            except MigrationFailed as failure:
                progress.migration_failed(migration, failure)
                raise
            if committed is None:  # another run applied it meanwhile (seen under the session lock)
                entries, print_ = _read(conn, workspace)
                pending = _replanned(planner, entries, pending, result)
                continue
            confirm_committed(sessions.used(), migration, committed, workspace)
            elapsed = time.perf_counter() - started
            progress.migration_finished(migration, elapsed)
            batched = last_batches.pop(migration.tag, None)
            result.applied.append(AppliedMigration(migration.tag, len(migration.statements), elapsed, batched))
            pending.pop(0)
            if committed.conn is conn:  # our own row, under our lock: the fingerprint moves on by it
                print_ = print_.after_insert(committed.row_id)
            else:  # written on the direct connection: plan again from what the table holds now, read whole
                entries, print_ = _read(conn, workspace)
                pending = _replanned(planner, entries, pending, result)
    finally:
        result.lock_waited = lock.waited
    return result


def _replanned(planner: _Planner, entries: list[Entry], pending: Sequence[str], result: MigrateResult) -> list[str]:
    """The plan made again after another run changed the table; what it applied of ours is noted, not redone."""
    plan = planner.make(entries)
    applied_now = {e.tag for e in entries if e.row is not None and e.tag}
    result.applied_elsewhere += [tag for tag in pending if tag in applied_now and tag not in result.applied_elsewhere]
    return list(plan.to_apply)


def _apply_in_one_transaction(
    run: OneTransaction,
    lock: MigrationLock,
    migration: Migration,
    expected: Fingerprint,
    policy: ExecutionPolicy,
    progress: Progress,
    verifier: Verifier | None,
) -> Committed:
    before_commit = verifier.in_transaction if verifier is not None else None
    on_retry = partial(progress.retrying, migration)
    committed: list[Committed] = []

    def attempt() -> None:
        committed.append(run.apply(migration, expected, before_commit))

    while True:
        try:
            with_lock_retries(attempt, run.conn, policy, on_retry)
            return committed[-1]
        except LockBusy:
            lock.wait_while_held(run.conn)  # then try again: the guard re-checks the table


def _apply_in_batches(
    run: OneTransaction,
    migration: Migration,
    spec: BatchStatement,
    expected: Fingerprint,
    progress: Progress,
    verifier: Verifier | None,
    last: dict[str, BatchReport],
) -> Committed:
    """In keyset batches on the run's own connection, each batch its own transaction under the lock."""
    workspace = run.workspace

    def report(batches: BatchReport) -> None:
        last[migration.tag] = batches
        progress.batch_progress(migration, batches)

    return BatchRun(
        run.conn,
        workspace,
        migration,
        spec,
        expected,
        run.lock,
        run.policy,
        record=lambda c: record(c, workspace, migration),
        report=report,
        warn=progress.warning,
        on_retry=partial(progress.retrying, migration),
        before_commit=verifier.in_transaction if verifier is not None else None,
    ).run()


def _apply_with_session(
    sessions: Sessions,
    lock: MigrationLock,
    workspace: Workspace,
    migration: Migration,
    mode: Mode,
    planner: _Planner,
    policy: ExecutionPolicy,
    progress: Progress,
    verifier: Verifier | None,
) -> Committed | None:
    """Under the session lock: re-read the table; if ``migration`` is still next, run it. None: it is not."""
    conn = sessions.connection(f"migration {needs_session(migration, mode)}")
    with lock.session(conn):
        entries, _ = _read(conn, workspace)
        plan = planner.make(entries)
        if not plan.to_apply or plan.to_apply[0] != migration.tag:
            return None
        path = display_path(migration.sql_path, workspace.root)
        row_id = run_outside(
            conn,
            migration,
            mode,
            lambda c: record(c, workspace, migration),
            tag=migration.tag,
            path=path,
            policy=policy,
            warn=progress.warning,
            on_retry=partial(progress.retrying, migration),
        )
        committed = confirm_committed(sessions.used(), migration, Committed(conn, row_id), workspace)
        if verifier is not None:
            verifier.after_commit(conn, migration, lock)  # reverts and raises on a difference, still under the lock
    return committed


def confirm_committed(
    conns: Sequence[psycopg.Connection], migration: Migration, committed: Committed, workspace: Workspace
) -> Committed:
    """The invariant before any migration is reported applied: no connection inside a transaction, its row committed.

    Returns ``committed``, marked confirmed.
    """
    for conn in conns:
        if not conn.broken and conn.info.transaction_status != pq.TransactionStatus.IDLE:
            rollback_open(conn, quietly=True)
            raise NotCommitted(migration.tag, "the session was still inside a transaction after it (now rolled back)")
    confirmed = committed.confirmed
    if confirmed is None:
        row = committed.conn.execute(
            bookkeeping.committed_row_sql(
                committed.conn, workspace.migrations_schema, workspace.migrations_table, committed.row_id
            )
        ).fetchone()
        confirmed = bool(row and row[0])
    if not confirmed:
        table = f"{workspace.migrations_schema}.{workspace.migrations_table}"
        raise NotCommitted(migration.tag, f"its bookkeeping row {committed.row_id} is not in {table}")
    return Committed(committed.conn, committed.row_id, True)
