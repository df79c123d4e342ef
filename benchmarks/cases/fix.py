"""Fix: each migration `lint --fix` makes, against the one Drizzle generated, on a big table under a writer.

Four changes drizzle-kit 0.31 generates as they are (an index, a foreign key, a NOT NULL, a unique constraint)
are applied to `load_items` while benchmarks/write_load.py writes to it: the original, and the file that
`inv lint --fix --pending --url` made of it, applied by `inv migrate` and by drizzle-kit. The writer's longest
stall is the figure; the tracer of `plan --trace` then shows which locks each migration holds, and for how long.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from benchmarks import write_load
from benchmarks.baselines import DRIZZLE_MISSING
from benchmarks.goals import FIX_STALL_SECONDS
from benchmarks.harness import Bench, log
from benchmarks.paths import ROOT
from benchmarks.report import CaseResult, Goal, seconds
from benchmarks.stall import (
    STALL_FK,
    STALL_FK_NAME,
    STALL_INDEX,
    STALL_INDEX_NAME,
    STALL_LEAD_IN,
    StallPath,
    stall_run,
    stall_workspace,
)
from benchmarks.timing import BenchError, run_process
from drizzle_ops.analysis import lockmodes
from drizzle_ops.engine.transactionality import statement_controls
from drizzle_ops.engine.workspace import Migration, load_workspace
from drizzle_ops.review.tracer import MigrationTrace, trace_pending

KEY = "fix"
TITLE = "Fix: lint --fix's migrations against Drizzle's originals, under a concurrent writer"

UNIQUE_NAME = "load_items_account_id_id_unique"
# what drizzle-kit 0.31.11 writes for each change to `load_items` (the table write_load.setup creates):
# `.notNull()` on `note`, and `unique().on(t.accountId, t.id)`; the index and the foreign key as in stall.py
CHANGES: list[tuple[str, str, str]] = [  # (key, what, SQL)
    ("index", "an index", STALL_INDEX),
    ("foreign-key", "a foreign key", STALL_FK),
    ("not-null", "a NOT NULL", 'ALTER TABLE "load_items" ALTER COLUMN "note" SET NOT NULL;'),
    (
        "unique",
        "a unique constraint",
        f'ALTER TABLE "load_items" ADD CONSTRAINT "{UNIQUE_NAME}" UNIQUE("account_id","id");',
    ),
]
SUE = lockmodes.level("SHARE UPDATE EXCLUSIVE")


@dataclass
class Hold:
    """A lock stronger than SHARE UPDATE EXCLUSIVE on a table, from the statement that took it to its commit."""

    mode: str
    statements: list[int]
    seconds: float = 0.0
    heavy: list[str] = field(default_factory=list)  # index builds, validations, rewrites done while it was held


def holds(migration: Migration, traced: MigrationTrace) -> list[Hold]:
    """Each strong table lock the traced migration held, with how long and what ran under it."""
    found: list[Hold] = []
    current: Hold | None = None
    for st in traced.statements:
        strong = [
            lock.mode for lock in st.locks if lock.kind == "table" and lock.granted and lockmodes.level(lock.mode) > SUE
        ]
        heavy = [f"build {i['index']}" for i in st.new_indexes]
        heavy += [
            f"check the rows for {c['constraint']}"
            for c in st.new_constraints
            if c["validated"] and c["type"] in ("foreign key", "check")
        ]
        heavy += [f"validate {c}" for c in st.validated_constraints] + [f"rewrite {r}" for r in st.rewrites]
        if not st.in_transaction:
            if strong:
                found.append(Hold(max(strong, key=lockmodes.level), [st.number], st.seconds, heavy))
            continue
        if strong and current is None:
            current = Hold(max(strong, key=lockmodes.level), [])
        if current is not None:
            current.statements.append(st.number)
            current.seconds += st.seconds
            current.heavy += heavy
            if strong and lockmodes.level(max(strong, key=lockmodes.level)) > lockmodes.level(current.mode):
                current.mode = max(strong, key=lockmodes.level)
        if statement_controls(migration.statements[st.number - 1]) and current is not None:
            found.append(current)
            current = None
    if current is not None:
        found.append(current)
    return found


@dataclass
class Change:
    key: str
    what: str
    original: str
    fixed: str = ""
    paths: list[StallPath] = field(default_factory=list)
    holds: dict[str, list[Hold]] = field(default_factory=dict)  # "original", "fixed"


def run(bench: Bench) -> CaseResult:
    rows = 100_000 if bench.options.quick else 1_000_000
    runs = 1 if bench.options.quick else 3
    db = "bench_fix"
    url = bench.url(db)
    case = CaseResult(
        KEY,
        TITLE,
        "Four changes to `load_items` as drizzle-kit 0.31.11 generates them (an index, a foreign key, a NOT NULL, "
        f"a unique constraint; {rows:,} rows), each applied while a second process (`benchmarks/write_load.py`) "
        "does single-row inserts and updates on the table and records every write's latency. **Original**: "
        "Drizzle's migration as generated, applied by drizzle-kit (by `inv migrate` when drizzle-kit is not "
        "installed). **Fixed**: the same file after `inv lint --fix --pending --url` (run once, untimed, on the "
        "pending migration), applied by `inv migrate` and by drizzle-kit. Each run starts from the same table: "
        "the change and the bookkeeping are undone and the load's rows deleted (untimed). Then the tracer of "
        "`plan --trace` (`review.tracer.trace_pending`, in process, no load) applies each original and each "
        "fixed migration once more and reads `pg_locks` after every statement: a **hold** is a lock stronger "
        "than SHARE UPDATE EXCLUSIVE on a table, from the statement that takes it to the end of its "
        "transaction; it is a catalog update when no index is built, no constraint checked against the rows and "
        "no table rewritten while it is held. The trace cannot see SET NOT NULL's scan for NULLs: there the "
        "hold's time tells (the original scans, the fixed one trusts its validated CHECK).",
    )
    bench.recreate(db)
    write_load.setup(url, rows)
    changes = [Change(key, what, text) for key, what, text in CHANGES]
    drizzle_argv = [bench.node or "node", "node_modules/drizzle-kit/bin.cjs", "migrate"]
    drizzle_env = {**os.environ, "DATABASE_URL": url}
    if not bench.has_drizzle:
        case.notes.append(DRIZZLE_MISSING)

    def reset() -> None:
        _reset(url, rows)

    for change in changes:
        tag = f"0000_load_items_{change.key.replace('-', '_')}"
        original_ws = stall_workspace(bench, f"ws-fix-{change.key}", [(tag, change.original)])
        fixed_ws = bench.tmp / f"ws-fix-{change.key}-fixed"
        shutil.copytree(original_ws, fixed_ws, symlinks=True)
        reset()
        run_process(
            [
                *bench.inv_cmd("lint", url, fixed_ws)[:2],
                "--workspace",
                str(fixed_ws),
                "--fix",
                "--pending",
                "--url",
                url,
            ],
            cwd=ROOT,
            env=bench.inv_env,
            redact=bench.redact,
        )
        change.fixed = (fixed_ws / "drizzle" / f"{tag}.sql").read_text()
        if change.fixed == change.original:
            raise BenchError(f"{change.key}: lint --fix left the migration as it was")
        inv = bench.inv_cmd("migrate", url, original_ws)
        if bench.has_drizzle:
            change.paths.append(
                _drizzle_path("original, drizzle-kit", original_ws, drizzle_argv, drizzle_env, bench, url)
            )
        else:
            change.paths.append(_inv_path("original, inv migrate", inv, bench, url))
        change.paths.append(_inv_path("fixed, inv migrate", bench.inv_cmd("migrate", url, fixed_ws), bench, url))
        if bench.has_drizzle:
            change.paths.append(_drizzle_path("fixed, drizzle-kit", fixed_ws, drizzle_argv, drizzle_env, bench, url))
        for i in range(runs):
            for path in change.paths:
                reset()
                path.runs.append(stall_run(bench, url, path.argv, path.cwd, path.env))
                _check(url, change.key)
                r = path.runs[-1]
                log(
                    f"  {change.key} run {i + 1}, {path.key}: longest write {seconds(r.longest)}, "
                    f"{r.failed} failed, migration {seconds(r.migration)}"
                )
        for name, ws in (("original", original_ws), ("fixed", fixed_ws)):
            reset()
            migration = load_workspace(ws).migrations[0]
            with psycopg.connect(url, autocommit=True) as conn:
                [traced] = trace_pending(conn, url, db, [migration])
            if traced.error:
                raise BenchError(f"{change.key}, {name}: the trace failed: {traced.error}")
            change.holds[name] = holds(migration, traced)
    reset()

    lines = [
        f"**The writer's longest stall** ({runs} run(s) per path, medians, the worst run in brackets; the "
        "migration's own time beside it)",
        "",
        "| change | path | longest write | p99 write during | failed writes | migration |",
        "|---|---|---|---|---|---|",
    ]
    for change in changes:
        for p in change.paths:
            lines.append(
                f"| {change.what} | {p.name} | **{seconds(p.median('longest'))}** ({seconds(p.worst('longest'))}) | "
                f"{seconds(p.median('p99_during'))} | {p.median('failed'):.0f} | {seconds(p.median('migration'))} |"
            )
    lines += [
        "",
        "**Strong locks, as the trace saw them** (no load; per hold: the mode, the statements under it, how long, "
        "and what heavy work ran under it)",
        "",
        "| change | migration | holds |",
        "|---|---|---|",
    ]
    for change in changes:
        for name in ("original", "fixed"):
            shown = "; ".join(
                f"{h.mode} over statement(s) {', '.join(map(str, h.statements))} for {seconds(h.seconds)}"
                + (f" while: {', '.join(h.heavy)}" if h.heavy else " (catalog update)")
                for h in change.holds[name]
            )
            lines.append(f"| {change.what} | {name} | {shown or 'none'} |")
    lines += ["", "The migrations, as drizzle-kit wrote them and as `lint --fix` made them:", ""]
    for change in changes:
        lines += [f"{change.what}:", "", "```sql", change.original, "```", "", "```sql", change.fixed, "```", ""]
    case.extra = "\n".join(lines)

    fixed_paths = [(c, p) for c in changes for p in c.paths if p.name.startswith("fixed")]
    worst = max(p.worst("longest") for _, p in fixed_paths)
    failed = sum(r.failed for _, p in fixed_paths for r in p.runs)
    originals = ", ".join(f"{c.what} {seconds(c.paths[0].median('longest'))}" for c in changes)
    at_full = rows >= 1_000_000
    case.goals.append(
        Goal(
            KEY,
            f"the writer's longest stall ≤ {FIX_STALL_SECONDS * 1000:.0f} ms with every fixed migration, by "
            "`inv migrate` and by drizzle-kit (the originals: the whole build or scan)",
            f"{seconds(worst)} in the worst run of the fixed migrations, {failed} failed writes; originals: "
            f"{originals}" + ("" if at_full else f" (quick mode: {rows:,} rows, the goal is at 1,000,000)"),
            (worst <= FIX_STALL_SECONDS and failed == 0) if at_full else None,
        )
    )
    heavy_fixed = [(c.what, h) for c in changes for h in c.holds["fixed"] if h.heavy]
    longest_fixed = max((h.seconds for c in changes for h in c.holds["fixed"]), default=0.0)
    longest_original = max((h.seconds for c in changes for h in c.holds["original"]), default=0.0)
    case.goals.append(
        Goal(
            KEY,
            "the trace of each fixed migration: no lock stronger than SHARE UPDATE EXCLUSIVE is held for more than a "
            "catalog update (no index build, validation or rewrite under it)",
            (
                "none held across heavy work; the longest strong hold "
                f"{seconds(longest_fixed)} (the originals': up to {seconds(longest_original)})"
                if not heavy_fixed
                else "held across heavy work: " + "; ".join(f"{what}: {', '.join(h.heavy)}" for what, h in heavy_fixed)
            ),
            not heavy_fixed,
        )
    )
    case.headline.append(
        f"Fix ({rows:,} rows under single-row writes): the writer's longest stall with the migrations `lint --fix` "
        f"makes is {seconds(worst)} at worst ({failed} failed writes), against {originals} with Drizzle's originals."
    )
    case.reproduce = [
        "export BENCH_TMP=$(mktemp -d) URL  # the bench_fix database, on 127.0.0.1",
        f"python -c 'import os; from benchmarks import write_load; write_load.setup(os.environ[\"URL\"], {rows})'",
        "# per change: a workspace holding its migration of CHANGES (benchmarks/cases/fix.py), and a fixed copy:",
        "inv lint --workspace $BENCH_TMP/ws-fix-index-fixed --fix --pending --url $URL",
        f"# then for each path: start the load, wait {STALL_LEAD_IN:.0f} s, migrate, wait 1 s, stop the load",
        *[p.shown for c in changes[:1] for p in c.paths],
    ]
    bench.drop(db)
    return case


def _inv_path(name: str, argv: list[str], bench: Bench, url: str) -> StallPath:
    key = name.replace(", ", "-").replace(" ", "-")
    return StallPath(key, name, argv, ROOT, bench.inv_env, bench.show(["inv", *argv[1:]], url), 1, [])


def _drizzle_path(name: str, ws: Path, argv: list[str], env: dict[str, str], bench: Bench, url: str) -> StallPath:
    key = name.replace(", ", "-").replace(" ", "-")
    shown = f"(cd {bench.rel(ws)} && {bench.show(['node', *argv[1:]], url, {'DATABASE_URL': url})})"
    return StallPath(key, name, argv, ws, env, shown, 1, [])


def _reset(url: str, rows: int) -> None:
    """The table as write_load.setup left it: every change undone, no bookkeeping, only the first ``rows`` rows."""
    with psycopg.connect(url, autocommit=True) as conn:
        for index in (STALL_INDEX_NAME,):
            conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(index)))
        for name in (STALL_FK_NAME, UNIQUE_NAME, "load_items_note_not_null_check"):
            conn.execute(sql.SQL("ALTER TABLE load_items DROP CONSTRAINT IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(UNIQUE_NAME)))
        conn.execute("ALTER TABLE load_items ALTER COLUMN note DROP NOT NULL")
        conn.execute("DROP SCHEMA IF EXISTS drizzle CASCADE")
        conn.execute("DELETE FROM load_items WHERE id > %s", [rows])
        conn.execute("VACUUM ANALYZE load_items")


def _check(url: str, key: str) -> None:
    """The change is there as the original makes it: a valid index, a validated constraint, NOT NULL, one row."""
    queries = {
        "index": ("select indisvalid from pg_index where indexrelid = to_regclass('public.' || %s)", STALL_INDEX_NAME),
        "foreign-key": (
            "select convalidated from pg_constraint where conname = %s and conrelid = 'load_items'::regclass",
            STALL_FK_NAME,
        ),
        "not-null": (
            "select attnotnull and not exists (select from pg_constraint where conrelid = 'load_items'::regclass "
            "and contype = 'c') from pg_attribute where attrelid = 'load_items'::regclass and attname = %s",
            "note",
        ),
        "unique": (
            "select i.indisvalid from pg_constraint c join pg_index i on i.indexrelid = c.conindid "
            "where c.conname = %s and c.contype = 'u'",
            UNIQUE_NAME,
        ),
    }
    query, name = queries[key]
    with psycopg.connect(url) as conn:
        found = conn.execute(query, [name]).fetchone()  # type: ignore[arg-type]
        recorded = conn.execute("select count(*) from drizzle.__drizzle_migrations").fetchone()
    if found != (True,) or recorded != (1,):
        raise BenchError(f"{key}: after the run the change is {found} and the bookkeeping rows {recorded}")
