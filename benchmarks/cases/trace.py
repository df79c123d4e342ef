"""Trace: `inv plan --trace` records the real locks of the pending migrations on a scratch copy; how long it takes."""

from __future__ import annotations

import shutil

import psycopg

from benchmarks.goals import TRACE_0007_VS_SCRATCH, TRACE_ALL_VS_SCRATCH
from benchmarks.harness import Bench
from benchmarks.paths import EXAMPLE, ROOT
from benchmarks.report import CaseResult, MeasureTable, ratio_goal, seconds, times
from benchmarks.timing import BenchError, CallSpec, ProcessSpec, measure_calls_round_robin, ratio
from drizzle_ops.engine import connection, runner
from drizzle_ops.engine.workspace import Workspace, load_workspace
from drizzle_ops.review.trace import trace

KEY = "trace"
TITLE = "Trace: plan --trace on a scratch copy"


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
        "database, migrate, trace, drop), what the goals measure, in turns with its baseline: the same work "
        "without the trace (create a database on the same server, `runner.migrate` it to the same migration, "
        "drop it). **Whole process**: `inv plan --trace` against `inv plan` on the same target, to show what "
        "the trace adds to the command a reviewer runs.",
    )
    traced = _trace_spec(bench, "trace 0007 (in process)", workspace, tags[6], [tags[7]])
    traced_all = _trace_spec(bench, "trace 8 migrations from empty (in process)", workspace, None, tags)
    scratch = _scratch_spec(bench, "baseline: scratch database to 0007, no trace", workspace, tags[7])
    in_process = measure_calls_round_robin(
        [traced, scratch, traced_all], runs=bench.options.runs, warmup=bench.options.warmup
    )
    for m in in_process:
        bench.report(m)
    case.tables.append(MeasureTable("In process, in turns", in_process, [("scratch, no trace", in_process[1])]))
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
    one, baseline, everything = in_process
    case.goals += [
        ratio_goal(
            "trace",
            f"tracing the pending 0007 ≤ {TRACE_0007_VS_SCRATCH:g}× migrating a scratch database to it (warm server)",
            one,
            baseline,
            TRACE_0007_VS_SCRATCH,
        ),
        ratio_goal(
            "trace",
            f"tracing the 8 example migrations from empty ≤ {TRACE_ALL_VS_SCRATCH:g}× migrating a scratch "
            "database to 0007",
            everything,
            baseline,
            TRACE_ALL_VS_SCRATCH,
        ),
    ]
    case.headline.append(
        f"`plan --trace`: 0007 traced in {seconds(one.median)} (whole `inv plan --trace` {seconds(processes[1].median)}"
        f" against `inv plan` {seconds(processes[0].median)}); 8 migrations from empty in "
        f"{seconds(everything.median)} (whole process {seconds(processes[3].median)}); the same migrations on a "
        f"scratch database without the trace {seconds(baseline.median)} ({times(ratio(everything, baseline))})"
    )
    case.reproduce = [m.display for m in processes]
    bench.drop(at_0006)
    bench.drop(empty)
    return case


def _spec(bench: Bench, name: str, argv: list[str], url: str) -> ProcessSpec:
    """The report shows the scratch server as $SERVER_URL: its URL holds the password."""
    shown = bench.show(["inv", *[("$SERVER_URL" if a == bench.server.url else a) for a in argv[1:]]], url)
    return ProcessSpec(name, argv, bench.redact(shown), cwd=ROOT, env=bench.inv_env)


def _trace_spec(bench: Bench, name: str, workspace: Workspace, head: str | None, pending: list[str]) -> CallSpec:
    def run_trace(_i: int) -> None:
        result = trace(bench.server.url, workspace, head=head, pending=pending)
        if len(result.migrations) != len(pending) or any(m.error for m in result.migrations) or not result.dropped:
            raise BenchError(f"{name}: the trace did not run every migration cleanly")

    return CallSpec(name, run_trace, f"trace(server, workspace, head={head!r}, pending={len(pending)})")


def _scratch_spec(bench: Bench, name: str, workspace: Workspace, to: str) -> CallSpec:
    """What trace() does without reading locks: a new database on the same server, migrated to ``to``, dropped."""
    db = "bench_trace_scratch"

    def run_scratch(_i: int) -> None:
        bench.recreate(db)
        with connection.connect(bench.url(db)) as conn:
            applied = runner.migrate(conn, workspace, to=to)
        bench.drop(db)
        if len(applied.applied) != len(workspace.migrations):
            raise BenchError(f"{name}: {len(applied.applied)} migrations applied, not {len(workspace.migrations)}")

    return CallSpec(name, run_scratch, f"CREATE DATABASE {db}; runner.migrate(..., to={to!r}); DROP DATABASE {db}")
