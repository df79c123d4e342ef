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
from benchmarks.goals import FLEET_NOOP_VS_ONE, FLEET_VS_LOOP
from benchmarks.harness import Bench, log
from benchmarks.paths import EXAMPLE, ROOT
from benchmarks.report import CaseResult, Goal, MeasureTable, ratio_goal, seconds
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
        f"exactly {MIGRATIONS} bookkeeping rows. The inv runs and the loop take turns, every round. Then the "
        f"no-op pass: `inv migrate` at parallel 8 over the {count} migrated databases, in turns with its "
        "baseline, the same with one database: `inv migrate --url` of the first, nothing pending.",
    )
    # in full mode 3 rounds (the loop takes minutes a round); quick mode 2: still repeated, still in turns
    runs = min(bench.options.runs, 2 if bench.options.quick else 3)
    specs = [
        fleet_spec(f"inv migrate --env, parallel {p}", p, prepare=reset, verify=all_applied(f"parallel {p}"))
        for p in PARALLEL
    ]
    if bench.has_drizzle:
        specs.append(
            ProcessSpec(
                "shell loop of `npx drizzle-kit migrate`",
                ["bash", "-c", LOOP],
                f"{VARIABLE}=$URLS bash -c '{LOOP}'",
                cwd=EXAMPLE,
                cwd_label=bench.rel(EXAMPLE),
                env={**os.environ, VARIABLE: urls},
                prepare=reset,
                verify=all_applied("the drizzle-kit loop"),
            )
        )
    else:
        case.notes.append(DRIZZLE_MISSING)
    log(
        f" fleet: {len(specs)} commands in turns (inv at parallel {', '.join(map(str, PARALLEL))}"
        f"{', the drizzle-kit loop' if bench.has_drizzle else ''}), {runs} runs each"
    )
    measured = measure_round_robin(specs, runs=runs, warmup=0, redact=bench.redact, on_done=bench.report)
    rows = measured[: len(PARALLEL)]
    loop: Measurement | None = measured[len(PARALLEL)] if bench.has_drizzle else None
    noop_specs = [fleet_spec("no-op pass, parallel 8", 8, verify=all_applied("no-op pass"))]
    one = bench.url(names[0])
    noop_specs.append(
        bench.inv_spec(
            "baseline: inv migrate, one database", "migrate", one, verify=bench.expect_rows(names[0], MIGRATIONS, "one")
        )
    )
    noop_rows = measure_round_robin(
        noop_specs, runs=bench.options.runs, warmup=0, redact=bench.redact, on_done=bench.report
    )
    noop, noop_one = noop_rows
    case.tables.append(MeasureTable("Fresh apply, in turns", [*rows, *([loop] if loop else [])], [("loop", loop)]))
    case.tables.append(MeasureTable("Nothing pending, in turns", noop_rows, [("one database", noop_one)]))
    eight = rows[-1]
    speedup = loop.median / eight.median if loop else None
    case.goals.append(
        Goal(
            "fleet",
            f"parallel 8 ≥ {FLEET_VS_LOOP:g}× faster than the drizzle-kit loop ({count} databases)",
            f"{speedup:.1f}× ({seconds(eight.median)} vs {seconds(loop.median)}, in turns)"
            if loop and speedup
            else "–",
            None if speedup is None else speedup >= FLEET_VS_LOOP,
        )
    )
    at_full = count >= DATABASES
    noop_goal = ratio_goal(
        "fleet",
        f"no-op pass over {DATABASES} databases ≤ {FLEET_NOOP_VS_ONE:g}× the no-op `inv migrate` of one",
        noop,
        noop_one,
        FLEET_NOOP_VS_ONE,
        detail=", in turns" + ("" if at_full else f"; quick mode: {count} databases, the goal is at {DATABASES}"),
    )
    if not at_full:
        noop_goal.met = None
    case.goals.append(noop_goal)
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
        "# in turns with the loop above, each run after emptying every database; then, everything applied:",
        noop.display,
        noop_one.display,
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
