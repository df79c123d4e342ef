"""Trace: `inv plan --trace` records the real locks of the pending migrations on a scratch copy; how long it takes."""

from __future__ import annotations

import shutil
import time

import psycopg

from benchmarks.harness import Bench
from benchmarks.paths import EXAMPLE, ROOT
from benchmarks.report import CaseResult, Goal, MeasureTable, seconds
from benchmarks.timing import BenchError, Measurement, ProcessSpec
from drizzle_ops.engine import runner
from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.review.trace import trace

KEY = "trace"
TITLE = "Trace: plan --trace on a scratch copy"
TRACE_0007_SECONDS = 1.0  # issue 13: the example's pending 0007, on a warm server
TRACE_ALL_SECONDS = 2.0  # issue 13: the 8 example migrations from an empty database


def run(bench: Bench) -> CaseResult:
    ws = bench.tmp / "ws-trace"
    shutil.rmtree(ws, ignore_errors=True)
    shutil.copytree(EXAMPLE, ws, ignore=shutil.ignore_patterns("node_modules"))
    workspace = load_workspace(ws)
    tags = [m.tag for m in workspace.migrations]
    at_0006, empty = "bench_trace_0006", "bench_trace_empty"
    bench.recreate(at_0006)
    bench.recreate(empty)
    with psycopg.connect(bench.url(at_0006), autocommit=True) as conn:
        runner.migrate(conn, workspace, to=tags[6])
    case = CaseResult(
        KEY,
        TITLE,
        "`inv plan --trace` makes a scratch database on a disposable server (here the benchmark's own server, "
        "already running, given as `--trace-url`: a warm embedded server), migrates it to the target's applied "
        "head with the runner, runs each pending migration as migrate would while reading `pg_locks` and "
        "`pg_class` after every statement, then drops it. Two targets: the example at 0006 (0007 pending) and an "
        "empty database (all 8 pending). **In process**: `drizzle_ops.review.trace.trace()` alone (scratch "
        "database, migrate, trace, drop), what the goals measure. **Whole process**: `inv plan --trace` against "
        "`inv plan` on the same target, to show what the trace adds to the command a reviewer runs.",
    )
    in_process = [
        _in_process(bench, "trace 0007 (in process)", workspace, tags[6], [tags[7]]),
        _in_process(bench, "trace 8 migrations from empty (in process)", workspace, None, tags),
    ]
    case.tables.append(MeasureTable("In process: trace() alone", in_process))
    specs = []
    for name, db in (("at 0006", at_0006), ("empty", empty)):
        url = bench.url(db)
        base = [bench.inv, "plan", "--workspace", str(ws), "--url", url, "--json"]
        specs.append(_spec(bench, f"inv plan, {name}", base, url))
        specs.append(
            _spec(bench, f"inv plan --trace, {name}", [*base, "--trace", "--trace-url", bench.server.url], url)
        )
    processes = bench.measure(specs)
    case.tables.append(MeasureTable("Whole processes", processes, [("inv plan at 0006", processes[0])]))
    one, everything = in_process
    case.goals += [
        Goal(
            "trace",
            f"tracing the pending 0007 ≤ {TRACE_0007_SECONDS:.0f} s (warm server)",
            seconds(one.median),
            one.median <= TRACE_0007_SECONDS,
        ),
        Goal(
            "trace",
            f"tracing the 8 example migrations from empty ≤ {TRACE_ALL_SECONDS:.0f} s",
            seconds(everything.median),
            everything.median <= TRACE_ALL_SECONDS,
        ),
    ]
    case.headline.append(
        f"`plan --trace`: 0007 traced in {seconds(one.median)} (whole `inv plan --trace` {seconds(processes[1].median)}"
        f" against `inv plan` {seconds(processes[0].median)}); 8 migrations from empty in "
        f"{seconds(everything.median)} (whole process {seconds(processes[3].median)})"
    )
    case.reproduce = [m.display for m in processes]
    bench.drop(at_0006)
    bench.drop(empty)
    return case


def _spec(bench: Bench, name: str, argv: list[str], url: str) -> ProcessSpec:
    """The report shows the scratch server as $SERVER_URL: its URL holds the password."""
    shown = bench.show(["inv", *[("$SERVER_URL" if a == bench.server.url else a) for a in argv[1:]]], url)
    return ProcessSpec(name, argv, bench.redact(shown), cwd=ROOT, env=bench.inv_env)


def _in_process(bench: Bench, name: str, workspace: object, head: str | None, pending: list[str]) -> Measurement:
    from drizzle_ops.engine.workspace import Workspace

    assert isinstance(workspace, Workspace)
    measurement = Measurement(name, f"trace(server, workspace, head={head!r}, pending={len(pending)})", in_process=True)
    for run_number in range(bench.options.warmup + bench.options.runs):
        started = time.perf_counter()
        result = trace(bench.server.url, workspace, head=head, pending=pending)
        elapsed = time.perf_counter() - started
        if len(result.migrations) != len(pending) or any(m.error for m in result.migrations) or not result.dropped:
            raise BenchError(f"{name}: the trace did not run every migration cleanly")
        if run_number >= bench.options.warmup:
            measurement.seconds.append(elapsed)
    measurement.warmup = bench.options.warmup
    bench.report(measurement)
    return measurement
