"""Scale: fresh apply, `inv status` and a no-op `inv migrate` on generated workspaces of growing size."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks import generate_workspace
from benchmarks.baselines import DRIZZLE_MISSING, concat_line, concatenate, drizzle_spec, psql_spec
from benchmarks.goals import APPLY_VS_FLOOR, SCALE_RSS_MB, SCALE_STATUS_GROWTH
from benchmarks.harness import Bench, log
from benchmarks.paths import EXAMPLE_REL, ROOT
from benchmarks.profiling import profile_section
from benchmarks.report import CaseResult, Goal, MeasureTable, ratio_goal, seconds, times
from benchmarks.timing import Measurement, ratio, run_process

KEY = "scale"
TITLE = "Scale: generated migrations"  # the report's heading names the sizes of the run


@dataclass
class ScalePoint:
    n: int
    inv: Measurement
    floor: Measurement | None
    drizzle: Measurement | None
    status: Measurement
    noop: Measurement


def run(bench: Bench) -> CaseResult:
    db = "bench_scale"
    url = bench.url(db)
    fresh = bench.fresh(db)
    sizes = bench.options.scale_sizes
    case = CaseResult(
        KEY,
        f"Scale: {', '.join(f'{n:,}' for n in sizes)} generated migrations",
        "Workspaces written by `benchmarks/generate_workspace.py` (deterministic: the first 10 migrations of the "
        "100 are the 10, and so on). They mix new tables with foreign keys and indexes, added columns, enums and "
        "enum values, unique and check constraints, defaults, comments and dropped indexes. For each size: a "
        "fresh apply on an empty database (`inv migrate`, the psql floor, and drizzle-kit run as "
        "`node node_modules/drizzle-kit/bin.cjs migrate`, so npx's constant start-up does not blur the growth), "
        "then `inv status` and a no-op `inv migrate` on the migrated database. Last, `inv status` at the smallest "
        "and the largest size in turns, each on its own migrated database: the status goal's ratio. Peak memory is "
        "the max RSS of the `inv` process (`os.wait4`).",
    )
    points: list[ScalePoint] = []
    for n in sizes:
        runs = bench.options.scale_runs.get(n, bench.options.runs)
        log(f" scale: {n} migrations, {runs} runs")
        ws = generate_workspace.generate(
            n, bench.tmp / f"ws-{n}", node_modules=bench.node_modules if bench.has_drizzle else None
        )
        floor_sql = concatenate(ws, bench.tmp / f"ws-{n}.sql")
        applied = bench.expect_rows(db, n, f"{n} migrations")
        specs = []
        if bench.psql:
            specs.append(
                psql_spec(bench, f"floor ({n})", url, floor_sql, prepare=fresh, verify=bench.expect_tables(db, "psql"))
            )
        if bench.has_drizzle:
            specs.append(
                drizzle_spec(bench, f"drizzle-kit via node ({n})", "node", url, ws, prepare=fresh, verify=applied)
            )
        # last in each round, so the database is left migrated by inv for status and no-op below
        specs.append(bench.inv_spec(f"inv migrate ({n})", "migrate", url, ws, prepare=fresh, verify=applied))
        apply_rows = bench.measure(specs, runs)
        status, noop = bench.measure(
            [
                bench.inv_spec(f"inv status ({n})", "status", url, ws),
                bench.inv_spec(f"inv migrate, no-op ({n})", "migrate", url, ws, verify=applied),
            ],
            runs,
        )
        by = {m.name: m for m in apply_rows}
        point = ScalePoint(
            n, by[f"inv migrate ({n})"], by.get(f"floor ({n})"), by.get(f"drizzle-kit via node ({n})"), status, noop
        )
        points.append(point)
        rows = [m for m in (point.inv, point.floor, point.drizzle, status, noop) if m]
        case.tables.append(
            MeasureTable(f"{n:,} migrations", rows, [("floor", point.floor), ("drizzle-kit", point.drizzle)])
        )
    if not bench.has_drizzle:
        case.notes.append(DRIZZLE_MISSING)
    case.extra = growth_table(points)
    top = points[-1]
    if bench.options.profile:
        fresh(0)
        case.extra += "\n\n" + profile_section(
            bench,
            bench.inv_cmd("migrate", url, bench.tmp / f"ws-{top.n}"),
            f"inv migrate --workspace $BENCH_TMP/ws-{top.n} --url $URL",
            f"fresh apply of {top.n:,} migrations",
        )
    case.headline.append(
        f"{top.n:,} generated migrations: apply {seconds(top.inv.median)}"
        + (f" ({times(ratio(top.inv, top.floor))} the psql floor" if top.floor else " (")
        + (f", {times(ratio(top.inv, top.drizzle))} drizzle-kit)" if top.drizzle else ")")
        + f", `inv status` {seconds(top.status.median)}, no-op `inv migrate` {seconds(top.noop.median)}, "
        f"peak RSS {max((m.peak_rss_mb or 0) for m in (top.inv, top.status, top.noop)):.0f} MB."
    )
    at_full = top.n >= 1000
    where = "" if at_full else f" (quick mode: largest size {top.n}, the goal is at 1,000)"

    def verdict(ok: bool) -> bool | None:
        return ok if at_full else None

    growth = status_growth(bench, points[0].n, top.n)
    status_goal = ratio_goal(
        "scale",
        f"`inv status` at 1,000 migrations ≤ {SCALE_STATUS_GROWTH}× its time at {points[0].n:,}",
        growth[1],
        growth[0],
        SCALE_STATUS_GROWTH,
        detail=f", in turns; at {top.n:,}{where}",
    )
    status_goal.met = None if status_goal.met is None else verdict(status_goal.met)
    case.goals.append(status_goal)
    case.tables.append(
        MeasureTable(f"`inv status`, {points[0].n:,} against {top.n:,}, in turns", growth, [("smallest", growth[0])])
    )
    r = ratio(top.inv, top.floor)
    case.goals.append(
        Goal(
            "scale",
            f"apply 1,000 migrations ≤ {APPLY_VS_FLOOR}× the psql floor",
            times(r)
            + (f" ({seconds(top.inv.median)} vs {seconds(top.floor.median)}) at {top.n:,}" if top.floor else "")
            + where,
            None if r is None else verdict(r <= APPLY_VS_FLOOR),
        )
    )
    peak = max((m.peak_rss_mb or 0) for m in (top.inv, top.status, top.noop))
    case.goals.append(
        Goal(
            "scale",
            f"peak memory of `inv` at 1,000 migrations ≤ {SCALE_RSS_MB} MB",
            f"{peak:.0f} MB (max RSS of migrate, status and no-op migrate) at {top.n:,}{where}",
            verdict(peak <= SCALE_RSS_MB),
        )
    )
    link = f"--link-node-modules {EXAMPLE_REL}/node_modules" if bench.has_drizzle else ""
    case.reproduce = [
        "export BENCH_TMP=$(mktemp -d)",
        *[f"python -m benchmarks.generate_workspace {p.n} $BENCH_TMP/ws-{p.n} {link}".rstrip() for p in points],
        *[concat_line(f"$BENCH_TMP/ws-{p.n}", f"$BENCH_TMP/ws-{p.n}.sql") for p in points],
        "# before every apply run: a new empty database",
        "psql \"$ADMIN_URL\" -c 'DROP DATABASE IF EXISTS bench_scale WITH (FORCE)' -c 'CREATE DATABASE bench_scale'",
    ]
    for p in points:
        case.reproduce.append(p.inv.display)
        if p.floor:
            case.reproduce.append(p.floor.display)
        if p.drizzle:
            case.reproduce.append(f"(cd $BENCH_TMP/ws-{p.n} && {p.drizzle.display})")
        case.reproduce += [p.status.display, p.noop.display]
    case.reproduce += [
        f"# `inv status` in turns: at {points[0].n:,} on its own database ($URL names bench_scale_small, migrated "
        f"once), at {top.n:,} on bench_scale (migrated last by inv)",
        *[m.display for m in growth],
    ]
    bench.drop(db)
    return case


def status_growth(bench: Bench, small: int, large: int) -> list[Measurement]:
    """`inv status` on the smallest and the largest workspace, in turns, each on its own migrated database.

    bench_scale holds the largest size when this runs (its last apply was inv's); the smallest gets its own.
    """
    db = "bench_scale_small"
    bench.recreate(db)
    small_ws, large_ws = bench.tmp / f"ws-{small}", bench.tmp / f"ws-{large}"
    run_process(bench.inv_cmd("migrate", bench.url(db), small_ws), cwd=ROOT, env=bench.inv_env, redact=bench.redact)
    bench.expect_rows(db, small, f"{small} migrations")(0)
    bench.expect_rows("bench_scale", large, f"{large} migrations")(0)
    log(f" scale: inv status at {small} and {large}, in turns")
    growth = bench.measure(
        [
            bench.inv_spec(f"inv status ({small}, in turns)", "status", bench.url(db), small_ws),
            bench.inv_spec(f"inv status ({large}, in turns)", "status", bench.url("bench_scale"), large_ws),
        ],
        bench.options.scale_runs.get(large, bench.options.runs),
    )
    bench.drop(db)
    return growth


def growth_table(points: list[ScalePoint]) -> str:
    lines = [
        "**Growth** (medians; the last row is the cost of one more migration, between the two largest sizes)",
        "",
        "| migrations | inv migrate (fresh) | psql floor | × floor | drizzle-kit (node) | × drizzle-kit "
        "| inv status | inv migrate (no-op) | peak RSS migrate / status |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def med(m: Measurement | None) -> str:
        return seconds(m.median) if m else "–"

    for p in points:
        lines.append(
            f"| {p.n:,} | {med(p.inv)} | {med(p.floor)} | {times(ratio(p.inv, p.floor))} | {med(p.drizzle)} | "
            f"{times(ratio(p.inv, p.drizzle))} | {med(p.status)} | {med(p.noop)} | "
            f"{p.inv.peak_rss_mb or 0:.0f} / {p.status.peak_rss_mb or 0:.0f} MB |"
        )
    if len(points) >= 2:
        a, b = points[-2], points[-1]
        span = b.n - a.n

        def per(ma: Measurement | None, mb: Measurement | None) -> str:
            if not ma or not mb:
                return "–"
            return f"{(mb.median - ma.median) / span * 1000:.2f} ms"

        rss = ((b.inv.peak_rss_mb or 0) - (a.inv.peak_rss_mb or 0)) / span * 1024
        lines.append(
            f"| each extra migration ({a.n:,}→{b.n:,}) | {per(a.inv, b.inv)} | {per(a.floor, b.floor)} | | "
            f"{per(a.drizzle, b.drizzle)} | | {per(a.status, b.status)} | {per(a.noop, b.noop)} | "
            f"{rss:.0f} KB (migrate) |"
        )
    return "\n".join(lines)
