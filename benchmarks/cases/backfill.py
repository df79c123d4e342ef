"""Backfill: a data migration over a big table, in keyset batches against one UPDATE, while a writer updates rows."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import psycopg

from benchmarks import write_load
from benchmarks.goals import BACKFILL_THROUGHPUT_VS_SINGLE, BACKFILL_WRITER_WAIT
from benchmarks.harness import Bench, log
from benchmarks.paths import ROOT
from benchmarks.report import CaseResult, Goal, seconds, times
from benchmarks.stall import (
    CUSTOM_HEADER,
    STALL_LEAD_IN,
    STALL_LOAD_SECONDS,
    STALL_LOAD_WRITES,
    StallPath,
    stall_run,
    stall_workspace,
)
from benchmarks.timing import BenchError, run_process

KEY = "backfill"
TITLE = "Backfill: a data migration over a big table, batched against one UPDATE, with a writer at work"

FULL_ROWS = 5_000_000
TAG = "0000_backfill_value_doubled"
BATCH_ROWS = 1000
# the same file with a larger batch: fewer transactions (each batch costs a round trip or two and a commit) against
# longer row locks per batch, to show where that trade lands against both goals
LARGE_BATCH_ROWS = 5000
UPDATE = (
    'UPDATE "load_items" SET "value_doubled" = "value" * 2, "backfill_count" = "backfill_count" + 1 '
    'WHERE "value_doubled" IS NULL;'
)
# what `drizzle-kit generate --custom` writes, then the statement (and, for the batched path, the marker) below it
SINGLE_SQL = f"{CUSTOM_HEADER}\n{UPDATE}\n"
BATCHED_SQL = f"{CUSTOM_HEADER}\n-- drizzle-ops: batch rows={BATCH_ROWS}\n{UPDATE}\n"
LARGE_BATCHED_SQL = f"{CUSTOM_HEADER}\n-- drizzle-ops: batch rows={LARGE_BATCH_ROWS}\n{UPDATE}\n"


def run(bench: Bench) -> CaseResult:
    rows = 200_000 if bench.options.quick else FULL_ROWS
    at_full = rows >= FULL_ROWS
    runs = 1
    db = "bench_backfill"
    url = bench.url(db)
    case = CaseResult(
        KEY,
        TITLE,
        f"A custom migration backfills a new column over `load_items` ({rows:,} rows): `{UPDATE}`. A second "
        f"process (`benchmarks/write_load.py`, bounded to {STALL_LOAD_SECONDS} s and {STALL_LOAD_WRITES:,} writes, "
        "127.0.0.1 only) does single-row writes, alternately an insert and an update of a random existing row, "
        "each its own transaction, and records every write's latency; the migration starts "
        f"{STALL_LEAD_IN:.0f} s into the load and the load stops 1 s after it ends. **Single UPDATE** (the "
        "baseline): the file as it is, applied by `inv migrate` in one transaction, as drizzle-kit would apply it. "
        f"**Batched**: the same file with the line `-- drizzle-ops: batch rows={BATCH_ROWS}` above the statement, "
        f"applied by `inv migrate` in keyset batches of {BATCH_ROWS:,} keys, each its own transaction; and once more "
        f"with `rows={LARGE_BATCH_ROWS}`, fewer transactions against longer row locks per batch. Before each "
        "run the table is made again (`write_load.setup`, plus the two columns: untimed), so every run starts from "
        "the same dense table. After each run the harness checks the bookkeeping row and that every row the table "
        "had before the run was changed exactly once (`backfill_count = 1`). Throughput is the table's rows over "
        "the migrating process's time; it is measured twice: with the writer at work, and in the runs without it "
        "below (the cost of batching itself: on two cores the single UPDATE runs alone while the writer waits on "
        "its locks, and the batched run shares the cores with the writer it lets through). WAL bytes per row come "
        "from `pg_current_wal_lsn()` before and after a run "
        "of each path without the write load (so the WAL is the backfill's alone), on a server with "
        "`full_page_writes=off`. Last, a batched run is killed with SIGKILL halfway, then run again.",
    )
    single_ws = stall_workspace(bench, "ws-backfill-single", [(TAG, SINGLE_SQL)])
    batched_ws = stall_workspace(bench, "ws-backfill-batched", [(TAG, BATCHED_SQL)])
    large_ws = stall_workspace(bench, "ws-backfill-batched-large", [(TAG, LARGE_BATCHED_SQL)])

    def setup() -> None:
        bench.recreate(db)
        started = time.perf_counter()
        write_load.setup(url, rows)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                'ALTER TABLE "load_items" ADD COLUMN "value_doubled" integer, '
                'ADD COLUMN "backfill_count" integer DEFAULT 0 NOT NULL'
            )
        log(f"  {rows:,} rows written in {time.perf_counter() - started:.1f} s")

    def check(what: str) -> None:
        bench.expect_rows(db, 1, what)(0)
        with psycopg.connect(url) as conn:
            found = conn.execute(
                'select count(*) filter (where "backfill_count" <> 1), count(*) from "load_items" where "id" <= %s',
                [rows],
            ).fetchone()
        if found != (0, rows):
            raise BenchError(f"{what}: expected each of the {rows:,} rows changed once, found {found}")

    paths = []
    for key, name, ws in (
        ("single", "single UPDATE: inv migrate (one transaction)", single_ws),
        ("batched", f"batched: inv migrate (rows={BATCH_ROWS}, each batch its own transaction)", batched_ws),
        ("large", f"batched: inv migrate (rows={LARGE_BATCH_ROWS}, each batch its own transaction)", large_ws),
    ):
        argv = bench.inv_cmd("migrate", url, ws)
        paths.append(StallPath(key, name, argv, ROOT, bench.inv_env, bench.show(["inv", *argv[1:]], url), 1, []))
    for i in range(runs):
        for path in paths:
            setup()
            path.runs.append(stall_run(bench, url, path.argv, path.cwd, path.env))
            check(path.name)
            r = path.runs[-1]
            log(
                f"  run {i + 1}, {path.key}: migration {seconds(r.migration)}, longest write {seconds(r.longest)}, "
                f"p99 {seconds(r.p99_during)}, {r.failed} failed"
            )
    by = {p.key: p for p in paths}
    single, batched, large = by["single"], by["batched"], by["large"]
    wal, alone = {}, {}
    for path in paths:
        setup()
        wal[path.key], alone[path.key] = _wal_per_row(url, bench, path.argv, rows)
        check(f"{path.name}, without load")
        log(
            f"  {path.key}: {wal[path.key]:.0f} WAL bytes per row; "
            f"without the writer, migration {seconds(alone[path.key])}"
        )
    setup()
    killed = _kill_and_rerun(bench, url, batched.argv, rows)
    check("batched, killed and run again")
    log(f"  killed at batch {killed[0]} of {killed[1]}, then run again: every row changed once")

    def rate(path: StallPath) -> float:
        return rows / path.median("migration")

    throughput = rate(batched) / rate(single)
    # without the writer: the cost of batching itself. With it, the single UPDATE has the two cores to itself while
    # the writer waits on its locks, and the batched run shares them with the writer it lets through
    throughput_alone = alone["single"] / alone["batched"]
    worst = batched.worst("longest")
    large_throughput, large_worst = rate(large) / rate(single), large.worst("longest")
    lines = [
        f"**Write latency and throughput** ({runs} run(s) per path; medians over runs, the worst run in brackets; a "
        f"write is stalled when it takes over {BACKFILL_WRITER_WAIT * 1000:.0f} ms)",
        "",
        "| path and command | migration (process) | rows/s | × single | longest write | p99 write during | "
        "stalled writes | failed writes | writes/s before → during | WAL per row |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in paths:
        lines.append(
            f"| {p.name}: `{p.shown}` | {seconds(p.median('migration'))} ({seconds(p.worst('migration'))}) | "
            f"{rate(p):,.0f} | {times(rate(p) / rate(single))} | **{seconds(p.median('longest'))}** "
            f"({seconds(p.worst('longest'))}) | {seconds(p.median('p99_during'))} | {p.median('slow'):.0f} | "
            f"{p.median('failed'):.0f} | {p.median('rate_before'):.0f} → {p.median('rate_during'):.0f} | "
            f"{wal[p.key]:.0f} B |"
        )
    case.extra = "\n".join(lines)
    case.headline.append(
        f"Backfill ({rows:,} rows under single-row writes): one UPDATE holds writers up to "
        f"{seconds(single.median('longest'))} (the whole statement, {seconds(single.median('migration'))}); in "
        f"batches of {BATCH_ROWS:,} the longest write is {seconds(batched.median('longest'))}, at "
        f"{throughput:.0%} of the single UPDATE's throughput (in batches of {LARGE_BATCH_ROWS:,}: "
        f"{seconds(large.median('longest'))} at {large_throughput:.0%}); WAL {wal['batched']:.0f} vs "
        f"{wal['single']:.0f} bytes per row; killed halfway and run again, every row changed exactly once."
    )
    quick_note = (
        ""
        if at_full
        else f" (quick mode: {rows:,} rows, where start-up and the first batch weigh; the goal is at {FULL_ROWS:,})"
    )
    case.goals += [
        Goal(
            "backfill writer wait",
            f"the writer's longest wait ≤ {BACKFILL_WRITER_WAIT * 1000:.0f} ms in batches (one UPDATE: the whole "
            "statement)",
            f"{seconds(worst)} in the worst batched run; one UPDATE: {seconds(single.median('longest'))} "
            f"(its migration {seconds(single.median('migration'))})",
            worst <= BACKFILL_WRITER_WAIT and sum(r.failed for r in batched.runs) == 0,
        ),
        Goal(
            "backfill throughput",
            f"batched ≥ {BACKFILL_THROUGHPUT_VS_SINGLE:.0%} of one UPDATE's rows per second, with the writer at work",
            f"{throughput:.0%} ({rate(batched):,.0f} vs {rate(single):,.0f} rows/s)" + quick_note,
            throughput >= BACKFILL_THROUGHPUT_VS_SINGLE if at_full else None,
        ),
        Goal(
            "backfill throughput",
            f"batched ≥ {BACKFILL_THROUGHPUT_VS_SINGLE:.0%} of one UPDATE's rows per second, no writer (the cost of "
            "batching alone)",
            f"{throughput_alone:.0%} ({rows / alone['batched']:,.0f} vs {rows / alone['single']:,.0f} rows/s)"
            + quick_note,
            throughput_alone >= BACKFILL_THROUGHPUT_VS_SINGLE if at_full else None,
        ),
        Goal(
            f"backfill at rows={LARGE_BATCH_ROWS}",
            f"both goals with batches of {LARGE_BATCH_ROWS:,}, with the writer at work: its longest wait ≤ "
            f"{BACKFILL_WRITER_WAIT * 1000:.0f} ms and ≥ {BACKFILL_THROUGHPUT_VS_SINGLE:.0%} of one UPDATE's rows per "
            "second",
            f"longest wait {seconds(large_worst)}; {large_throughput:.0%} ({rate(large):,.0f} rows/s; without the "
            f"writer {alone['single'] / alone['large']:.0%})" + quick_note,
            (
                large_worst <= BACKFILL_WRITER_WAIT
                and sum(r.failed for r in large.runs) == 0
                and large_throughput >= BACKFILL_THROUGHPUT_VS_SINGLE
            )
            if at_full
            else None,
        ),
        Goal(
            "backfill SIGKILL",
            "killed in the middle and run again, every row is changed exactly once",
            f"killed after batch {killed[0]} of {killed[1]}; the rerun finished it; every one of {rows:,} rows "
            "changed once",
            True,
        ),
    ]
    case.notes.append(
        "Rows the writer inserts during a run are not checked: the single UPDATE's snapshot never sees them, and "
        "the batched run changes those that are there when its last batch runs (the application writes the new "
        "column for rows it inserts, as during any backfill)."
    )
    case.notes.append(
        "WAL per row is measured without the write load; the server runs with `full_page_writes=off`, so neither "
        "figure holds the full-page images a production server writes after each checkpoint."
    )
    case.reproduce = [
        "export BENCH_TMP=$(mktemp -d)",
        "export URL   # the bench_backfill database, on 127.0.0.1",
        f"python -c 'import os; from benchmarks import write_load; write_load.setup(os.environ[\"URL\"], {rows})'",
        'psql "$URL" -c \'ALTER TABLE load_items ADD COLUMN value_doubled integer, '
        "ADD COLUMN backfill_count integer DEFAULT 0 NOT NULL'",
        f"# $BENCH_TMP/ws-backfill-single, ws-backfill-batched and ws-backfill-batched-large: one migration each, "
        f"{TAG} "
        "(benchmarks/cases/backfill.py: SINGLE_SQL, BATCHED_SQL, LARGE_BATCHED_SQL; stall_workspace)",
        f"BENCH_LOAD_URL=$URL python -m benchmarks.write_load --max-seconds {STALL_LOAD_SECONDS} "
        f"--max-writes {STALL_LOAD_WRITES} --out $BENCH_TMP/load.json &",
        *[p.shown for p in paths],
    ]
    bench.drop(db)
    return case


def _wal_lsn(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint").fetchone()
    return int(row[0]) if row else 0


def _wal_per_row(url: str, bench: Bench, argv: list[str], rows: int) -> tuple[float, float]:
    """WAL bytes per row of a run without the write load, and that run's time (the process, start to end)."""
    before = _wal_lsn(url)
    started = time.perf_counter()
    run_process(argv, cwd=ROOT, env=bench.inv_env, redact=bench.redact)
    took = time.perf_counter() - started
    return (_wal_lsn(url) - before) / rows, took


