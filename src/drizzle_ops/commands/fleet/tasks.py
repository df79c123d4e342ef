"""migrate, status and verify on a fleet: each target runs exactly the single-target command, under its own context.

migrate keeps the single-target guarantees on every target (its own advisory lock, one transaction per
migration, the environment's timeouts and retries), so two fleet runs at once never apply anything
twice. status and verify only read: every target runs, no canary, whatever fails.
"""

from __future__ import annotations

import threading

from drizzle_ops.commands.fleet.run import Event, FleetRun, Interrupted, OnEvent, TargetRun, run_fleet
from drizzle_ops.commands.migrate import MigrateOptions, MigrateOutcome, migrate
from drizzle_ops.commands.status import StatusOutcome, status
from drizzle_ops.commands.verify import VerifyOutcome, verify
from drizzle_ops.context.fleet.build import Fleet
from drizzle_ops.context.fleet.targets import FleetTarget
from drizzle_ops.engine.batch_migration import BatchReport
from drizzle_ops.engine.lock import LockHolder
from drizzle_ops.engine.workspace import Migration
from drizzle_ops.errors import MigrationFailed


class TargetProgress:
    """The runner's progress hooks for one target: records what committed, passes warnings on, and stops
    between two migrations once ``stop`` is set (the one running finishes, or rolls back on its own error)."""

    def __init__(self, run: TargetRun[MigrateOutcome], stop: threading.Event, tell: OnEvent) -> None:
        self.run, self.stop, self.tell = run, stop, tell

    def _say(self, message: str) -> None:
        self.run.warnings.append(message)
        self.tell(Event("warning", self.run, message))  # type: ignore[arg-type]

    def lock_waiting(self, holder: LockHolder | None) -> None:
        self._say(f"waiting for the migration lock, held by {holder or 'another process'}")

    def migration_started(self, migration: Migration, statements: int) -> None:
        if self.stop.is_set():
            raise Interrupted  # before BEGIN: nothing of this migration ran; the runner releases the lock

    def migration_finished(self, migration: Migration, seconds: float) -> None:
        self.run.applied.append(migration.tag)

    def migration_failed(self, migration: Migration, failure: MigrationFailed) -> None:
        pass  # the error line says which and why

    def warning(self, message: str) -> None:
        self._say(message)

    def retrying(self, migration: Migration, attempt: int, delay: float, reason: str) -> None:
        self._say(f"{migration.tag}: lock timeout ({reason}); retry {attempt} in {delay:.1f}s")

    def batch_progress(self, migration: Migration, report: BatchReport) -> None:
        if self.stop.is_set() and not report.done:
            raise Interrupted  # between two batches: the committed ones stay, the next run resumes after them


def migrate_fleet(
    fleet: Fleet,
    options: MigrateOptions,
    *,
    keep_going: bool = False,
    stop: threading.Event | None = None,
    on_event: OnEvent | None = None,
) -> FleetRun[MigrateOutcome]:
    """Canary first and alone, then ``parallel`` at a time; a rerun finds up-to-date targets and does nothing there.

    Each target runs the single-target `migrate` with the same ``options``.
    """
    stop = stop or threading.Event()
    tell = on_event or (lambda event: None)
    if options.plan.to is not None:
        fleet.request.workspace.by_tag(options.plan.to)  # an unknown tag is bad input: say so before any target starts
    fleet = fleet.confirm("migrate")  # a no-op when the edge confirmed already

    def work(member: FleetTarget, run: TargetRun[MigrateOutcome]) -> MigrateOutcome:
        return migrate(fleet.request_for(member), options, TargetProgress(run, stop, tell))

    return run_fleet(fleet, work, keep_going=keep_going, stop=stop, on_event=tell)


def status_fleet(
    fleet: Fleet, *, stop: threading.Event | None = None, on_event: OnEvent | None = None
) -> FleetRun[StatusOutcome]:
    return run_fleet(
        fleet,
        lambda member, run: status(fleet.request_for(member)),
        keep_going=True,
        canary=0,
        stop=stop,
        on_event=on_event,
    )


def verify_fleet(
    fleet: Fleet,
    *,
    checks: tuple[str, ...] = (),
    stop: threading.Event | None = None,
    on_event: OnEvent | None = None,
) -> FleetRun[VerifyOutcome]:
    return run_fleet(
        fleet,
        lambda member, run: verify(fleet.request_for(member), only=checks),
        keep_going=True,
        canary=0,
        stop=stop,
        on_event=on_event,
    )
