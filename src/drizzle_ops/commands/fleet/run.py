"""Run one piece of work on every target of a fleet: canary first and alone, then a bounded pool of threads.

The halt rule: if a canary fails, nothing else starts; after any other failure no new target starts
unless ``keep_going``. When ``stop`` is set (the edge sets it on Ctrl-C or SIGTERM) no new target
starts either; the work in flight sees ``stop`` through ``Interrupted`` (see fleet_tasks.py) and ends
after its current migration. Threads, not processes: the work waits on the network, and the
workspace, read once, is shared.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, TypeVar

import psycopg

from drizzle_ops.context.fleet.build import Fleet
from drizzle_ops.context.fleet.targets import FleetTarget
from drizzle_ops.engine.connection import redact
from drizzle_ops.errors import OpsError

T = TypeVar("T")


class Interrupted(Exception):
    """Raised inside a target's work, between two migrations, once ``stop`` is set."""


class TargetState(Enum):
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    RUNNING = "running"
    NOT_STARTED = "not started"


@dataclass
class TargetRun(Generic[T]):
    """One target's part of the run: what happened, how long it took, its outcome or its error line."""

    label: str
    canary: bool = False
    state: TargetState = TargetState.NOT_STARTED
    seconds: float = 0.0
    outcome: T | None = None
    error: str | None = None  # one line, never a password
    applied: list[str] = field(default_factory=list)  # migrate: tags committed on this target, also before a failure
    warnings: list[str] = field(default_factory=list)  # the runner's warnings on this target (lock waits, retries)

    @property
    def ok(self) -> bool:
        return self.state is TargetState.DONE


@dataclass
class FleetRun(Generic[T]):
    runs: list[TargetRun[T]]
    halted: str | None = None  # why targets were left unstarted: "canary failed", "a target failed", "stopped"

    def count(self, state: TargetState) -> int:
        return sum(run.state is state for run in self.runs)

    @property
    def ok(self) -> bool:
        return all(run.ok for run in self.runs)


@dataclass(frozen=True)
class Event:
    """What the edge hears, to draw its progress line: ``kind`` is started, finished or warning."""

    kind: str
    run: TargetRun[object]
    message: str = ""


OnEvent = Callable[[Event], None]
Work = Callable[[FleetTarget, TargetRun[T]], T]  # may fill run.applied as it goes; raises to fail


def error_line(exc: BaseException, url: str | None) -> str:
    """The failure as one line, the target's password removed (belt and braces: messages should not hold it)."""
    if isinstance(exc, OpsError):
        text = exc.message
    elif isinstance(exc, psycopg.Error):
        code = f"[{exc.diag.sqlstate}] " if exc.diag.sqlstate else ""
        text = f"database error: {code}{str(exc).strip()}"
    else:  # a bug of ours must not take the other targets down with it
        text = f"unexpected {type(exc).__name__}: {exc}"
    first = " ".join((text.strip().splitlines() or [type(exc).__name__])[0].split())
    return redact(first, url)


def run_fleet(
    fleet: Fleet,
    work: Work[T],
    *,
    keep_going: bool = False,
    canary: int | None = None,
    stop: threading.Event | None = None,
    on_event: OnEvent | None = None,
) -> FleetRun[T]:
    """``canary``: how many run first and alone (default: the environment's; reads pass 0)."""
    stop = stop or threading.Event()
    tell = on_event or (lambda event: None)
    first = fleet.canary if canary is None else min(canary, len(fleet.targets))
    members = list(fleet.targets)
    runs: list[TargetRun[T]] = [TargetRun(m.label, canary=i < first) for i, m in enumerate(members)]
    result: FleetRun[T] = FleetRun(runs)

    def one(member: FleetTarget, run: TargetRun[T]) -> None:
        started = time.perf_counter()
        try:
            run.outcome = work(member, run)
            run.state = TargetState.DONE
        except Interrupted:
            run.state = TargetState.INTERRUPTED
            run.error = "interrupted: stopped after its current migration; run again to finish"
        except Exception as exc:  # every failure is this target's, reported with its label
            run.state = TargetState.FAILED
            run.error = error_line(exc, member.target.url)
        run.seconds = time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=max(1, fleet.parallel), thread_name_prefix="fleet") as pool:
        canaries, rest = list(range(first)), list(range(first, len(members)))
        # every canary finishes (keep going among them), then one failed canary stops the whole fleet
        if not _run_wave(pool, fleet.parallel, canaries, members, runs, one, stop, tell, True, result):
            if any(runs[i].state is not TargetState.DONE for i in canaries):
                result.halted = "stopped" if stop.is_set() else "canary failed"
            else:
                _run_wave(pool, fleet.parallel, rest, members, runs, one, stop, tell, keep_going, result)
    if result.halted is None and stop.is_set() and result.count(TargetState.INTERRUPTED):
        result.halted = "stopped"  # the signal came after the last start: it still cut targets short
    return result


def _run_wave(
    pool: ThreadPoolExecutor,
    parallel: int,
    wave: Sequence[int],
    members: Sequence[FleetTarget],
    runs: Sequence[TargetRun[T]],
    one: Callable[[FleetTarget, TargetRun[T]], None],
    stop: threading.Event,
    tell: OnEvent,
    keep_going: bool,
    result: FleetRun[T],
) -> bool:
    """Start the wave's targets, at most ``parallel`` at a time; True when the halt rule stopped new starts."""
    waiting = list(wave)
    running: dict[Future[None], int] = {}
    while waiting or running:
        while waiting and len(running) < parallel and not result.halted:
            if stop.is_set():
                result.halted = "stopped"
                break
            index = waiting.pop(0)
            runs[index].state = TargetState.RUNNING
            tell(Event("started", runs[index]))  # type: ignore[arg-type]
            running[pool.submit(one, members[index], runs[index])] = index
        if not running:
            break
        # a short timeout: Ctrl-C and SIGTERM handlers run in this thread, between waits
        finished, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
        for future in finished:
            index = running.pop(future)
            future.result()  # `one` catches everything a target raises
            tell(Event("finished", runs[index]))  # type: ignore[arg-type]
            if runs[index].state is TargetState.FAILED and not keep_going and not result.halted:
                result.halted = "a target failed"
    return result.halted is not None
