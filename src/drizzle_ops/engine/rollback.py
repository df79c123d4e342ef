"""Undo applied migrations with reviewed down files, newest first.

Each step runs ``<rollback_dir>/<tag>.down.sql`` and deletes the migration's
bookkeeping row in one transaction, which takes the migration lock as migrate's do
(engine/lock.py). A down file that cannot run in one transaction (CONCURRENTLY, the
marker, its own BEGIN/COMMIT) runs as migrate runs such a migration (engine/outside.py),
under the session lock, and lock timeouts are retried the same way (engine/execution.py).
With the row gone, drizzle's own migrate sees the migration as pending again
(it compares journal `when` with the newest recorded `created_at`).

With a verifier (``--verify``), each step also compares the live schema with
the snapshot of the migration that becomes head, inside that same transaction
and before it commits: on a difference the step is rolled back, so the
database is exactly as it was before it, and the run stops.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any, Protocol

import psycopg

from drizzle_ops.down_draft import DRAFT_MARKER, is_draft
from drizzle_ops.engine import bookkeeping, server
from drizzle_ops.engine.connection import step
from drizzle_ops.engine.execution import ExecutionPolicy, run_statement, with_lock_retries
from drizzle_ops.engine.lock import LockHolder, MigrationLock, lock_key
from drizzle_ops.engine.outside import run_outside
from drizzle_ops.engine.runner import status
from drizzle_ops.engine.sessions import Sessions
from drizzle_ops.engine.states import Entry, MigrationState
from drizzle_ops.engine.transactionality import Mode, mode_of
from drizzle_ops.engine.workspace import Migration, Statement, Workspace, split_statements
from drizzle_ops.errors import SQL_ERROR, MigrationFailed, OperationFailed, OpsError, UserError
from drizzle_ops.paths import display_path

SUFFIX = ".down.sql"
SHOWN = 5  # differences in the one-line error of --verify; all of them go to the log and the JSON


@dataclass(frozen=True)
class DownFile:
    tag: str
    path: Path
    display: str  # the path as reports show it (relative to the project when inside it)
    text: str = field(repr=False)

    @cached_property
    def statements(self) -> list[Statement]:
        return split_statements(self.text)

    @cached_property
    def mode(self) -> Mode:
        """How it runs, found once (it scans the whole file): as a migration would, except that a batch marker is
        only a comment here (a down file runs whole, in one transaction with the row it deletes, as drizzle-kit
        would run its statement)."""
        mode = mode_of(self)
        return Mode.TRANSACTION if mode is Mode.BATCH else mode


def down_path(rollback_dir: Path, tag: str) -> Path:
    return rollback_dir / f"{tag}{SUFFIX}"


def load_down_files(rollback_dir: Path, tags: Sequence[str], base: Path | None = None) -> dict[str, DownFile]:
    """The down file of every tag, or a refusal that lists each missing one (nothing is touched)."""
    missing = [display_path(down_path(rollback_dir, t), base) for t in tags if not down_path(rollback_dir, t).is_file()]
    if len(missing) == 1:
        raise UserError(
            f"down file {missing[0]} is missing; write it, or pass --rollback-dir with the folder that has it"
        )
    if missing:
        raise UserError(
            f"{len(missing)} down files are missing: {', '.join(missing)}; "
            "write them, or pass --rollback-dir with the folder that has them"
        )
    files: dict[str, DownFile] = {}
    for tag in tags:
        path = down_path(rollback_dir, tag)
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise UserError(f"{display_path(path, base)} is not valid UTF-8; re-save it as UTF-8") from None
        except OSError as exc:
            raise UserError(f"cannot read {display_path(path, base)}: {exc.strerror}") from None
        files[tag] = DownFile(tag, path, display_path(path, base), text)
    drafts = [f.display for f in files.values() if is_draft(f.text)]
    if drafts:
        raise UserError(
            f"{', '.join(drafts)} {'is an unreviewed draft' if len(drafts) == 1 else 'are unreviewed drafts'} "
            f"(`{DRAFT_MARKER}` line); review the SQL, then delete that line"
        )
    return files


class RollbackFailed(MigrationFailed):
    """A statement of a down file failed; that step was rolled back, so its migration is still applied."""

    action = "rollback of"

    def __init__(self, *, done: Sequence[str] = (), **failure: Any) -> None:
        self.done = tuple(done)  # newer steps that completed before this one failed
        super().__init__(**failure)

    command = "rollback"

    def state(self) -> str:
        earlier = f" ({len(self.done)} newer step(s) stay rolled back: {', '.join(self.done)})" if self.done else ""
        if self.partial:
            return f"{self.tag} is still recorded as applied{earlier}"
        return f"that step was undone, so {self.tag} is still applied{earlier}"

    def outcome(self) -> str:
        if self.cause is SQL_ERROR:
            state = self.state()
            return f"{state[0].upper()}{state[1:]}; fix the down file and run rollback again."
        return super().outcome()


@dataclass
class StepVerification:
    """What --verify found after one down file ran, before its transaction committed."""

    head: str | None  # the migration that is head after the step; None: nothing stays applied
    status: str  # "pass" | "skip" (nothing to compare with, e.g. no snapshot) | "fail"
    detail: str  # one line: what was compared, or why nothing was
    differences: list[str] = field(default_factory=list)  # the failing ones

    @property
    def ok(self) -> bool:
        return self.status != "fail"

    def as_dict(self) -> dict[str, object]:
        return {"head": self.head, "result": self.status, "detail": self.detail, "differences": self.differences}


# Compares the schema with the snapshot of the given head (None: an empty schema) on the step's connection,
# inside its transaction; it must leave the transaction usable (a savepoint of its own), and never commit.
StepVerifier = Callable[[psycopg.Connection, Migration | None], StepVerification]


class RollbackVerifyFailed(OperationFailed):
    """A down file ran cleanly, but the schema then differed from the new head's snapshot; that step was undone."""

    def __init__(
        self,
        down: DownFile,
        verification: StepVerification,
        *,
        done: Sequence[str] = (),
        outside_transaction: bool = False,
    ) -> None:
        self.tag = down.tag
        self.file = down.display
        self.verification = verification
        self.done = tuple(done)
        differences = verification.differences
        shown = "; ".join(differences[:SHOWN])
        more = f"; and {len(differences) - SHOWN} more" if len(differences) > SHOWN else ""
        target = (
            f"the snapshot of {verification.head}, the migration that would have become head"
            if verification.head
            else "an empty schema (no migration would have stayed applied)"
        )
        earlier = f" ({len(self.done)} newer step(s) stay rolled back: {', '.join(self.done)})" if self.done else ""
        # a down file run outside a transaction has committed its statements before the check could run
        undone = (
            "its statements ran outside a transaction and stay; only its bookkeeping row was kept"
            if outside_transaction
            else "that step was rolled back"
        )
        super().__init__(
            f"after {down.display} the schema does not match {target} ({len(differences)} difference(s): "
            f"{shown}{more}); {undone}, so {down.tag} is still applied{earlier}; "
            "fix the down file so it undoes everything the migration did, then run rollback again"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            **super().as_dict(),
            "tag": self.tag,
            "file": self.file,
            "verification": self.verification.as_dict(),
            "rolled_back": list(self.done),
        }