def _progress(url: str) -> int:
    with psycopg.connect(url) as conn:
        found = conn.execute("select to_regclass('drizzle.__drizzle_migrations_batches') is not null").fetchone()
        if not found or not found[0]:
            return 0
        row = conn.execute("select coalesce(max(batches), 0) from drizzle.__drizzle_migrations_batches").fetchone()
    return int(row[0]) if row else 0


def _kill_and_rerun(bench: Bench, url: str, argv: list[str], rows: int) -> tuple[int, int]:
    """A batched run killed with SIGKILL once half its batches are committed, then run again; (batch, of batches)."""
    total = -(-rows // BATCH_ROWS)
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=bench.inv_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        done = 0
        while proc.poll() is None and done < total // 2:
            time.sleep(0.01)
            done = _progress(url)
        if proc.poll() is not None:
            raise BenchError("the batched run ended before half its batches: nothing to kill")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    killed_at = _progress(url)
    with psycopg.connect(url) as conn:
        row = conn.execute(
            'select count(*) filter (where "backfill_count" = 1), count(*) filter (where "backfill_count" > 1), '
            "(select rows_done from drizzle.__drizzle_migrations_batches) from load_items"
        ).fetchone()
    if row is None or row[1] != 0 or row[0] != row[2]:
        raise BenchError(f"after SIGKILL: rows changed once, more than once, progress's count: {row}")
    run_process(argv, cwd=ROOT, env=bench.inv_env, redact=bench.redact)
    return killed_at, total
