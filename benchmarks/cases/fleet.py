"""Fleet (issue 12): the 8 example migrations on 200 databases of one server, `inv migrate --env` at parallel 1,
4 and 8, against the shell loop teams write today around `npx drizzle-kit migrate`, and the no-op pass."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

from benchmarks.baselines import DRIZZLE_MISSING
from benchmarks.goals import FLEET_NOOP_SECONDS, FLEET_VS_LOOP
from benchmarks.harness import Bench, log
from benchmarks.paths import EXAMPLE, ROOT
from benchmarks.report import CaseResult, Goal, MeasureTable, seconds
from benchmarks.timing import BenchError, Measurement, ProcessSpec, measure_round_robin

KEY = "fleet"
TITLE = "Fleet: one migration set on many databases"
DATABASES, QUICK_DATABASES = 200, 20
PARALLEL = (1, 4, 8)
MIGRATIONS = 8
VARIABLE = "TENANT_DATABASE_URLS"
LOOP = f'for url in ${VARIABLE}; do DATABASE_URL="$url" npx drizzle-kit migrate; done'
# the example puts everything in public; drizzle's table in drizzle: dropping both is a fresh database, faster
# than 200 CREATE DATABASE (untimed either way)
RESET = "DROP SCHEMA IF EXISTS drizzle CASCADE; DROP SCHEMA public CASCADE; CREATE SCHEMA public"


def _names(count: int) -> list[str]:
    return [f"bench_fleet_{number:03d}" for number in range(count)]


def _on_each(bench: Bench, names: list[str], work: Callable[[psycopg.Connection], object]) -> list[object]:
    def one(name: str) -> object:
        with psycopg.connect(bench.url(name), autocommit=True) as conn:
            return work(conn)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, names))


def _applied(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "select case when to_regclass('drizzle.__drizzle_migrations') is null then 0 "
        "else (select count(*) from drizzle.__drizzle_migrations) end"
    ).fetchone()
    return int(row[0]) if row else 0


def run(bench: Bench) -> CaseResult:
    count = QUICK_DATABASES if bench.options.quick else DATABASES
    names = _names(count)
    log(f" fleet: creating {count} databases")
    for name in names:
        bench.recreate(name)
    urls = "\n".join(bench.url(name) for name in names)
    env = {**bench.inv_env, VARIABLE: urls}
    bench.placeholders[urls] = f"${VARIABLE}"

    def reset(_i: int) -> None:
        _on_each(bench, names, lambda conn: conn.execute(RESET))

    def all_applied(what: str) -> Callable[[int], None]:
        def verify(_i: int) -> None:
            found = _on_each(bench, names, _applied)
            wrong = [n for n, applied in zip(names, found, strict=True) if applied != MIGRATIONS]
            if wrong:
                raise BenchError(f"{what}: {len(wrong)} database(s) without exactly {MIGRATIONS} rows, e.g. {wrong[0]}")

        return verify

    def fleet_spec(name: str, parallel: int, **hooks: Callable[[int], None]) -> ProcessSpec:
        config = _config(bench.tmp, parallel)
        argv = [bench.inv, "-f", str(config), "migrate", "--env", "bench_fleet"]
        shown = f"{VARIABLE}=$URLS " + bench.show(["inv", *argv[1:]])
        return ProcessSpec(name, argv, shown, cwd=ROOT, env=env, **hooks)

    case = CaseResult(
        KEY,
        f"{TITLE}: {count} databases × {MIGRATIONS} migrations",
        f"{count} empty databases on the benchmark server, each to receive the example's {MIGRATIONS} migrations. "
        f"`inv migrate --env bench_fleet` reads their URLs from `${VARIABLE}` (one a line) and applies the "
        "migrations to every database: one canary first and alone, then `parallel` at a time on threads, each "
        "database under its own advisory lock with one transaction per migration. The baseline is the loop "
        f"teams write today, run by bash in the example workspace: `{LOOP}`. Before each run every database is "
        "emptied (its `drizzle` and `public` schemas dropped, untimed), and after it every database must hold "
        f"exactly {MIGRATIONS} bookkeeping rows. Then the no-op pass: `inv migrate` at parallel 8 over the "
        f"{count} migrated databases.",
    )
    runs = min(bench.options.runs, 3)
    log(f" fleet: inv migrate --env at parallel {', '.join(map(str, PARALLEL))}, {runs} runs each")
    rows = measure_round_robin(
        [
            fleet_spec(f"inv migrate --env, parallel {p}", p, prepare=reset, verify=all_applied(f"parallel {p}"))
            for p in PARALLEL
        ],
        runs=runs,
        warmup=0,
        redact=bench.redact,
        on_done=bench.report,
    )
    loop: Measurement | None = None
    if bench.has_drizzle:
        log(f" fleet: the drizzle-kit loop over {count} databases, 1 run")
        loop_spec = ProcessSpec(
            "shell loop of `npx drizzle-kit migrate`",
            ["bash", "-c", LOOP],
            f"{VARIABLE}=$URLS bash -c '{LOOP}'",
            cwd=EXAMPLE,
            cwd_label=bench.rel(EXAMPLE),
            env={**os.environ, VARIABLE: urls},
            prepare=reset,
            verify=all_applied("the drizzle-kit loop"),
        )
        loop = measure_round_robin([loop_spec], runs=1, warmup=0, redact=bench.redact, on_done=bench.report)[0]
    else:
        case.notes.append(DRIZZLE_MISSING)
    noop = measure_round_robin(
        [fleet_spec("no-op pass, parallel 8", 8, verify=all_applied("no-op pass"))],
        runs=bench.options.runs,
        warmup=0,
        redact=bench.redact,
        on_done=bench.report,
    )[0]
    case.tables.append(MeasureTable("Whole processes", [*rows, *([loop] if loop else []), noop], [("loop", loop)]))
    eight = rows[-1]
    speedup = loop.median / eight.median if loop else None
    case.goals.append(
        Goal(
            "fleet",
            f"parallel 8 ≥ {FLEET_VS_LOOP:g}× faster than the drizzle-kit loop ({count} databases)",
            f"{speedup:.1f}× ({seconds(eight.median)} vs {seconds(loop.median)})" if loop and speedup else "–",
            None if speedup is None else speedup >= FLEET_VS_LOOP,
        )
    )
    case.goals.append(
        Goal(
            "fleet",
            f"no-op pass over {count} databases ≤ {FLEET_NOOP_SECONDS:g} s",
            seconds(noop.median),
            noop.median <= FLEET_NOOP_SECONDS,
        )
    )
    by_parallel = ", ".join(f"parallel {p} {seconds(m.median)}" for p, m in zip(PARALLEL, rows, strict=True))
    against = f"; the `npx drizzle-kit migrate` shell loop {seconds(loop.median)}" if loop else ""
    if speedup:
        against += f" ({speedup:.0f}× the time of parallel 8)"
    case.headline.append(
        f"Fleet, {count} databases × {MIGRATIONS} migrations on one server: `inv migrate --env` {by_parallel}"
        f"{against}; the no-op pass over all {count}: {seconds(noop.median)}."
    )
    case.reproduce = [
        f"# {count} databases; {VARIABLE} holds their URLs, one a line",
        *[m.display for m in rows],
        *([f"(cd {loop.cwd} && {LOOP})"] if loop else []),
        noop.display,
    ]
    for name in names:
        bench.drop(name)
    return case


def _config(folder: Path, parallel: int) -> Path:
    """A runtime invoke config (`inv -f`) declaring the fleet: JSON is YAML."""
    path = folder / f"fleet-parallel-{parallel}.yaml"
    spec = {"targets_env": VARIABLE, "parallel": parallel, "canary": 1}
    path.write_text(json.dumps({"drizzle_ops": {"environments": {"bench_fleet": spec}}}))
    return path