# -- choosing what to undo (pure) -------------------------------------------------------------------


@dataclass(frozen=True)
class RollbackChoice:
    """Which applied migrations to undo: the newest ``steps`` (default 1), those after ``to``, or ``all``."""

    steps: int | None = None
    to: str | None = None
    all: bool = False

    def check(self) -> None:
        """Bad input (exit 2) before anything is read: more than one way to choose, or no migration at all."""
        if sum(x is not None and x is not False for x in (self.steps, self.to, self.all)) > 1:
            raise UserError("give only one of --steps, --to and --all")
        if self.steps is not None and self.steps < 1:
            raise UserError(f"--steps {self.steps}: give a number of migrations, 1 or more")


NEWEST = RollbackChoice()  # no flag: the newest applied migration


def plan_rollback(entries: Sequence[Entry], choice: RollbackChoice = NEWEST) -> list[Entry]:
    """The applied migrations to undo, newest (highest row id) first; [] when nothing is applied."""
    choice.check()
    steps, to, all_ = choice.steps, choice.to, choice.all
    applied = sorted(
        (e for e in entries if e.row is not None and e.tag is not None),
        key=lambda e: e.row.id if e.row else 0,
        reverse=True,
    )
    if not applied:
        return []
    if to is not None:
        target = next((e for e in applied if e.tag == to), None)
        if target is None or target.row is None:
            raise UserError(f"--to {to}: that migration is not applied (newest applied: {applied[0].tag})")
        chosen = [e for e in applied if e.row is not None and e.row.id > target.row.id]
    elif all_:
        chosen = applied
    else:
        count = steps if steps is not None else 1
        if count > len(applied):
            raise UserError(
                f"--steps {count}: only {len(applied)} migration(s) are applied; use --all to roll back all of them"
            )
        chosen = applied[:count]
    if chosen:
        oldest = min(e.row.id for e in chosen if e.row)
        orphans = [e for e in entries if e.state is MigrationState.MISSING_FILE and e.row and e.row.id > oldest]
        if orphans:
            rows = ", ".join(f"row {e.row.id}" for e in orphans if e.row)
            raise UserError(
                f"the database has newer applied migrations with no file in this workspace ({rows}); "
                "roll back from a checkout that has them"
            )
    modified = [e.tag for e in chosen if e.state is MigrationState.MODIFIED]
    if modified:
        raise UserError(
            f"{', '.join(t for t in modified if t)} changed after being applied, so its down file may not "
            "undo what the database holds; restore the applied version of the file first"
        )
    return chosen


