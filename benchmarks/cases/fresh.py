"""Fresh apply: the example workspace's 8 migrations on an empty database, against the psql floor and drizzle-kit."""

from __future__ import annotations

from benchmarks.baselines import DRIZZLE_MISSING, concat_line, concatenate, drizzle_spec, psql_spec
from benchmarks.goals import APPLY_VS_DRIZZLE, APPLY_VS_FLOOR
from benchmarks.harness import Bench
from benchmarks.paths import EXAMPLE, EXAMPLE_REL, ROOT
from benchmarks.report import CaseResult, MeasureTable, ratio_goal, seconds, signed, times
from benchmarks.timing import ProcessSpec, measure_call, ratio
from drizzle_ops.engine import connection, runner
from drizzle_ops.engine.workspace import load_workspace

KEY = "fresh"
TITLE = "Fresh apply: the example workspace on an empty database"


def run(bench: Bench) -> CaseResult:
    db = "bench_fresh"
    url = bench.url(db)
    floor_sql = concatenate(EXAMPLE, bench.tmp / "example.sql")
    case = CaseResult(
        KEY,
        TITLE,
        "Migrations 0000–0007 of the example workspace applied to a new, empty database (created before "
        "each run, untimed). The floor is `psql` running all eight files in one transaction: no bookkeeping, "
        "no checks, one round trip per statement. drizzle-kit is measured the same two ways as in the no-op case. "
        "After every run the harness checks (untimed) that 8 bookkeeping rows, or the floor's tables, are there.",
    )
    fresh = bench.fresh(db)
    applied = bench.expect_rows(db, 8, "fresh apply")
    specs = [bench.inv_spec("inv migrate", "migrate", url, prepare=fresh, verify=applied)]
    if bench.psql:
        specs.append(
            psql_spec(bench, "floor: psql -1 -f", url, floor_sql, prepare=fresh, verify=bench.expect_tables(db, "psql"))
        )
    if bench.has_drizzle:
        specs += [
            drizzle_spec(bench, "drizzle-kit via npx", "npx", url, EXAMPLE, prepare=fresh, verify=applied),
            drizzle_spec(bench, "drizzle-kit via node", "node", url, EXAMPLE, prepare=fresh, verify=applied),
        ]
    else:
        case.notes.append(DRIZZLE_MISSING)
    # fixed costs, in the same rounds: each tool with nothing to do (inv migrate has just applied everything)
    fixed = [bench.inv_spec("inv migrate, nothing pending", "migrate", url, verify=applied)]
    if bench.has_drizzle:
        fixed.append(drizzle_spec(bench, "drizzle-kit via node, nothing pending", "node", url, EXAMPLE, verify=applied))
    if bench.psql:
        argv = [bench.psql, "-X", "-q", "-d", url, "-c", "select 1"]
        fixed.append(
            ProcessSpec("psql, connect only", argv, bench.show(["psql", *argv[1:]], url), cwd=ROOT, env=bench.inv_env)
        )
    measured = bench.measure(specs + fixed)
    rows, fixed_rows = measured[: len(specs)], measured[len(specs) :]
    by = {m.name: m for m in measured}
    inv, floor = by["inv migrate"], by.get("floor: psql -1 -f")
    npx, node = by.get("drizzle-kit via npx"), by.get("drizzle-kit via node")

    def engine(_i: int) -> None:
        ws = load_workspace(EXAMPLE)
        conn = connection.connect(url)
        try:
            runner.migrate(conn, ws)
        finally:
            conn.close()

    engine_m = measure_call(
        "engine only",
        engine,
        runs=bench.options.runs,
        warmup=bench.options.warmup,
        display="load_workspace + connection.connect + runner.migrate",
        prepare=fresh,
        after=applied,
        note="the same work without interpreter start-up, imports and output",
    )
    bench.report(engine_m)
    rows.append(engine_m)
    case.tables.append(
        MeasureTable(
            "Whole processes (and the engine in-process)", rows, [("floor", floor), ("npx", npx), ("node", node)]
        )
    )
    case.tables.append(MeasureTable("The same tools with nothing to do (their fixed cost)", fixed_rows, []))
    pairs = [
        ("inv migrate", inv, by["inv migrate, nothing pending"]),
        ("psql floor", floor, by.get("psql, connect only")),
        ("drizzle-kit via node", node, by.get("drizzle-kit via node, nothing pending")),
    ]
    work = {label: full.median - nothing.median for label, full, nothing in pairs if full and nothing}
    lines = [
        "**Apply work alone** (median of the fresh apply minus median of the same tool with nothing to do: "
        "what applying the 8 migrations adds to each tool's fixed start-up cost)",
        "",
        "| tool | fresh apply | nothing to do | apply work | × psql floor's apply work |",
        "|---|---|---|---|---|",
    ]
    floor_work = work.get("psql floor")
    for label, full, nothing in pairs:
        if full and nothing:
            share = f"{work[label] / floor_work:.2f}×" if floor_work and floor_work > 0 else "–"
            lines.append(
                f"| {label} | {seconds(full.median)} | {seconds(nothing.median)} | {signed(work[label])} | {share} |"
            )
    case.extra = "\n".join(lines)
    parts = [f"Fresh apply of the 8 example migrations: `inv migrate` {seconds(inv.median)}"]
    if floor:
        parts.append(f"{times(ratio(inv, floor))} the psql floor ({seconds(floor.median)})")
    if npx and node:
        parts.append(f"{times(ratio(inv, npx))} `npx drizzle-kit migrate`, {times(ratio(inv, node))} node bin.cjs")
    headline = "; ".join(parts)
    if floor_work is not None and "inv migrate" in work and (work["inv migrate"] <= 0 or floor_work <= 0):
        headline += ". The apply work alone (fresh minus nothing to do) is lost in the noise of this run"
    elif floor_work and "inv migrate" in work:
        headline += (
            f". The apply work alone (fresh minus nothing to do) is {seconds(work['inv migrate'])}, "
            f"{work['inv migrate'] / floor_work:.2f}× the floor's"
        )
    case.headline.append(headline + ".")
    case.goals.append(
        ratio_goal("fresh apply", f"`inv migrate` ≤ {APPLY_VS_FLOOR}× the psql floor", inv, floor, APPLY_VS_FLOOR)
    )
    case.goals.append(
        ratio_goal(
            "fresh apply",
            f"`inv migrate` ≤ {APPLY_VS_DRIZZLE}× drizzle-kit (`npx drizzle-kit migrate`)",
            inv,
            npx,
            APPLY_VS_DRIZZLE,
            detail=f"; vs node bin.cjs: {times(ratio(inv, node))}",
        )
    )
    case.reproduce = [
        "export BENCH_TMP=$(mktemp -d)",
        concat_line(EXAMPLE_REL, "$BENCH_TMP/example.sql"),
        "# before every run: a new empty database",
        "psql \"$ADMIN_URL\" -c 'DROP DATABASE IF EXISTS bench_fresh WITH (FORCE)' -c 'CREATE DATABASE bench_fresh'",
        inv.display,
        *([floor.display] if floor else []),
        *[f"(cd {EXAMPLE_REL} && {m.display})" for m in (npx, node) if m],
        "# nothing to do: right after a fresh apply",
        *[m.display if m.cwd is None else f"(cd {m.cwd} && {m.display})" for m in fixed_rows],
    ]
    bench.drop(db)
    return case
