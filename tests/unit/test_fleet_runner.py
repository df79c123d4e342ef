"""The fleet executor's halt rules, with plain functions as the work (no database): canary first and alone,
no new start after a failure unless keep_going, nothing new after a stop, and every outcome reported."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from drizzle_ops.commands.fleet.run import Event, Interrupted, TargetRun, TargetState, error_line, run_fleet
from drizzle_ops.context.config import Settings
from drizzle_ops.context.fleet.build import Fleet, build_fleet
from drizzle_ops.context.fleet.targets import FleetTarget
from drizzle_ops.errors import OperationFailed
from tests.helpers import EXAMPLE

PASSWORD = "Sentinel-Pw-991"


def fleet(monkeypatch: pytest.MonkeyPatch, count: int, *, parallel: int = 1, canary: int = 1) -> Fleet:
    env = {"targets_env": "TENANT_URLS", "parallel": parallel, "canary": canary}
    settings = Settings.from_mapping({"workspace": str(EXAMPLE), "environments": {"tenants": env}}, Path("/p"))
    monkeypatch.setenv("TENANT_URLS", " ".join(f"postgresql://u:{PASSWORD}@h/t{i}" for i in range(count)))
    return build_fleet(settings, environment=settings.environment("tenants"))


def failing_on(*names: str, seen: list[str] | None = None):  # type: ignore[no-untyped-def]
    def work(member: FleetTarget, run: TargetRun[str]) -> str:
        if seen is not None:
            seen.append(member.label)
        if member.label.rsplit("/", 1)[1] in names:
            raise OperationFailed(f"boom on {member.target.url}")
        return "ok"

    return work


def states(run) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.state.value for r in run.runs]


def test_everything_runs_and_the_canary_runs_alone_first(monkeypatch: pytest.MonkeyPatch) -> None:
    f = fleet(monkeypatch, 12, parallel=4, canary=2)
    active, most, lock = [0], [0], threading.Lock()
    order: list[tuple[str, int]] = []

    def work(member: FleetTarget, run: TargetRun[str]) -> str:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
            order.append((member.label, active[0]))
        time.sleep(0.02)
        with lock:
            active[0] -= 1
        return member.label

    result = run_fleet(f, work)
    assert result.ok and states(result) == ["done"] * 12 and result.halted is None
    assert [r.canary for r in result.runs] == [True, True] + [False] * 10
    assert {label for label, _ in order[:2]} == {"h:5432/t0", "h:5432/t1"}  # the canaries, before any other
    assert most[0] <= 4


def test_a_failed_canary_stops_everything_even_with_keep_going(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    result = run_fleet(fleet(monkeypatch, 5, parallel=3), failing_on("t0", seen=seen), keep_going=True)
    assert states(result) == ["failed"] + ["not started"] * 4 and result.halted == "canary failed"
    assert seen == ["h:5432/t0"]
    error = result.runs[0].error or ""
    assert error.startswith("boom on postgresql://u:***@h/t0") and PASSWORD not in error


def test_after_a_failure_no_new_target_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_fleet(fleet(monkeypatch, 6, parallel=1), failing_on("t2"))
    assert states(result) == ["done", "done", "failed", "not started", "not started", "not started"]
    assert result.halted == "a target failed" and not result.ok


def test_keep_going_starts_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_fleet(fleet(monkeypatch, 6, parallel=2), failing_on("t2", "t4"), keep_going=True)
    assert states(result) == ["done", "done", "failed", "done", "failed", "done"] and result.halted is None
    assert result.count(TargetState.FAILED) == 2


def test_a_stop_lets_running_targets_end_and_starts_nothing_new(monkeypatch: pytest.MonkeyPatch) -> None:
    stop = threading.Event()
    events: list[str] = []

    def work(member: FleetTarget, run: TargetRun[str]) -> str:
        if member.label.endswith("t3"):
            stop.set()  # as the edge's SIGTERM handler would, while t3 is in flight
            raise Interrupted
        time.sleep(0.01)
        return "ok"

    result = run_fleet(
        fleet(monkeypatch, 8, parallel=1), work, stop=stop, on_event=lambda e: events.append(f"{e.kind} {e.run.label}")
    )
    assert states(result) == ["done"] * 3 + ["interrupted"] + ["not started"] * 4 and result.halted == "stopped"
    assert result.runs[3].error and "interrupted" in result.runs[3].error
    assert events[:2] == ["started h:5432/t0", "finished h:5432/t0"] and len(events) == 8


def test_an_unexpected_error_is_that_targets_failure_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def work(member: FleetTarget, run: TargetRun[str]) -> str:
        if member.label.endswith("t1"):
            raise KeyError("bug")
        return "ok"

    result = run_fleet(fleet(monkeypatch, 3, parallel=2, canary=0), work, keep_going=True)
    assert states(result) == ["done", "failed", "done"]
    assert result.runs[1].error == "unexpected KeyError: 'bug'"


def test_the_error_line_is_one_line_without_the_password() -> None:
    url = f"postgresql://u:{PASSWORD}@h/db"
    assert error_line(OperationFailed(f"first {PASSWORD}\nsecond"), url) == "first ***"


def test_events_reach_the_edge_from_the_main_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    heard: list[Event] = []
    run_fleet(fleet(monkeypatch, 3, parallel=2), failing_on(), on_event=heard.append)
    assert [e.kind for e in heard].count("finished") == 3 and all(e.run.state is TargetState.DONE for e in heard[-1:])


def test_a_stop_after_the_last_start_still_says_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    stop, both_started = threading.Event(), threading.Barrier(2, timeout=5)

    def work(member: FleetTarget, run: TargetRun[str]) -> str:
        both_started.wait()
        stop.set()
        raise Interrupted

    result = run_fleet(fleet(monkeypatch, 2, parallel=2, canary=0), work, stop=stop)
    assert states(result) == ["interrupted", "interrupted"] and result.halted == "stopped"
