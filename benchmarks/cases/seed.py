"""Seed data: peak memory of `inv migrate` on one 13 MB seed INSERT plus 20,000 single-row INSERTs (issue 23)."""

from __future__ import annotations

import shutil

from benchmarks import generate_seed
from benchmarks.baselines import DRIZZLE_MISSING, concat_line, concatenate, drizzle_spec, psql_spec
from benchmarks.goals import SEED_RSS_FILES, SEED_RSS_MB
from benchmarks.harness import Bench, log
from benchmarks.paths import EXAMPLE_REL
from benchmarks.report import CaseResult, Goal, MeasureTable, seconds, times
from benchmarks.timing import ratio

KEY = "seed"
TITLE = "Seed data: one 13 MB INSERT and 20,000 single-row INSERTs, peak memory"
MIB = 1024 * 1024


def run(bench: Bench) -> CaseResult:
    db = "bench_seed"
    url = bench.url(db)
    shown_ws = "$BENCH_TMP/seed"
    log(" seed: writing the seed workspace")
    ws = generate_seed.generate(bench.tmp / "seed", node_modules=bench.node_modules if bench.has_drizzle else None)
    files = sorted((ws / "drizzle").glob("*.sql"))
    largest = max(f.stat().st_size for f in files)
    total = sum(f.stat().st_size for f in files)
    budget = SEED_RSS_FILES * largest / MIB + SEED_RSS_MB
    floor_sql = concatenate(ws, bench.tmp / "seed.sql")
    case = CaseResult(
        KEY,
        TITLE,
        f"A workspace written by `benchmarks/generate_seed.py` ({len(files)} migrations, {total / MIB:.1f} MB of "
        f"SQL): `0001_seed` is ONE INSERT of {largest / MIB:.1f} MB (~124,000 rows), `0002_events_bulk` holds "
        f"{generate_seed.ROWS // 2:,} single-row INSERTs between breakpoints, and ten more migrations hold "
        f"{generate_seed.ROWS // 2 // generate_seed.SMALL_MIGRATIONS:,} each (see the module's docstring). Each "
        "command applies all of it to a new, empty database (dropped and created before each run, untimed), in "
        "turns: the psql floor (`psql -1 -f` of all files concatenated: no bookkeeping, no checks), drizzle-kit "
        f"as `node node_modules/drizzle-kit/bin.cjs migrate`, and `inv migrate`; after each run the "
        f"{len(files)} bookkeeping rows (or, for the floor, the tables) are checked, untimed. Peak memory is the "
        "process's `ru_maxrss` from `os.wait4` (MB here are MiB, as everywhere in this report; the harness forgets "
        "its own peak before each start, see `benchmarks/timing.py`); the memory goal "
        f"is {SEED_RSS_FILES}× the largest migration file plus {SEED_RSS_MB} MB.",
    )
    fresh = bench.fresh(db)
    applied = bench.expect_rows(db, len(files), f"{len(files)} seed migrations")
    specs = []
    if bench.psql:
        specs.append(
            psql_spec(bench, "floor: psql -1 -f", url, floor_sql, prepare=fresh, verify=bench.expect_tables(db, "psql"))
        )
    if bench.has_drizzle:
        specs.append(drizzle_spec(bench, "drizzle-kit via node", "node", url, ws, prepare=fresh, verify=applied))
    else:
        case.notes.append(DRIZZLE_MISSING)
    specs.append(bench.inv_spec("inv migrate", "migrate", url, ws, prepare=fresh, verify=applied))
    log(f" seed: {len(specs)} commands in turns, {bench.options.runs} runs")
    measured = bench.measure(specs)
    by = {m.name: m for m in measured}
    inv, floor, node = by["inv migrate"], by.get("floor: psql -1 -f"), by.get("drizzle-kit via node")
    case.tables.append(
        MeasureTable(
            f"Fresh apply of the seed set ({total / MIB:.1f} MB, largest file {largest / MIB:.1f} MB)",
            measured,
            [("floor", floor), ("drizzle-kit", node)],
        )
    )
    peak = inv.peak_rss_mb or 0.0
    case.goals.append(
        Goal(
            KEY,
            f"peak RSS of `inv migrate` ≤ {SEED_RSS_FILES}× the largest migration file + {SEED_RSS_MB} MB",
            f"{peak:.0f} MB against {budget:.0f} MB ({SEED_RSS_FILES}× {largest / MIB:.1f} MB + {SEED_RSS_MB} MB): "
            f"{peak / budget:.2f}× the budget (the largest of {inv.runs} runs)",
            peak <= budget,
        )
    )
    case.headline.append(
        f"Seed data ({total / MIB:.1f} MB, one {largest / MIB:.1f} MB INSERT and {generate_seed.ROWS:,} single-row "
        f"INSERTs): `inv migrate` peaks at {peak:.0f} MB RSS (budget {budget:.0f} MB) and takes "
        f"{seconds(inv.median)}"
        + (f", {times(ratio(inv, floor))} `psql -1 -f`" if floor else "")
        + (f", {times(ratio(inv, node))} drizzle-kit" if node else "")
        + "."
    )
    link = f" --link-node-modules {EXAMPLE_REL}/node_modules" if bench.has_drizzle else ""
    case.reproduce = [
        "export BENCH_TMP=$(mktemp -d)",
        f"python -m benchmarks.generate_seed {shown_ws}{link}",
        concat_line(shown_ws, "$BENCH_TMP/seed.sql"),
        f"# before every run: a new empty database ($URL names {db})",
        f"psql \"$ADMIN_URL\" -c 'DROP DATABASE IF EXISTS {db} WITH (FORCE)' -c 'CREATE DATABASE {db}'",
        *[f"(cd {m.cwd} && {m.display})" if m.cwd else m.display for m in measured],
    ]
    bench.drop(db)
    shutil.rmtree(ws, ignore_errors=True)
    return case
