"""Real-history size: fresh apply, no-op and `inv status` on 200 migrations with ~27-30 MB of snapshots (issue 14)."""

from __future__ import annotations

import json
import shutil
import statistics
from dataclasses import dataclass
from pathlib import Path

from benchmarks import generate_workspace
from benchmarks.baselines import DRIZZLE_MISSING, concat_line, concatenate, drizzle_spec, psql_spec
from benchmarks.cases.history import SnapshotSizes, size, snapshot_sizes
from benchmarks.cases.noop import LAYERS
from benchmarks.goals import APPLY_VS_DRIZZLE, APPLY_VS_FLOOR, NOOP_VS_NPX, REALHISTORY_STATUS_VS_STARTUP
from benchmarks.harness import Bench, log
from benchmarks.paths import EXAMPLE_REL
from benchmarks.profiling import profile_section
from benchmarks.report import CaseResult, Goal, MeasureTable, ratio_goal, seconds, signed, times
from benchmarks.timing import Measurement, ratio

KEY = "realhistory"
TITLE = "Real-history size: 200 migrations with real-sized snapshots, fresh, no-op and status"  # quick mode: fewer
MIGRATIONS = 200  # a public app's real history: 186 migrations, 27 MB of snapshots
QUICK_MIGRATIONS = 40
# migration 0000 creates 20 tables: the 200 snapshots then average ~147 KB (~56 tables each), ~29.5 MB in all
BASE_TABLES = 20


@dataclass
class Shape:
    """The generated history: snapshot sizes (bytes) and how many tables the snapshots describe."""

    sizes: SnapshotSizes
    mean_tables: float
    last_tables: int

    @property
    def mean(self) -> float:
        return self.sizes.total / self.sizes.files

    def describe(self) -> str:
        z = self.sizes
        return (
            f"{z.files:,} snapshots of {size(z.total)} in all, {size(int(self.mean))} on average, from "
            f"{size(z.first)} to {size(z.last)}, describing {self.mean_tables:.0f} tables on average and "
            f"{self.last_tables} at the end; {size(z.sql)} of SQL"
        )


def shape_of(ws: Path) -> Shape:
    counts = [
        len(json.loads(p.read_bytes())["tables"]) for p in sorted((ws / "drizzle" / "meta").glob("*_snapshot.json"))
    ]
    return Shape(snapshot_sizes(ws), statistics.mean(counts), counts[-1])


@dataclass
class Tool:
    """One tool measured twice in the same rounds: applying everything to an empty database, and with nothing to do."""

    label: str
    fresh: Measurement | None
    idle: Measurement | None

    @property
    def work(self) -> float | None:
        return self.fresh.median - self.idle.median if self.fresh and self.idle else None


def work_table(tools: list[Tool], floor: Tool, n: int) -> str:
    floor_work = floor.work
    out = [
        f"**Where the time goes**: each tool's fresh apply of the {n:,} migrations against the same tool with "
        "nothing to do (everything applied: its fixed cost, start-up included), medians of the rounds above. "
        "The difference is what applying the history adds to the fixed cost. The last column is the CPU time "
        "of the tool's own processes (not the server's), which a busy machine disturbs less than wall time.",
        "",
        "| tool | fresh apply | nothing to do (fixed cost) | apply work | × psql floor's apply work "
        "| client CPU: fresh / nothing to do |",
        "|---|---|---|---|---|---|",
    ]
    for tool in tools:
        if tool.fresh is None or tool.idle is None or tool.work is None:
            continue
        share = "–" if not floor_work or floor_work <= 0 else times(tool.work / floor_work)
        out.append(
            f"| {tool.label} | {seconds(tool.fresh.median)} | {seconds(tool.idle.median)} | "
            f"{signed(tool.work)} | {share} | {cpu(tool.fresh)} / {cpu(tool.idle)} |"
        )
    return "\n".join(out)


def cpu(m: Measurement) -> str:
    return "–" if m.cpu_median is None else seconds(m.cpu_median)