def head_after(workspace: Workspace, entries: Sequence[Entry], undone: Collection[str]) -> Migration | None:
    """The newest migration in journal order that stays applied once ``undone`` are rolled back (None: none does)."""
    staying = {
        e.tag
        for e in entries
        if e.tag and e.tag not in undone and e.state in (MigrationState.APPLIED, MigrationState.MODIFIED)
    }
    head = None
    for migration in workspace.migrations:
        if migration.tag in staying:
            head = migration
    return head


# -- running it -----------------------------------------------------------------------------------


class RollbackProgress(Protocol):
    def lock_waiting(self, holder: LockHolder | None) -> None: ...
    def warning(self, message: str) -> None: ...
    def retrying(self, down: DownFile, attempt: int, delay: float, reason: str) -> None: ...
    def rollback_started(self, down: DownFile, statements: int) -> None: ...
    def rollback_finished(self, down: DownFile, seconds: float) -> None: ...
    def rollback_failed(self, down: DownFile, failure: OpsError) -> None: ...


class SilentRollbackProgress:
    def lock_waiting(self, holder: LockHolder | None) -> None:
        pass

    def warning(self, message: str) -> None:
        pass

    def retrying(self, down: DownFile, attempt: int, delay: float, reason: str) -> None:
        pass

    def rollback_started(self, down: DownFile, statements: int) -> None:
        pass

    def rollback_finished(self, down: DownFile, seconds: float) -> None:
        pass

    def rollback_failed(self, down: DownFile, failure: OpsError) -> None:
        pass


@dataclass
class RolledBack:
    tag: str
    statements: int
    seconds: float
    file: str
    verification: StepVerification | None = None  # with --verify: what the schema was compared with


@dataclass
class RollbackResult:
    rolled_back: list[RolledBack] = field(default_factory=list)
    planned: list[DownFile] = field(default_factory=list)
    applied_before: int = 0
    lock_waited: float = 0.0
    dry_run: bool = False


def revert(
    conn: psycopg.Connection,
    workspace: Workspace,
    down: DownFile,
    row_id: int,
    *,
    lock: MigrationLock,
    policy: ExecutionPolicy | None = None,
    done: Sequence[str] = (),
    before_commit: Callable[[psycopg.Connection], None] | None = None,
    progress: RollbackProgress | None = None,
) -> None:
    """One step: the down file's statements and the bookkeeping row's deletion, in one transaction.

    The transaction takes the migration lock first and checks that the row is still the newest
    one (another run may have applied more on top meanwhile). A down file that cannot run in one
    transaction (DROP INDEX CONCURRENTLY, the no-transaction marker, its own BEGIN/COMMIT) runs as
    migrate runs such a migration, on ``conn`` under the session lock the caller holds, and the
    row goes only after its last statement. Lock timeouts are retried as migrate retries them.
    ``before_commit`` runs last inside the transaction that deletes the row; if it raises, that
    transaction is rolled back.
    """
    policy = policy or ExecutionPolicy()
    progress = progress or SilentRollbackProgress()
    on_retry = partial(progress.retrying, down)
    schema, table = workspace.migrations_schema, workspace.migrations_table

    def forget(c: psycopg.Connection) -> None:
        bookkeeping.delete_applied(c, schema, table, row_id)
        if before_commit is not None:
            before_commit(c)

    mode = down_mode(down)
    if mode is not Mode.TRANSACTION:
        # the caller holds the session lock, so no other run writes the table from here on: check before any of the
        # file's statements runs (they commit as they go)
        _still_newest(conn, workspace, down.tag, row_id)
        run_outside(
            conn,
            down,
            mode,
            forget,
            tag=down.tag,
            path=down.display,
            policy=policy,
            warn=progress.warning,
            on_retry=on_retry,
            failure=RollbackFailed,
            done=done,
        )
        return

    def attempt() -> None:
        with lock.transaction(conn):
            _still_newest(conn, workspace, down.tag, row_id)
            server.set_local_timeouts(
                conn, lock_timeout=policy.lock_timeout, statement_timeout=policy.statement_timeout
            )
            for statement in down.statements:
                run_statement(
                    conn, statement, tag=down.tag, path=down.display, failure=RollbackFailed, policy=policy, done=done
                )
            forget(conn)

    with_lock_retries(attempt, conn, policy, on_retry)


