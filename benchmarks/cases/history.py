"""Long history: `inv status` and a no-op `inv migrate` at many migrations with real-sized snapshots, against few."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks import generate_workspace
from benchmarks.goals import HISTORY_GROWTH
from benchmarks.harness import Bench, log
from benchmarks.paths import ROOT
from benchmarks.profiling import profile_section
from benchmarks.report import CaseResult, Goal, MeasureTable, seconds, times
from benchmarks.timing import CallSpec, Measurement, measure_calls_round_robin, ratio, run_process
from drizzle_ops.engine.workspace import load_workspace

KEY = "history"
TITLE = "Long history: `inv status` and no-op `inv migrate` at 1,000 against 10 migrations"  # the run's sizes vary
HISTORY_BASE_TABLES = 12  # migration 0000 creates the initial schema, so the first snapshot is ~26 KB


@dataclass
class SnapshotSizes:
    files: int
    total: int  # bytes
    first: int
    last: int
    sql: int  # bytes of SQL, for comparison


def snapshot_sizes(ws: Path) -> SnapshotSizes:
    snapshots = [f.stat().st_size for f in sorted((ws / "drizzle" / "meta").glob("*_snapshot.json"))]
    sql_bytes = sum(f.stat().st_size for f in (ws / "drizzle").glob("*.sql"))
    return SnapshotSizes(len(snapshots), sum(snapshots), snapshots[0], snapshots[-1], sql_bytes)


def parse_snapshots(ws: Path) -> int:
    """Read and parse every snapshot of a workspace: what a snapshot chain check costs at least."""
    count = 0
    for path in sorted((ws / "drizzle" / "meta").glob("*_snapshot.json")):
        json.loads(path.read_bytes())
        count += 1
    return count


def size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 1e6 else f"{n_bytes / 1e3:.0f} KB"


def cpu_ratio(candidate: Measurement, baseline: Measurement) -> str:
    a, b = candidate.cpu_median, baseline.cpu_median
    return f"{times(a / b)}: {seconds(a)} vs {seconds(b)}" if a is not None and b else "–"


def run(bench: Bench) -> CaseResult:
    small, large = bench.options.history_sizes
    runs = bench.options.history_runs
    case = CaseResult(
        KEY,
        f"Long history: `inv status` and no-op `inv migrate` at {large:,} against {small:,} migrations",
        f"Two workspaces written by `benchmarks/generate_workspace.py --snapshots full --base-tables "
        f"{HISTORY_BASE_TABLES}`: the first {small:,} migrations of the {large:,} are the {small:,}, and every "
        "migration has the snapshot drizzle-kit 0.31 would write for it (the whole schema after the migration: "
        f"tables with their columns, indexes, foreign keys, unique and check constraints, and enums), so "
        "snapshots grow with the history as in a real one (the first 200 of these hold about 24 MB; a public "
        "app's real history of 186 migrations holds 27 MB). Each workspace has its own database, migrated "
        "once by `inv migrate` before timing (untimed), so everything is applied. Then `inv status` and "
        "a no-op `inv migrate` run at both sizes in turns (status small, status large, no-op small, no-op large, "
        "and again); the goal is the ratio of the large to the small, median over median (issue 10: `status` and "
        "no-op `migrate` read no snapshot), with the ratio of CPU medians beside it, which a busy machine "
        "disturbs less. `inv status --json` runs in the same rounds, to separate the table's rendering from the "
        "rest. In "
        "process, in turns too: parsing every snapshot file (`json.loads`, what any snapshot chain check pays "
        "at least) and `load_workspace`, to show how much of the difference is the workspace load.",
    )
    workspaces: dict[int, Path] = {}
    urls: dict[int, str] = {}
    sizes: dict[int, SnapshotSizes] = {}
    for n in (small, large):
        log(f" history: writing {n} migrations with full snapshots")
        ws = generate_workspace.generate(n, bench.tmp / f"hist-{n}", snapshots="full", base_tables=HISTORY_BASE_TABLES)
        workspaces[n], sizes[n] = ws, snapshot_sizes(ws)
        db = f"bench_history_{n}"
        urls[n] = bench.url(db)
        bench.recreate(db)
        log(f" history: applying {n} migrations (untimed)")
        run_process(bench.inv_cmd("migrate", urls[n], ws), cwd=ROOT, env=bench.inv_env, redact=bench.redact)
        bench.expect_rows(db, n, f"setup of the long-history case ({n} migrations)")(0)
    status_specs, noop_specs = [], []
    for n in (small, large):
        status_specs.append(bench.inv_spec(f"inv status ({n:,})", "status", urls[n], workspaces[n]))
        unchanged = bench.expect_rows(f"bench_history_{n}", n, f"no-op migrate at {n}")
        noop_specs.append(
            bench.inv_spec(f"inv migrate, no-op ({n:,})", "migrate", urls[n], workspaces[n], verify=unchanged)
        )
    # the same status with --json: every row, no table rendered (what rendering costs, measured in the same rounds)
    json_specs = []
    for n in (small, large):
        argv = [*bench.inv_cmd("status", urls[n], workspaces[n]), "--json"]
        json_specs.append(bench.cmd_spec(f"inv status --json ({n:,})", argv, bench.show(["inv", *argv[1:]], urls[n])))
    # in turns: status small, status large, no-op small, no-op large, status --json small, status --json large
    status_s, status_l, noop_s, noop_l, json_s, json_l = bench.measure([*status_specs, *noop_specs, *json_specs], runs)
    case.tables.append(MeasureTable("`inv status`", [status_s, status_l], [(f"at {small:,}", status_s)]))
    case.tables.append(MeasureTable("No-op `inv migrate`", [noop_s, noop_l], [(f"at {small:,}", noop_s)]))
    case.tables.append(
        MeasureTable(
            "`inv status --json` (every row, no table rendered; a diagnostic, no goal)",
            [json_s, json_l],
            [(f"at {small:,}", json_s)],
        )
    )

    def parse_at(n: int) -> Callable[[int], object]:
        return lambda _i: parse_snapshots(workspaces[n])

    def load_at(n: int) -> Callable[[int], object]:
        return lambda _i: load_workspace(workspaces[n])

    calls = [
        CallSpec(f"parse every snapshot ({n:,})", parse_at(n), "json.loads of each drizzle/meta/*_snapshot.json")
        for n in (small, large)
    ]
    calls += [
        CallSpec(f"load_workspace ({n:,})", load_at(n), "drizzle_ops.engine.workspace.load_workspace")
        for n in (small, large)
    ]
    in_process = measure_calls_round_robin(calls, runs=min(runs, 3), warmup=0)
    for m in in_process:
        bench.report(m)
    case.tables.append(MeasureTable("In process (the same interpreter as the harness)", in_process, []))
    lines = [
        "**The two workspaces**",
        "",
        "| migrations | snapshot files | snapshots in all | first snapshot | last snapshot | SQL in all |",
        "|---|---|---|---|---|---|",
    ]
    for n in (small, large):
        z = sizes[n]
        lines.append(f"| {n:,} | {z.files:,} | {size(z.total)} | {size(z.first)} | {size(z.last)} | {size(z.sql)} |")
    extra = ["\n".join(lines)]
    if bench.options.profile:
        extra.append(
            profile_section(
                bench,
                bench.inv_cmd("status", urls[large], workspaces[large]),
                f"inv status --workspace $BENCH_TMP/hist-{large} --url $URL",
                f"{large:,} migrations, all applied, {size(sizes[large].total)} of snapshots",
            )
        )
    case.extra = "\n\n".join(extra)
    at_full = large >= 1000
    where = "" if at_full else f" (quick mode: {large} against {small}; the goal is at 1,000)"
    for label, m_small, m_large in (("`inv status`", status_s, status_l), ("no-op `inv migrate`", noop_s, noop_l)):
        r = ratio(m_large, m_small)
        case.goals.append(
            Goal(
                "long history",
                f"{label} at 1,000 migrations ≤ {HISTORY_GROWTH}× its time at 10 (real-sized snapshots)",
                f"{times(r)} ({seconds(m_large.median)} at {large:,} vs {seconds(m_small.median)} at {small:,}; "
                f"CPU {cpu_ratio(m_large, m_small)})" + where,
                None if r is None or not at_full else r <= HISTORY_GROWTH,
            )
        )
    parse_l = in_process[1]
    case.headline.append(
        f"Long history, {large:,} against {small:,} migrations ({size(sizes[large].total)} against "
        f"{size(sizes[small].total)} of snapshots): `inv status` {seconds(status_l.median)} vs "
        f"{seconds(status_s.median)} ({times(ratio(status_l, status_s))}, goal ≤ {HISTORY_GROWTH}×), no-op "
        f"`inv migrate` {seconds(noop_l.median)} vs {seconds(noop_s.median)} ({times(ratio(noop_l, noop_s))}), "
        f"`inv status --json` {times(ratio(json_l, json_s))}; "
        f"parsing every snapshot alone takes {seconds(parse_l.median)} at {large:,}."
    )
    case.reproduce = [
        "export BENCH_TMP=$(mktemp -d)",
        *[
            f"python -m benchmarks.generate_workspace {n} $BENCH_TMP/hist-{n} --snapshots full "
            f"--base-tables {HISTORY_BASE_TABLES}"
            for n in (small, large)
        ],
        f"# one database per size ($URL names bench_history_{small} or bench_history_{large}), each migrated once:",
        *[f"inv migrate --workspace $BENCH_TMP/hist-{n} --url $URL" for n in (small, large)],
        *[m.display for m in (status_s, status_l, noop_s, noop_l, json_s, json_l)],
    ]
    for n in (small, large):
        bench.drop(f"bench_history_{n}")
        shutil.rmtree(workspaces[n], ignore_errors=True)  # hundreds of MB at 1,000: free them for later cases
    return case
