"""The edge of a fleet run: the fleet resolved once, Ctrl-C and SIGTERM turned into "start nothing new",
a live progress line on stderr, and the parts every fleet report shares (JSON head, exit code)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from invoke.exceptions import Exit
from rich.status import Status
from rich.text import Text

from drizzle_ops.cli import render
from drizzle_ops.commands.fleet.run import Event, FleetRun, TargetState
from drizzle_ops.context.fleet.build import Fleet


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """Ctrl-C and SIGTERM set the event instead of killing the run: no new target starts, those in flight end
    after their current migration. Only the main thread may install handlers; elsewhere the event is all."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: object) -> None:
        if not stop.is_set():
            name = signal.Signals(signum).name
            render.log(f"{name}: no new target starts; those running stop after their current migration …")
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


MARKS = {TargetState.DONE: ("✓", "green"), TargetState.FAILED: ("✗", "red")}


class FleetProgress:
    """The live line on stderr (done · failed · running, at a terminal), and one line per finished target."""

    def __init__(self, fleet: Fleet, verb: str) -> None:
        self.total, self.verb, self.name = len(fleet.targets), verb, fleet.environment.name
        self.counts = {TargetState.DONE: 0, TargetState.FAILED: 0, TargetState.INTERRUPTED: 0}
        self.running = 0
        self.lock = threading.Lock()
        self.status: Status | None = None
        self.started = time.perf_counter()

    def __enter__(self) -> FleetProgress:
        if render.err.is_terminal:
            self.status = render.err.status(self.line())
            self.status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.stop()

    def line(self) -> str:
        interrupted = self.counts[TargetState.INTERRUPTED]
        stopped = f" · {interrupted} interrupted" if interrupted else ""
        return (
            f"{self.name}: {self.counts[TargetState.DONE]}/{self.total} done · "
            f"{self.counts[TargetState.FAILED]} failed{stopped}"
            f" · {self.running} running"
        )

    def __call__(self, event: Event) -> None:
        with self.lock:
            run = event.run
            if event.kind == "started":
                self.running += 1
            elif event.kind == "finished":
                self.running -= 1
                self.counts[run.state] = self.counts.get(run.state, 0) + 1
                mark = MARKS.get(run.state, ("■", "yellow"))
                detail = run.error or self.verb.format(n=len(run.applied))
                # Text, not markup: an error line holds brackets ("[22012] division by zero")
                text = Text.assemble(
                    mark,
                    f" {run.label}{' (canary)' if run.canary else ''}: {detail} · {run.seconds:.2f}s  ",
                    (f"[{self.line()}]", "dim"),
                )
                render.err.print(text, highlight=False)
            else:
                render.err.print(Text.assemble(("warning:", "yellow"), f" {run.label}: {event.message}"))
            if self.status is not None:
                self.status.update(self.line())


def summary(run: FleetRun[Any]) -> dict[str, int]:
    return {
        state.value.replace(" ", "_"): run.count(state) for state in TargetState if state is not TargetState.RUNNING
    }


def head(fleet: Fleet, run: FleetRun[Any]) -> dict[str, Any]:
    """What every fleet JSON document starts with."""
    return {
        "ok": run.ok,
        "environment": fleet.environment.name,
        "targets": len(fleet.targets),
        "fleet_size": fleet.size,
        "shard": str(fleet.shard) if fleet.shard else None,
        "only": list(fleet.only) or None,
        "parallel": fleet.parallel,
        "halted": run.halted,
        "summary": summary(run),
    }


def counts_text(run: FleetRun[Any]) -> str:
    parts = [f"{n} {state.replace('_', ' ')}" for state, n in summary(run).items() if n]
    return ", ".join(parts) or "no targets"


HALT_ADVICE = {
    "canary failed": "the canary failed, so no other target started; fix it and run again",
    "a target failed": "no new target started after the failure (--keep-going starts the rest anyway)",
    "stopped": "stopped by a signal: no new target started; run again to resume",
}


def fail_if_not_ok(fleet: Fleet, run: FleetRun[Any], what: str) -> None:
    """Exit 1 naming the targets that failed or were interrupted, and what was left unstarted."""
    if run.ok:
        return
    bad = [r.label for r in run.runs if r.state in (TargetState.FAILED, TargetState.INTERRUPTED)]
    shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
    why = f"; {HALT_ADVICE[run.halted]}" if run.halted else ""
    names = f" ({shown})" if bad else ""
    raise Exit(f"error: {what} on fleet {fleet.environment.name}: {counts_text(run)}{names}{why}", code=1)
