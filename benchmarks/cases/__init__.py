"""The benchmark cases, one module each, all with the same small interface (``Case``)."""

from __future__ import annotations

from typing import Protocol

from benchmarks.cases import (
    backfill,
    fix,
    fleet,
    fresh,
    history,
    lint,
    lintsince,
    lockstall,
    noop,
    realhistory,
    scale,
    seed,
    server,
    testdb,
    trace,
)
from benchmarks.harness import Bench
from benchmarks.report import CaseResult


class Case(Protocol):
    KEY: str  # its name for --cases
    TITLE: str  # the report's heading, also when the case fails before it can say more

    def run(self, bench: Bench) -> CaseResult: ...


# the order of a full run, and of --cases by default
CASES: dict[str, Case] = {
    case.KEY: case
    for case in (
        noop,
        fresh,
        scale,
        seed,
        history,
        realhistory,
        testdb,
        server,
        lockstall,
        backfill,
        fleet,
        trace,
        lint,
        lintsince,
        fix,
    )
}