def over_goal(what: str, mine: Tool, base: Tool, limit: float) -> str | None:
    """For a missed 'mine ≤ limit × base' goal: how far over it is, split into fixed cost and apply work."""
    if mine.fresh is None or base.fresh is None:
        return None
    budget = limit * base.fresh.median
    over = mine.fresh.median - budget
    if over <= 0:
        return None
    text = (
        f"{what}: {seconds(mine.fresh.median)} against a goal of {seconds(budget)} "
        f"({limit}× {seconds(base.fresh.median)}), {seconds(over)} over."
    )
    if mine.idle and base.idle and mine.work is not None and base.work is not None:
        text += (
            f" Fixed cost (the same tool with nothing to do) {seconds(mine.idle.median)} against the baseline's "
            f"{seconds(base.idle.median)}; apply work {signed(mine.work)} against {signed(base.work)}."
        )
    return text


def run(bench: Bench) -> CaseResult:
    quick = bench.options.quick
    n = QUICK_MIGRATIONS if quick else MIGRATIONS
    db = "bench_realhistory"
    url = bench.url(db)
    shown_ws = f"$BENCH_TMP/realhistory-{n}"
    log(f" realhistory: writing {n} migrations with full snapshots ({BASE_TABLES} base tables)")
    ws = generate_workspace.generate(
        n,
        bench.tmp / f"realhistory-{n}",
        node_modules=bench.node_modules if bench.has_drizzle else None,
        snapshots="full",
        base_tables=BASE_TABLES,
    )
    shape = shape_of(ws)
    floor_sql = concatenate(ws, bench.tmp / f"realhistory-{n}.sql")
    idle_sql = bench.tmp / "realhistory-idle.sql"
    idle_sql.write_text("select 1;\n")
    quick_note = (
        f" **Quick mode: {n} migrations instead of {MIGRATIONS}, {bench.options.runs} runs without warm-up; "
        f"the goals are at {MIGRATIONS} and get no verdict here.**"
        if quick
        else ""
    )
    case = CaseResult(
        KEY,
        f"Real-history size: {n:,} migrations with real-sized snapshots, fresh apply, no-op and `inv status`",
        f"A workspace written by `benchmarks/generate_workspace.py --snapshots full --base-tables {BASE_TABLES}` "
        f"({shape.describe()}). At {MIGRATIONS} migrations this is the size of a public app's real history (186 "
        "migrations, 27 MB of snapshots) as drizzle-kit 0.31 writes it: every snapshot holds the whole schema "
        "after its migration. "
        "All commands run in turns, in the same rounds: first a fresh apply on a new, empty database (dropped "
        "and created before each run, untimed) by the psql floor (`psql -1 -f` of all files concatenated: no "
        "bookkeeping, no checks), `npx drizzle-kit migrate`, `node node_modules/drizzle-kit/bin.cjs migrate` and "
        f"`inv migrate`, each checked after the run (untimed) for its {n:,} bookkeeping rows or, for the floor, "
        "its tables; then, with everything applied (by `inv migrate`, last of the fresh runs), the same tools "
        "with nothing to do (psql: one `select 1` from a file, the same flags), `inv status`, and Python start-up "
        "with the imports of `inv` and `inv --list` (`inv` without a task's work, the status goal's baseline), as "
        "in the no-op case, to show how much of each figure is fixed cost." + quick_note,
    )
    fresh = bench.fresh(db)
    applied = bench.expect_rows(db, n, f"{n} migrations")
    has_psql, has_drizzle = bool(bench.psql), bench.has_drizzle
    apply_specs, idle_specs = [], []
    if has_psql:
        apply_specs.append(
            psql_spec(bench, "floor: psql -1 -f", url, floor_sql, prepare=fresh, verify=bench.expect_tables(db, "psql"))
        )
        idle_specs.append(psql_spec(bench, "psql, select 1 only", url, idle_sql))
    if has_drizzle:
        for how in ("npx", "node"):
            apply_specs.append(
                drizzle_spec(bench, f"drizzle-kit via {how}", how, url, ws, prepare=fresh, verify=applied)
            )
            idle_specs.append(
                drizzle_spec(bench, f"drizzle-kit via {how}, nothing pending", how, url, ws, verify=applied)
            )
    else:
        case.notes.append(DRIZZLE_MISSING)
    # last of the fresh runs, so that everything after it finds the history applied by inv
    apply_specs.append(bench.inv_spec("inv migrate", "migrate", url, ws, prepare=fresh, verify=applied))
    idle_specs.insert(0, bench.inv_spec("inv migrate, nothing pending", "migrate", url, ws, verify=applied))
    idle_specs.insert(1, bench.inv_spec("inv status", "status", url, ws))
    _, layer_args, layer_shown = LAYERS[-1]  # the interpreter and the imports of `inv migrate`
    idle_specs.append(bench.cmd_spec("python start-up and inv's imports", [bench.python, *layer_args], layer_shown))
    idle_specs.append(bench.cmd_spec("inv's start-up", [bench.inv, "--list"], "inv --list"))
    log(f" realhistory: {len(apply_specs) + len(idle_specs)} commands in turns, {bench.options.runs} runs")
    measured = bench.measure(apply_specs + idle_specs)
    by = {m.name: m for m in measured}
    inv = Tool("`inv migrate`", by["inv migrate"], by["inv migrate, nothing pending"])
    floor = Tool("psql floor", by.get("floor: psql -1 -f"), by.get("psql, select 1 only"))
    npx = Tool(
        "`npx drizzle-kit migrate`", by.get("drizzle-kit via npx"), by.get("drizzle-kit via npx, nothing pending")
    )
    node = Tool("node bin.cjs migrate", by.get("drizzle-kit via node"), by.get("drizzle-kit via node, nothing pending"))
    status, imports, startup = by["inv status"], by["python start-up and inv's imports"], by["inv's start-up"]
    assert inv.fresh and inv.idle
    case.tables.append(
        MeasureTable(
            f"Fresh apply of {n:,} migrations (whole processes)",
            measured[: len(apply_specs)],
            [("floor", floor.fresh), ("npx", npx.fresh), ("node", node.fresh)],
        )
    )
    case.tables.append(
        MeasureTable(
            "Everything applied: nothing to do, `inv status`, and `inv`'s start-up and imports alone",
            measured[len(apply_specs) :],
            [("npx, nothing pending", npx.idle)],
        )
    )
    extra = [
        work_table([inv, floor, npx, node], floor, n),
        f"`inv`'s interpreter start-up and imports alone (`{imports.display}`) take {seconds(imports.median)}: "
        f"of the no-op `inv migrate` ({seconds(inv.idle.median)}) and of `inv status` "
        f"({seconds(status.median)}), the rest is workspace load, connection, queries and output.",
    ]
    full_size = not quick
    where = "" if full_size else f" (quick mode: {n} migrations; the goal is at {MIGRATIONS})"

    def judged(goal: Goal) -> Goal:
        goal.measured += where
        if not full_size:
            goal.met = None
        return goal

    vs_floor = ratio_goal(
        "real history",
        f"fresh `inv migrate` ≤ {APPLY_VS_FLOOR}× the psql floor",
        inv.fresh,
        floor.fresh,
        APPLY_VS_FLOOR,
    )
    vs_npx = ratio_goal(
        "real history",
        f"fresh `inv migrate` ≤ {APPLY_VS_DRIZZLE}× `npx drizzle-kit migrate`",
        inv.fresh,
        npx.fresh,
        APPLY_VS_DRIZZLE,
        detail=f"; vs node bin.cjs: {times(ratio(inv.fresh, node.fresh))}",
    )
    noop_goal = ratio_goal(
        "real history",
        f"no-op `inv migrate` ≤ {NOOP_VS_NPX}× no-op `npx drizzle-kit migrate`",
        inv.idle,
        npx.idle,
        NOOP_VS_NPX,
    )
    status_goal = ratio_goal(
        "real history",
        f"`inv status`, everything applied, ≤ {REALHISTORY_STATUS_VS_STARTUP}× `inv --list` (start-up)",
        status,
        startup,
        REALHISTORY_STATUS_VS_STARTUP,
    )
    case.goals += [judged(g) for g in (vs_floor, vs_npx, noop_goal, status_goal)]
    # what remains where a goal is missed (or, in quick mode, would be): fixed cost against apply work, and a profile
    over: dict[str, list[str]] = {"fresh": [], "noop": [], "status": []}
    for what, base, limit in (
        ("the psql floor", floor, APPLY_VS_FLOOR),
        ("`npx drizzle-kit migrate`", npx, APPLY_VS_DRIZZLE),
    ):
        line = over_goal(f"Fresh apply against {what}", inv, base, limit)
        if line:
            over["fresh"].append(line)
    for key, label, m, budget in (
        ("noop", "No-op `inv migrate`", inv.idle, NOOP_VS_NPX * npx.idle.median if npx.idle else None),
        ("status", "`inv status`", status, REALHISTORY_STATUS_VS_STARTUP * startup.median),
    ):
        if budget is not None and m.median > budget:
            over[key].append(
                f"{label}: {seconds(m.median)} against a goal of {seconds(budget)}, {seconds(m.median - budget)} "
                f"over. CPU {cpu(m)}; interpreter start-up and imports alone take {seconds(imports.median)} "
                f"(CPU {cpu(imports)})."
            )
    missed = [line for lines in over.values() for line in lines]
    if missed:
        extra.append(
            "**What remains over the goals** (medians of this run"
            + (f"; quick mode, the goals are at {MIGRATIONS} migrations" if quick else "")
            + ")\n\n"
            + "\n".join(f"- {line}" for line in missed)
        )
    if bench.options.profile:
        profiles = [
            ("fresh", "migrate", f"fresh apply of {n:,} migrations, {size(shape.sizes.total)} of snapshots"),
            ("noop", "migrate", f"nothing pending, {n:,} migrations applied"),
            ("status", "status", f"{n:,} migrations, all applied"),
        ]
        for key, task, label in profiles:
            if not over[key]:
                continue
            if key == "fresh":
                fresh(0)
            argv = bench.inv_cmd(task, url, ws)
            extra.append(profile_section(bench, argv, f"inv {task} --workspace {shown_ws} --url $URL", label))
            applied(0)
        if not missed:
            extra.append("*No goal missed in this run: no profile recorded.*")
    case.extra = "\n\n".join(extra)
    case.headline.append(
        f"Real-history size, {n:,} migrations ({size(shape.sizes.total)} of snapshots, "
        f"{size(int(shape.mean))} each on average): fresh `inv migrate` {seconds(inv.fresh.median)}"
        + (f", {times(ratio(inv.fresh, floor.fresh))} the psql floor" if floor.fresh else "")
        + (f", {times(ratio(inv.fresh, npx.fresh))} `npx drizzle-kit migrate`" if npx.fresh else "")
        + f"; no-op {seconds(inv.idle.median)}"
        + (f" ({times(ratio(inv.idle, npx.idle))} npx's no-op)" if npx.idle else "")
        + f"; `inv status` {seconds(status.median)}."
        + (" (Quick mode.)" if quick else "")
    )
    link = f" --link-node-modules {EXAMPLE_REL}/node_modules" if has_drizzle else ""
    case.reproduce = [
        "export BENCH_TMP=$(mktemp -d)",
        f"python -m benchmarks.generate_workspace {n} {shown_ws} --snapshots full --base-tables {BASE_TABLES}{link}",
        concat_line(shown_ws, f"{shown_ws}.sql"),
        "echo 'select 1;' > $BENCH_TMP/realhistory-idle.sql",
        f"# before every fresh apply: a new empty database ($URL names {db})",
        f"psql \"$ADMIN_URL\" -c 'DROP DATABASE IF EXISTS {db} WITH (FORCE)' -c 'CREATE DATABASE {db}'",
    ]
    for m in measured:
        if m is measured[len(apply_specs)]:
            case.reproduce.append("# everything applied (right after `inv migrate`'s fresh apply):")
        case.reproduce.append(f"(cd {m.cwd} && {m.display})" if m.cwd else m.display)
    bench.drop(db)
    shutil.rmtree(ws, ignore_errors=True)
    return case