class RollbackRaced(OperationFailed):
    """Another run changed the bookkeeping table between the plan and a step; that step was not run."""


def _still_newest(conn: psycopg.Connection, workspace: Workspace, tag: str, row_id: int) -> None:
    """Under the lock: ``row_id`` must still be the newest row, else another run applied (or undid) meanwhile."""
    newest = bookkeeping.newest_row_id(conn, workspace.migrations_schema, workspace.migrations_table)
    if newest != row_id:
        raise RollbackRaced(
            f"the bookkeeping table changed while rolling back {tag} (another run applied or rolled back a migration "
            "meanwhile); that step was not run; run `status`, then rollback again"
        )


def _verify_step(
    verify: StepVerifier, down: DownFile, head: Migration | None, done: Sequence[str], found: list[StepVerification]
) -> Callable[[psycopg.Connection], None]:
    """The before_commit hook of one step: verify against ``head``, and abort the step on a difference."""

    def check(conn: psycopg.Connection) -> None:
        verification = verify(conn, head)
        found.append(verification)
        if not verification.ok:
            raise RollbackVerifyFailed(
                down, verification, done=done, outside_transaction=down_mode(down) is not Mode.TRANSACTION
            )

    return check


def needs_session(down: DownFile) -> bool:
    return down_mode(down) is not Mode.TRANSACTION


def down_mode(down: DownFile) -> Mode:
    """How a down file runs (:attr:`DownFile.mode`)."""
    return down.mode


def rollback(
    conn: psycopg.Connection,
    workspace: Workspace,
    rollback_dir: Path,
    choice: RollbackChoice = NEWEST,
    *,
    dry_run: bool = False,
    policy: ExecutionPolicy | None = None,
    progress: RollbackProgress | None = None,
    display_base: Path | None = None,
    verify: StepVerifier | None = None,
    sessions: Sessions | None = None,
) -> RollbackResult:
    progress = progress or SilentRollbackProgress()
    policy = policy or ExecutionPolicy()
    sessions = sessions or Sessions(conn)
    result = RollbackResult(dry_run=dry_run)
    entries: list[Entry] = []
    table = f"{workspace.migrations_schema}.{workspace.migrations_table}"
    with step(conn, f"reading the applied migrations from {table}", command="rollback"):
        entries[:] = status(conn, workspace)
    result.applied_before = sum(1 for e in entries if e.row is not None)
    chosen = plan_rollback(entries, choice)
    downs = load_down_files(rollback_dir, [e.tag for e in chosen if e.tag], display_base)
    result.planned = [downs[e.tag] for e in chosen if e.tag]
    if dry_run:
        return result  # reads only: no lock
    for down in result.planned:  # opened and checked, or refused, before anything changes
        if needs_session(down):
            sessions.connection(f"down file {down.display} (it cannot run in one transaction)")
    lock = MigrationLock(
        lock_key(workspace.migrations_schema, workspace.migrations_table),
        wait=policy.lock_wait,
        on_wait=progress.lock_waiting,
    )
    try:
        for entry in chosen:
            assert entry.row is not None and entry.tag is not None
            down = downs[entry.tag]
            progress.rollback_started(down, len(down.statements))
            started = time.perf_counter()
            done = [r.tag for r in result.rolled_back]
            found: list[StepVerification] = []
            hook = None
            if verify is not None:
                hook = _verify_step(verify, down, head_after(workspace, entries, {*done, down.tag}), done, found)
            step_conn = sessions.connection(f"down file {down.display}") if needs_session(down) else conn
            # one that cannot run in one transaction holds the lock at session level meanwhile
            held = lock.session(step_conn) if needs_session(down) else nullcontext()
            try:
                with held:
                    revert(
                        step_conn,
                        workspace,
                        down,
                        entry.row.id,
                        lock=lock,
                        policy=policy,
                        done=done,
                        before_commit=hook,
                        progress=progress,
                    )
            except (RollbackFailed, RollbackVerifyFailed, RollbackRaced) as failure:
                progress.rollback_failed(down, failure)
                raise
            elapsed = time.perf_counter() - started
            progress.rollback_finished(down, elapsed)
            verification = found[0] if found else None
            result.rolled_back.append(RolledBack(down.tag, len(down.statements), elapsed, down.display, verification))
    finally:
        result.lock_waited = lock.waited
    return result
