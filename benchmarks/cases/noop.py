"""No-op: `inv migrate` and `inv status` with nothing pending, against drizzle-kit, and where their fixed cost goes."""

from __future__ import annotations

from pathlib import Path

from benchmarks.baselines import DRIZZLE_MISSING, drizzle_spec
from benchmarks.goals import NOOP_VS_NPX, NOOP_VS_STARTUP, PROGRAM_NOOP_VS_INVOKE
from benchmarks.harness import Bench
from benchmarks.paths import EXAMPLE, EXAMPLE_REL, ROOT
from benchmarks.profiling import importtime_section, profile_section
from benchmarks.report import CaseResult, MeasureTable, ratio_goal, seconds, signed, times
from benchmarks.timing import ratio, run_process

KEY = "noop"
TITLE = "No-op: nothing pending"
# the layers of `inv`'s fixed cost, each adding one step to the one before: (name, python's argv, as shown)
LAYERS = [
    ("interpreter", ["-c", "pass"], "python -c pass"),
    ("+ import invoke", ["-c", "import invoke.main"], "python -c 'import invoke.main'"),
    (
        "+ import drizzle_ops.cli.tasks (psycopg)",
        ["-c", "import invoke.main, drizzle_ops.cli.tasks"],
        "python -c 'import invoke.main, drizzle_ops.cli.tasks'",
    ),
]

# what every short run pays and drizzle-ops cannot change (devtools/importtime.py guards the rest)
FLOOR = (
    "The floor of a short run is the interpreter with invoke and psycopg imported. Both import "
    "`importlib.metadata` to read their own versions (psycopg its own and psycopg-binary's), invoke's vendored "
    "YAML reader compiles a pattern over all of Unicode, psycopg imports asyncio, and invoke imports "
    "`unittest.mock` (for MockContext). rich is not imported unless something is drawn at a terminal."
)


def run(bench: Bench) -> CaseResult:
    db = "bench_noop"
    url = bench.url(db)
    bench.recreate(db)
    run_process(bench.inv_cmd("migrate", url), cwd=ROOT, env=bench.inv_env, redact=bench.redact)
    bench.expect_rows(db, 8, "setup of the no-op case")(0)
    case = CaseResult(
        KEY,
        TITLE,
        "The example workspace (8 migrations), all applied. `inv migrate` with nothing to do and `inv status`, "
        "against drizzle-kit's `migrate` with nothing to do on the same database, started as users start it "
        "(`npx drizzle-kit migrate`, what `npm run db:migrate` runs) and as the CLI's own file "
        "(`node node_modules/drizzle-kit/bin.cjs migrate`, without npx's start-up). The layers of `inv`'s "
        "fixed cost (bare interpreter, imports, invoke's program) are timed in the same rounds; the last, "
        "`inv --list`, is `inv` without a task's work: the start-up the no-op goals are measured against.",
    )
    unchanged = bench.expect_rows(db, 8, "no-op run")
    specs = [
        bench.inv_spec("inv migrate (no-op)", "migrate", url, verify=unchanged),
        bench.inv_spec("inv status", "status", url),
    ]
    if bench.has_drizzle:
        specs += [
            drizzle_spec(bench, "drizzle-kit via npx", "npx", url, EXAMPLE, verify=unchanged),
            drizzle_spec(bench, "drizzle-kit via node", "node", url, EXAMPLE, verify=unchanged),
        ]
    else:
        case.notes.append(DRIZZLE_MISSING)
    # the `drizzle-ops` program, what a project without tasks.py runs: the same tasks, its own start-up
    program = str(Path(bench.inv).parent / "drizzle-ops")
    programs = [
        bench.cmd_spec(
            f"drizzle-ops {name}", [program, task, "--url", url], bench.show(["drizzle-ops", task, "--url", url], url)
        )
        for name, task in (("migrate (no-op)", "migrate"), ("status", "status"))
    ]
    specs += programs
    specs += [bench.cmd_spec(name, [bench.python, *args], shown) for name, args, shown in LAYERS]
    specs.append(bench.cmd_spec("+ invoke program, tasks.py, invoke.yaml", [bench.inv, "--list"], "inv --list"))
    measured = bench.measure(specs)
    rows, layers = measured[: len(measured) - 4], measured[-4:]
    drizzle_rows = rows[2 : len(rows) - len(programs)]
    npx = rows[2] if bench.has_drizzle else None
    node = rows[3] if bench.has_drizzle else None
    case.tables.append(MeasureTable("Whole processes", rows, [("npx drizzle-kit", npx), ("node bin.cjs", node)]))
    startup = layers[-1]  # `inv --list`: everything `inv` does before a task's own work, in the same rounds
    for m in rows[:2]:
        case.goals.append(
            ratio_goal("no-op", f"{m.name} ≤ {NOOP_VS_STARTUP}× `inv --list` (start-up)", m, startup, NOOP_VS_STARTUP)
        )
        case.goals.append(
            ratio_goal("no-op", f"{m.name} ≤ {NOOP_VS_NPX}× `npx drizzle-kit migrate`", m, npx, NOOP_VS_NPX)
        )
    invoke = layers[1]  # `python -c 'import invoke.main'`: what start-up work cannot go below
    for m in rows[len(rows) - len(programs) :]:
        goal = f"{m.name} ≤ {PROGRAM_NOOP_VS_INVOKE}× `python -c 'import invoke.main'`"
        case.goals.append(ratio_goal("no-op", goal, m, invoke, PROGRAM_NOOP_VS_INVOKE))
    case.headline.append(
        f"Nothing pending (8 migrations): `inv migrate` {seconds(rows[0].median)}, `inv status` "
        f"{seconds(rows[1].median)}"
        + (
            f"; `npx drizzle-kit migrate` {seconds(npx.median)} ({times(ratio(rows[0], npx))} for `inv migrate`), "
            f"`node …/bin.cjs migrate` {seconds(node.median)} ({times(ratio(rows[0], node))})"
            if npx and node
            else ""
        )
        + f". Python start-up and imports are {seconds(layers[2].median)} of it."
    )
    case.tables.append(MeasureTable("Layers of the fixed cost", layers, [("inv migrate", rows[0])]))
    lines = [
        "**Where the fixed cost goes**: medians of the layers above; each line adds one layer, the last column "
        "is what it adds.",
        "",
        "| layer | command | median | added |",
        "|---|---|---|---|",
    ]
    previous = 0.0
    for m in [*layers, rows[0]]:
        label = "+ workspace, connect, lock, queries, output" if m is rows[0] else m.name
        lines.append(f"| {label} | `{m.display}` | {seconds(m.median)} | {signed(m.median - previous)} |")
        previous = m.median
    extra = ["\n".join(lines)]
    if bench.options.profile:
        extra.append(profile_section(bench, bench.inv_cmd("migrate", url), "inv migrate --url $URL", "no-op"))
    extra.append(importtime_section(bench, bench.inv_cmd("migrate", url)))
    case.extra = "\n\n".join(extra)
    case.notes.append(FLOOR)
    case.reproduce = [
        "inv migrate --url $URL    # once: apply the 8 migrations",
        *[m.display for m in rows[:2]],
        *[f"(cd {EXAMPLE_REL} && {m.display})" for m in drizzle_rows],
        *[m.display for m in rows[len(rows) - len(programs) :]],
        *[m.display for m in layers],
    ]
    bench.drop(db)
    return case
