"""The benchmark suite: `nox -s bench`, or `python -m benchmarks.run [--quick] [--out PATH] [--cases ...]`.

One throwaway PostgreSQL server (LocalProvider: initdb + pg_ctl) serves every case; each run gets
its own database, created before the run and never timed. Whole processes (`inv`, `npx drizzle-kit`,
`node .../bin.cjs`, `psql`) are timed over a warm-up and repeated runs; each figure is compared with
a baseline measured in the same run. The report goes to benchmarks/results.md (full mode) or, in
quick mode, to a file in the temporary folder unless --out says otherwise, so a CI run never
overwrites the committed report.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from benchmarks import generate_workspace
from benchmarks.report import CaseResult, Goal, MeasureTable, RunInfo, render, seconds, times
from benchmarks.timing import (
    BenchError,
    CallSpec,
    Measurement,
    ProcessSpec,
    display_command,
    measure_call,
    measure_calls_round_robin,
    measure_round_robin,
    ratio,
    run_process,
)
from drizzle_ops.disposable.base import Server
from drizzle_ops.disposable.local import SERVER_SETTINGS, LocalProvider
from drizzle_ops.engine import pg, runner
from drizzle_ops.engine.workspace import load_workspace

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_REL = "examples/wishlist/packages/backend/database-schema"
EXAMPLE = ROOT / EXAMPLE_REL
DEFAULT_OUT = ROOT / "benchmarks" / "results.md"
QUICK_OUT = Path(tempfile.gettempdir()) / "drizzle-ops-bench-quick.md"
CASES = ["noop", "fresh", "scale", "history", "testdb", "server", "lockstall"]
MIGRATIONS = sql.SQL("{}.{}").format(sql.Identifier("drizzle"), sql.Identifier("__drizzle_migrations"))

# goals from the issues
NOOP_SECONDS = 0.35
NOOP_VS_NPX = 0.5
APPLY_VS_FLOOR = 1.3
APPLY_VS_DRIZZLE = 0.5
SCALE_STATUS_SECONDS = 1.0
SCALE_RSS_MB = 100
CLONE_SECONDS = 0.050
HISTORY_GROWTH = 1.3  # issue 10: at 1,000 migrations `inv status` stays within 1.3x its time at 10
CONTAINER_SECONDS = 1.2


@dataclass
class Options:
    quick: bool
    runs: int  # timed runs of a process measurement
    warmup: int
    scale_sizes: list[int]
    scale_runs: dict[int, int]
    testdb_runs: int
    server_runs: int
    profile: bool
    history_sizes: tuple[int, int]  # the long-history case: small and large workspace
    history_runs: int


def options_for(quick: bool, runs: int | None, no_profile: bool) -> Options:
    if quick:  # keeps the harness alive in CI in about a minute: no warm-up, few runs
        base = runs or 3
        return Options(True, base, 0, [10, 100], {10: base, 100: base}, 5, 2, not no_profile, (10, 100), base)
    base = runs or 7
    return Options(
        False, base, 1, [10, 100, 1000], {10: base, 100: base, 1000: runs or 5}, 20, 5, not no_profile, (10, 1000), base
    )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def find_inv() -> str:
    """The `inv` of the interpreter running us (a nox venv's, or pyenv's real script, never its shim)."""
    sibling = Path(sys.executable).parent / "inv"
    if sibling.is_file() and os.access(sibling, os.X_OK):
        return str(sibling)
    found = shutil.which("inv")
    if not found:
        raise SystemExit("`inv` not found: python -m pip install -e . first")
    return found


def output_of(argv: list[str], cwd: Path | None = None) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def node_package_version(node_modules: Path, name: str) -> str | None:
    try:
        return str(json.loads((node_modules / name / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


class Bench:
    """Shared state of one run: the server, the admin connection, tools, paths and placeholders."""

    def __init__(self, server: Server, options: Options, tmp: Path) -> None:
        self.server = server
        self.options = options
        self.tmp = tmp
        self.admin = psycopg.connect(server.url, autocommit=True)
        self.inv = find_inv()
        self.python = sys.executable
        self.password = str(conninfo_to_dict(server.url).get("password") or "")
        bin_dir = Path(server.details.get("bin_dir", ""))
        self.psql = shutil.which("psql") or (str(bin_dir / "psql") if (bin_dir / "psql").is_file() else None)
        self.node = shutil.which("node")
        self.npx = shutil.which("npx")
        self.node_modules = EXAMPLE / "node_modules"
        self.drizzle_kit = node_package_version(self.node_modules, "drizzle-kit")
        self.has_drizzle = bool(self.node and self.npx and self.drizzle_kit)
        self.placeholders: dict[str, str] = {str(tmp): "$BENCH_TMP"}
        self.inv_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        self.load_start = os.getloadavg()[0]
        self.files_probe = file_creation_probe(tmp)

    # -- databases -------------------------------------------------------------------------------

    def url(self, dbname: str) -> str:
        params = conninfo_to_dict(self.server.url)
        user = quote(str(params.get("user", "postgres")), safe="")
        password = quote(self.password, safe="")
        return f"postgresql://{user}:{password}@{params.get('host')}:{params.get('port')}/{dbname}"

    def recreate(self, dbname: str, template: str | None = None) -> None:
        self.drop(dbname)
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname))
        if template:
            query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(dbname), sql.Identifier(template))
        self.admin.execute(query)

    def drop(self, dbname: str) -> None:
        self.admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))

    def applied_rows(self, dbname: str) -> int:
        with psycopg.connect(self.url(dbname)) as conn:
            exists = conn.execute("select to_regclass('drizzle.__drizzle_migrations') is not null").fetchone()
            if not exists or not exists[0]:
                return 0
            row = conn.execute(sql.SQL("select count(*) from {}").format(MIGRATIONS)).fetchone()
            return int(row[0]) if row else 0

    def user_tables(self, dbname: str) -> int:
        with psycopg.connect(self.url(dbname)) as conn:
            row = conn.execute("select count(*) from pg_tables where schemaname = 'public'").fetchone()
            return int(row[0]) if row else 0

    # -- secrets ---------------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        text = pg.redact(text, self.server.url)
        return text.replace(self.password, "***") if self.password else text

    def show(self, argv: list[str], url: str | None = None, env: dict[str, str] | None = None) -> str:
        placeholders = dict(self.placeholders)
        if url:
            placeholders[url] = "$URL"
        return display_command(argv, placeholders, env)

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(ROOT))
        except ValueError:
            return self.redact(display_command([str(path)], self.placeholders))

    # -- commands to time ------------------------------------------------------------------------

    def inv_cmd(self, task: str, url: str, workspace: Path | None = None) -> list[str]:
        argv = [self.inv, task]
        if workspace is not None:
            argv += ["--workspace", str(workspace)]
        return [*argv, "--url", url]

    def inv_spec(self, name: str, task: str, url: str, workspace: Path | None = None, **hooks: Any) -> ProcessSpec:
        argv = self.inv_cmd(task, url, workspace)
        return ProcessSpec(name, argv, self.show(["inv", *argv[1:]], url), cwd=ROOT, env=self.inv_env, **hooks)

    def drizzle_spec(self, name: str, how: str, url: str, workspace: Path, **hooks: Any) -> ProcessSpec:
        """how: 'npx' (`npx drizzle-kit migrate`, what users type) or 'node' (the CLI's file, no npx)."""
        assert self.npx and self.node
        argv = (
            [self.npx, "drizzle-kit", "migrate"]
            if how == "npx"
            else [self.node, "node_modules/drizzle-kit/bin.cjs", "migrate"]
        )
        return ProcessSpec(
            name,
            argv,
            self.show([Path(argv[0]).name, *argv[1:]], url, {"DATABASE_URL": url}),
            cwd=workspace,
            cwd_label=self.rel(workspace),
            env={**os.environ, "DATABASE_URL": url},
            **hooks,
        )

    def psql_spec(self, name: str, url: str, sql_file: Path, **hooks: Any) -> ProcessSpec:
        assert self.psql
        argv = [self.psql, "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(sql_file)]
        return ProcessSpec(name, argv, self.show(["psql", *argv[1:]], url), cwd=ROOT, env=dict(os.environ), **hooks)

    def cmd_spec(self, name: str, argv: list[str], shown: str) -> ProcessSpec:
        return ProcessSpec(name, argv, shown, cwd=ROOT, env=self.inv_env)

    def measure(self, specs: list[ProcessSpec], runs: int | None = None) -> list[Measurement]:
        """Time the commands in turns; see timing.measure_round_robin."""
        return measure_round_robin(
            specs,
            runs=runs or self.options.runs,
            warmup=self.options.warmup,
            redact=self.redact,
            on_done=self.report,
        )

    @staticmethod
    def report(m: Measurement) -> None:
        rss = f", peak RSS {m.peak_rss_mb:.0f} MB" if m.peak_rss_mb else ""
        log(f"  {m.name}: median {seconds(m.median)} (min {seconds(m.min)}, max {seconds(m.max)}){rss}")

    # -- per-run hooks ---------------------------------------------------------------------------

    def fresh(self, dbname: str) -> Callable[[int], None]:
        return lambda _i: self.recreate(dbname)

    def expect_rows(self, dbname: str, expected: int, what: str) -> Callable[[int], None]:
        """A verify hook: the run must have left ``expected`` bookkeeping rows (so it really applied)."""

        def verify(_i: int) -> None:
            found = self.applied_rows(dbname)
            if found != expected:
                raise BenchError(f"{what}: expected {expected} bookkeeping rows after the run, found {found}")

        return verify

    def expect_tables(self, dbname: str, what: str) -> Callable[[int], None]:
        def verify(_i: int) -> None:
            if self.user_tables(dbname) == 0:
                raise BenchError(f"{what}: no table in schema public after the run")

        return verify


def concatenate(workspace: Path, out: Path) -> Path:
    """Every migration of the journal, in order, in one file: what psql -1 -f runs as the floor."""
    journal = json.loads((workspace / "drizzle" / "meta" / "_journal.json").read_text())
    parts = [(workspace / "drizzle" / f"{e['tag']}.sql").read_text() for e in journal["entries"]]
    out.write_text("\n".join(parts) + "\n")
    return out


def concat_line(workspace_shown: str, out_shown: str) -> str:
    return f'for f in {workspace_shown}/drizzle/0*.sql; do cat "$f"; echo; done > {out_shown}'


def drizzle_note(bench: Bench) -> str:
    return (
        "drizzle-kit baselines not measured: run `npm ci --no-audit --no-fund` in "
        f"`{EXAMPLE_REL}` (needs node and npx on PATH)"
    )


# -- case: no-op ---------------------------------------------------------------------------------

LAYERS = [
    ("interpreter", ["-c", "pass"], "python -c pass"),
    ("+ import invoke", ["-c", "import invoke.main"], "python -c 'import invoke.main'"),
    (
        "+ import drizzle_ops.cli (psycopg, rich)",
        ["-c", "import invoke.main, drizzle_ops.cli"],
        "python -c 'import invoke.main, drizzle_ops.cli'",
    ),
]


def case_noop(bench: Bench) -> CaseResult:
    db = "bench_noop"
    url = bench.url(db)
    bench.recreate(db)
    run_process(bench.inv_cmd("migrate", url), cwd=ROOT, env=bench.inv_env, redact=bench.redact)
    bench.expect_rows(db, 8, "setup of the no-op case")(0)
    case = CaseResult(
        "noop",
        "No-op: nothing pending",
        "The example workspace (8 migrations), all applied. `inv migrate` with nothing to do and `inv status`, "
        "against drizzle-kit's `migrate` with nothing to do on the same database, started as users start it "
        "(`npx drizzle-kit migrate`, what `npm run db:migrate` runs) and as the CLI's own file "
        "(`node node_modules/drizzle-kit/bin.cjs migrate`, without npx's start-up). The layers of `inv`'s "
        "fixed cost (bare interpreter, imports, invoke's program) are timed in the same rounds.",
    )
    unchanged = bench.expect_rows(db, 8, "no-op run")
    specs = [
        bench.inv_spec("inv migrate (no-op)", "migrate", url, verify=unchanged),
        bench.inv_spec("inv status", "status", url),
    ]
    if bench.has_drizzle:
        specs += [
            bench.drizzle_spec("drizzle-kit via npx", "npx", url, EXAMPLE, verify=unchanged),
            bench.drizzle_spec("drizzle-kit via node", "node", url, EXAMPLE, verify=unchanged),
        ]
    else:
        case.notes.append(drizzle_note(bench))
    specs += [bench.cmd_spec(name, [bench.python, *args], shown) for name, args, shown in LAYERS]
    specs.append(bench.cmd_spec("+ invoke program, tasks.py, invoke.yaml", [bench.inv, "--list"], "inv --list"))
    measured = bench.measure(specs)
    rows, layers = measured[: len(measured) - 4], measured[-4:]
    npx = rows[2] if bench.has_drizzle else None
    node = rows[3] if bench.has_drizzle else None
    case.tables.append(MeasureTable("Whole processes", rows, [("npx drizzle-kit", npx), ("node bin.cjs", node)]))
    for m in rows[:2]:
        case.goals.append(
            Goal("no-op", f"{m.name} median ≤ {NOOP_SECONDS:.2f} s", seconds(m.median), m.median <= NOOP_SECONDS)
        )
        r = ratio(m, npx)
        case.goals.append(
            Goal(
                "no-op",
                f"{m.name} ≤ {NOOP_VS_NPX}× `npx drizzle-kit migrate`",
                times(r) + (f" ({seconds(m.median)} vs {seconds(npx.median)})" if npx else ""),
                None if r is None else r <= NOOP_VS_NPX,
            )
        )
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
    case.reproduce = [
        "inv migrate --url $URL    # once: apply the 8 migrations",
        *[m.display for m in rows[:2]],
        *[f"(cd {EXAMPLE_REL} && {m.display})" for m in rows[2:]],
        *[m.display for m in layers],
    ]
    bench.drop(db)
    return case


def signed(value: float) -> str:
    return ("+" if value >= 0 else "−") + seconds(abs(value))


def profile_section(bench: Bench, argv: list[str], shown: str, label: str) -> str:
    """One pyinstrument-sampled run, as a call tree (pyinstrument's overhead adds ~10-20 %)."""
    if importlib.util.find_spec("pyinstrument") is None:
        return (
            f"*Profile of `{shown}` ({label}) not recorded: pyinstrument is not installed "
            "(`python -m pip install pyinstrument`).*"
        )
    out = bench.tmp / "profile.txt"
    cmd = [
        bench.python,
        "-m",
        "pyinstrument",
        "-r",
        "text",
        "--no-color",
        "--unicode",
        "-i",
        "0.0005",
        "--target-description",
        f"Program: {shown}",
        "-o",
        str(out),
        *argv,
    ]
    run_process(cmd, cwd=ROOT, env=bench.inv_env, redact=bench.redact)
    text = bench.redact(out.read_text())
    text = text.replace(str(ROOT) + "/", "").replace(str(bench.tmp), "$BENCH_TMP")
    lines = [line.rstrip() for line in text.splitlines()]
    # drop pyinstrument's logo; keep the summary line and the tree
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("Program:")), 0)
    body = [line for line in lines[start:] if line.strip()]
    if len(body) > 70:
        body = [*body[:70], f"… ({len(body) - 70} more lines)"]
    found = re.search(r"Duration:\s*([\d.]+)\s+CPU time:\s*([\d.]+)", text)
    summary = f"duration {found.group(1)} s, CPU time {found.group(2)} s" if found else "duration not found"
    return (
        f"**Profile of `{shown}` ({label})**, one run sampled by pyinstrument every 0.5 ms "
        f"({summary}); the interpreter's own start-up, before the first line of Python runs, "
        "is not in it (see the layers above):\n\n```text\n" + "\n".join(body) + "\n```"
    )


def importtime_section(bench: Bench, argv: list[str]) -> str:
    """`python -X importtime`: what each import costs (median of 3 runs), the biggest ones, with their importer."""
    samples: dict[str, list[float]] = {}
    parents: dict[str, str] = {}
    order: list[str] = []
    pattern = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")
    for _ in range(3):
        proc = subprocess.run(
            [bench.python, "-X", "importtime", *argv], cwd=ROOT, env=bench.inv_env, capture_output=True, text=True
        )
        parsed = []
        for line in proc.stderr.splitlines():
            match = pattern.match(line)
            if match:
                parsed.append(((len(match.group(3)) - 1) // 2, match.group(4), int(match.group(2)) / 1e6))
        # importtime prints a module after everything it imports: its importer is the next line one level up
        for i, (depth, name, cumulative) in enumerate(parsed):
            if name not in samples:
                samples[name] = []
                order.append(name)
                if depth == 0:
                    parents[name] = "(top level)"
                else:
                    parents[name] = next((n for d, n, _ in parsed[i + 1 :] if d == depth - 1), "?")
            samples[name].append(cumulative)
    top_level = [n for n in order if parents[n] == "(top level)"]
    total = sum(statistics.median(samples[n]) for n in top_level)
    biggest = sorted(order, key=lambda n: statistics.median(samples[n]), reverse=True)[:18]
    lines = [
        f"**Imports of `inv migrate`** (`python -X importtime`, median of 3 runs): {seconds(total)} of imports "
        "in all, `site` (the interpreter's start-up) included. The biggest, cumulative (a module's time includes "
        "what it imports first):",
        "",
        "| module | imported by | cumulative |",
        "|---|---|---|",
    ]
    lines += [f"| `{n}` | `{parents[n]}` | {seconds(statistics.median(samples[n]))} |" for n in biggest]
    return "\n".join(lines)


# -- case: fresh apply ---------------------------------------------------------------------------


def case_fresh(bench: Bench) -> CaseResult:
    db = "bench_fresh"
    url = bench.url(db)
    floor_sql = concatenate(EXAMPLE, bench.tmp / "example.sql")
    case = CaseResult(
        "fresh",
        "Fresh apply: the example workspace on an empty database",
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
            bench.psql_spec("floor: psql -1 -f", url, floor_sql, prepare=fresh, verify=bench.expect_tables(db, "psql"))
        )
    if bench.has_drizzle:
        specs += [
            bench.drizzle_spec("drizzle-kit via npx", "npx", url, EXAMPLE, prepare=fresh, verify=applied),
            bench.drizzle_spec("drizzle-kit via node", "node", url, EXAMPLE, prepare=fresh, verify=applied),
        ]
    else:
        case.notes.append(drizzle_note(bench))
    # fixed costs, in the same rounds: each tool with nothing to do (inv migrate has just applied everything)
    fixed = [bench.inv_spec("inv migrate, nothing pending", "migrate", url, verify=applied)]
    if bench.has_drizzle:
        fixed.append(bench.drizzle_spec("drizzle-kit via node, nothing pending", "node", url, EXAMPLE, verify=applied))
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
        conn = pg.connect(url)
        try:
            runner.migrate(conn, ws)
        finally:
            conn.close()

    engine_m = measure_call(
        "engine only",
        engine,
        runs=bench.options.runs,
        warmup=bench.options.warmup,
        display="load_workspace + pg.connect + runner.migrate",
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
    r = ratio(inv, floor)
    case.goals.append(
        Goal(
            "fresh apply",
            f"`inv migrate` ≤ {APPLY_VS_FLOOR}× the psql floor",
            times(r) + (f" ({seconds(inv.median)} vs {seconds(floor.median)})" if floor else ""),
            None if r is None else r <= APPLY_VS_FLOOR,
        )
    )
    r = ratio(inv, npx)
    case.goals.append(
        Goal(
            "fresh apply",
            f"`inv migrate` ≤ {APPLY_VS_DRIZZLE}× drizzle-kit (`npx drizzle-kit migrate`)",
            times(r)
            + (
                f" ({seconds(inv.median)} vs {seconds(npx.median)}; vs node bin.cjs: {times(ratio(inv, node))})"
                if npx
                else ""
            ),
            None if r is None else r <= APPLY_VS_DRIZZLE,
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


# -- case: scale ---------------------------------------------------------------------------------


@dataclass
class ScalePoint:
    n: int
    inv: Measurement
    floor: Measurement | None
    drizzle: Measurement | None
    status: Measurement
    noop: Measurement


def case_scale(bench: Bench) -> CaseResult:
    db = "bench_scale"
    url = bench.url(db)
    fresh = bench.fresh(db)
    sizes = bench.options.scale_sizes
    case = CaseResult(
        "scale",
        f"Scale: {', '.join(f'{n:,}' for n in sizes)} generated migrations",
        "Workspaces written by `benchmarks/generate_workspace.py` (deterministic: the first 10 migrations of the "
        "100 are the 10, and so on). They mix new tables with foreign keys and indexes, added columns, enums and "
        "enum values, unique and check constraints, defaults, comments and dropped indexes. For each size: a "
        "fresh apply on an empty database (`inv migrate`, the psql floor, and drizzle-kit run as "
        "`node node_modules/drizzle-kit/bin.cjs migrate`, so npx's constant start-up does not blur the growth), "
        "then `inv status` and a no-op `inv migrate` on the migrated database. Peak memory is the max RSS of the "
        "`inv` process (`os.wait4`).",
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
                bench.psql_spec(f"floor ({n})", url, floor_sql, prepare=fresh, verify=bench.expect_tables(db, "psql"))
            )
        if bench.has_drizzle:
            specs.append(
                bench.drizzle_spec(f"drizzle-kit via node ({n})", "node", url, ws, prepare=fresh, verify=applied)
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
        case.notes.append(drizzle_note(bench))
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

    case.goals.append(
        Goal(
            "scale",
            f"`inv status` at 1,000 migrations ≤ {SCALE_STATUS_SECONDS:.0f} s",
            f"{seconds(top.status.median)} at {top.n:,}{where}",
            verdict(top.status.median <= SCALE_STATUS_SECONDS),
        )
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
    bench.drop(db)
    return case


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


# -- case: long history --------------------------------------------------------------------------

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


def case_history(bench: Bench) -> CaseResult:
    small, large = bench.options.history_sizes
    runs = bench.options.history_runs
    case = CaseResult(
        "history",
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


# -- case: test database -------------------------------------------------------------------------


def case_testdb(bench: Bench) -> CaseResult:
    template, clone = "bench_template", "bench_clone"
    bench.recreate(template)
    workspace = load_workspace(EXAMPLE)
    with pg.connect(bench.url(template)) as conn:
        runner.migrate(conn, workspace)
    bench.expect_rows(template, len(workspace.migrations), "template setup")(0)
    runs, warmup = bench.options.testdb_runs, 2 * bench.options.warmup

    def drop(_i: int) -> None:
        bench.drop(clone)

    case = CaseResult(
        "testdb",
        "Test database: a fresh migrated database per test",
        "What a test fixture does for each test, timed in-process (psycopg, `perf_counter`), since it is one "
        "statement, not a program: `CREATE DATABASE … TEMPLATE` of a database migrated once per session, "
        "against creating an empty database and running the 8 example migrations into it with our runner "
        "(workspace already loaded, as a session fixture would have it), and against an empty `CREATE DATABASE`, the "
        "least any new database costs. The four run in turns; the new database is dropped after each run, untimed.",
    )
    query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(clone), sql.Identifier(template))
    specs = [
        CallSpec(
            "clone (WAL_LOG, the default)",
            lambda _i: bench.admin.execute(query),
            f"CREATE DATABASE {clone} TEMPLATE {template}",
            after=drop,
        )
    ]
    if bench.admin.info.server_version >= 150000:
        file_copy = sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
            sql.Identifier(clone), sql.Identifier(template)
        )
        specs.append(
            CallSpec(
                "clone (FILE_COPY)",
                lambda _i: bench.admin.execute(file_copy),
                f"CREATE DATABASE {clone} TEMPLATE {template} STRATEGY FILE_COPY",
                after=drop,
                note="a checkpoint per clone; cheap here because the server runs with fsync=off",
            )
        )
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(clone))
    specs.append(
        CallSpec(
            "empty database only",
            lambda _i: bench.admin.execute(create),
            f"CREATE DATABASE {clone}",
            after=drop,
            note="what any CREATE DATABASE costs on this server: the copy of `template1`",
        )
    )

    def create_and_migrate(_i: int) -> None:
        bench.admin.execute(create)
        conn = pg.connect(bench.url(clone))
        try:
            runner.migrate(conn, workspace)
        finally:
            conn.close()

    specs.append(
        CallSpec(
            "baseline: create empty + migrate",
            create_and_migrate,
            f"CREATE DATABASE {clone}; runner.migrate(...)",
            after=drop,
        )
    )
    rows = measure_calls_round_robin(specs, runs=runs, warmup=warmup)
    baseline = rows[-1]
    for m in rows:
        log(f"  {m.name}: median {seconds(m.median)}")
    case.tables.append(MeasureTable("In-process", rows, [("create + migrate", baseline)]))
    case.goals.append(
        Goal(
            "test database",
            f"clone median ≤ {CLONE_SECONDS * 1000:.0f} ms",
            f"{seconds(rows[0].median)} ({times(ratio(rows[0], baseline))} create + migrate; an empty "
            f"CREATE DATABASE: {seconds(rows[-2].median)})",
            rows[0].median <= CLONE_SECONDS,
        )
    )
    case.headline.append(
        f"Test database: `CREATE DATABASE … TEMPLATE` {seconds(rows[0].median)}, against "
        f"{seconds(baseline.median)} to create an empty database and migrate it ({times(ratio(rows[0], baseline))}); "
        f"an empty `CREATE DATABASE` alone takes {seconds(rows[-2].median)} on this server."
    )
    sizes = bench.admin.execute(
        "select pg_size_pretty(pg_database_size(%s)), pg_size_pretty(pg_database_size('template1'))", [template]
    ).fetchone()
    if sizes:
        case.notes.append(
            f"A clone copies the whole template database, {sizes[0]}, of which an empty database (`template1`) "
            f"is already {sizes[1]}: the system catalogs, not the 8 migrations, are most of what is copied."
        )
    case.reproduce = [
        "inv migrate --url $TEMPLATE_URL   # once: $URL with the database name bench_template",
        f"psql \"$ADMIN_URL\" -c '\\timing on' -c 'CREATE DATABASE {clone} TEMPLATE {template}' "
        f"-c 'DROP DATABASE {clone}'",
    ]
    bench.drop(clone)
    bench.drop(template)
    return case


# -- case: disposable server ---------------------------------------------------------------------


def case_server(bench: Bench) -> CaseResult:
    runs = bench.options.server_runs
    case = CaseResult(
        "server",
        "Disposable server: start to first query",
        "Timed in-process from the call to the first successful query, through the providers users get from "
        "`inv db.up`: `LocalProvider().up()` (initdb, `pg_ctl start`, wait until a query succeeds) and "
        "`DockerProvider().up()` (`docker run` of the local `postgres:15` image with tmpfs data and fsync off, "
        "wait until a query succeeds; includes the Docker API round trips). Each server is stopped and removed "
        "after its run, untimed.",
    )
    started: list[Server] = []
    local = LocalProvider()

    def local_down(_i: int) -> None:
        local.down(started.pop())

    try:
        rows = [
            measure_call(
                "local: initdb → first query",
                lambda _i: started.append(local.up(major=bench.server.major)),
                runs=runs,
                warmup=bench.options.warmup,
                display="LocalProvider().up()",
                after=local_down,
            )
        ]
    finally:
        while started:  # interrupted between up and down
            local.down(started.pop())
    log(f"  local: median {seconds(rows[0].median)}")
    docker_m = None
    docker_reason = docker_unavailable()
    if docker_reason is None:
        from drizzle_ops.disposable.docker import DockerProvider, remove_all

        owner = f"bench-{os.getpid()}"
        provider = DockerProvider(owner=owner)

        def docker_down(_i: int) -> None:
            provider.down(started.pop())

        try:
            docker_m = measure_call(
                "docker: docker run → first query",
                lambda _i: started.append(provider.up(major="15")),
                runs=runs,
                warmup=bench.options.warmup,
                display="DockerProvider().up(major='15')",
                after=docker_down,
            )
            log(f"  docker: median {seconds(docker_m.median)}")
            rows.append(docker_m)
        except Exception as exc:  # the engine is optional here: say what happened, keep the local figures
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            docker_reason = f"the Docker engine failed during the measurement ({type(exc).__name__}: {first})"
            log(f"  docker: {docker_reason}")
            case.notes.append(f"Docker case not measured: {bench.redact(docker_reason)}.")
        finally:
            started.clear()
            with contextlib.suppress(Exception):
                remove_all(owner)
    else:
        case.notes.append(f"Docker case not measured: {docker_reason}.")
    case.tables.append(MeasureTable("In-process", rows, []))
    case.goals.append(
        Goal(
            "disposable server",
            f"container ready ≤ {CONTAINER_SECONDS} s",
            seconds(docker_m.median) if docker_m else f"– ({docker_reason})",
            None if docker_m is None else docker_m.median <= CONTAINER_SECONDS,
        )
    )
    case.headline.append(
        f"Disposable server, start to first query: local (initdb + pg_ctl) {seconds(rows[0].median)}"
        + (f", docker {seconds(docker_m.median)}." if docker_m else f"; docker not measured ({docker_reason}).")
    )
    case.notes.append(
        f"local backend (no goal, reported as measured): {seconds(rows[0].median)} median from initdb to first query."
    )
    case.reproduce = [
        "time inv db.up --provider local && inv db.down",
        "time inv db.up --provider docker --pg 15 && inv db.down   # includes inv's own start-up",
    ]
    return case


def docker_unavailable() -> str | None:
    try:
        from drizzle_ops.disposable.docker import engine_answers, has_image
    except ImportError:
        return "the docker Python package is not installed"
    if not engine_answers():
        return "no Docker engine answers"
    if not has_image("15"):
        return "no local postgres:15 image (build it with `bash .ci/docker/build-postgres-images.sh 15`)"
    return None


# -- case: lock stall ----------------------------------------------------------------------------

# What drizzle-kit 0.31.11 writes when the schema of `load_items` (the table write_load.setup creates) gains
# `index("load_items_value_idx").on(t.value)` and `.references(() => loadAccounts.id)` on `account_id`:
STALL_INDEX_NAME = "load_items_value_idx"
STALL_FK_NAME = "load_items_account_id_load_accounts_id_fk"
STALL_INDEX = f'CREATE INDEX "{STALL_INDEX_NAME}" ON "load_items" USING btree ("value");'
STALL_FK = (
    f'ALTER TABLE "load_items" ADD CONSTRAINT "{STALL_FK_NAME}" FOREIGN KEY ("account_id") '
    'REFERENCES "public"."load_accounts"("id") ON DELETE no action ON UPDATE no action;'
)
# both changes in one `drizzle-kit generate`: one migration, and drizzle-kit puts the foreign key first
STALL_SQL = STALL_FK + "--> statement-breakpoint\n" + STALL_INDEX
CUSTOM_HEADER = "-- Custom SQL migration file, put your code below! --"  # what `drizzle-kit generate --custom` writes
# The lock-safe path: the same two changes generated one at a time (`generate` after adding the index,
# `generate` after adding the reference, `generate --custom` for the validation), then edited by hand.
STALL_SAFE: list[tuple[str, str, str]] = [  # (tag, SQL, the hand edit)
    (
        "0000_load_items_value_idx",
        STALL_INDEX.replace("CREATE INDEX ", "CREATE INDEX CONCURRENTLY IF NOT EXISTS ", 1),
        "`CONCURRENTLY IF NOT EXISTS` added; the runner's SQL parser finds CONCURRENTLY and runs the migration "
        "outside a transaction (no marker line needed)",
    ),
    (
        "0001_load_items_account_fk",
        STALL_FK.removesuffix(";") + " NOT VALID;",
        "`NOT VALID` added: the constraint holds for new rows at once, existing rows are not scanned",
    ),
    (
        "0002_validate_load_items_account_fk",
        f'{CUSTOM_HEADER}\nALTER TABLE "load_items" VALIDATE CONSTRAINT "{STALL_FK_NAME}";',
        "the VALIDATE statement written into the empty custom migration; it runs in its own transaction",
    ),
]
STALL_SLOW = 0.100  # a write slower than this counts as stalled; also the lock-safe path's goal
STALL_LEAD_IN = 2.0  # seconds of load before the migration starts: the first one warms up, the second is "before"
STALL_LOAD_SECONDS = 120  # bounds of one write-load process (a run needs a few seconds)
STALL_LOAD_WRITES = 1_000_000


def stall_workspace(bench: Bench, name: str, migrations: list[tuple[str, str]]) -> Path:
    """A workspace laid out as drizzle-kit writes it: the migrations' SQL, the journal, and minimal snapshots."""
    ws = bench.tmp / name
    meta = ws / "drizzle" / "meta"
    meta.mkdir(parents=True)
    (ws / "drizzle.config.ts").write_text(generate_workspace.DRIZZLE_CONFIG)
    (ws / "package.json").write_text(json.dumps(generate_workspace.PACKAGE_JSON) + "\n")
    entries = []
    prev = generate_workspace.ZERO_UUID
    for idx, (tag, text) in enumerate(migrations):
        (ws / "drizzle" / f"{tag}.sql").write_text(text)
        snapshot_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"drizzle-ops-bench/{name}/{tag}"))
        snapshot = generate_workspace.snapshot(snapshot_id, prev)
        (meta / f"{tag[:4]}_snapshot.json").write_text(json.dumps(snapshot, indent=2))
        prev = snapshot_id
        when = generate_workspace.FIRST_WHEN + idx * 1000
        entries.append({"idx": idx, "version": "7", "when": when, "tag": tag, "breakpoints": True})
    (meta / "_journal.json").write_text(json.dumps({"version": "7", "dialect": "postgresql", "entries": entries}))
    if bench.has_drizzle:
        (ws / "node_modules").symlink_to(bench.node_modules.resolve(), target_is_directory=True)
    return ws


@dataclass
class StallRun:
    migration: float  # seconds, the migrating process from start to exit
    longest: float  # the slowest write that overlapped the migration
    slow: int  # writes overlapping the migration that took longer than STALL_SLOW
    failed: int  # writes overlapping the migration that the server refused
    failed_all: int  # failed writes over the whole load (before, during and after)
    p50_before: float
    p99_during: float
    rate_before: float  # writes per second before the migration started
    rate_during: float


@dataclass
class StallPath:
    """One way of applying the index and the foreign key, and its runs."""

    key: str  # "naive-drizzle", "naive-inv", "safe-inv"
    name: str
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    shown: str
    migrations: int  # bookkeeping rows it leaves
    runs: list[StallRun]

    def median(self, attr: str) -> float:
        return float(statistics.median(getattr(r, attr) for r in self.runs))

    def worst(self, attr: str) -> float:
        return float(max(getattr(r, attr) for r in self.runs))


def stall_run(bench: Bench, url: str, argv: list[str], cwd: Path, env: dict[str, str]) -> StallRun:
    out = bench.tmp / "load.json"
    out.unlink(missing_ok=True)
    load = subprocess.Popen(
        [
            bench.python,
            "-m",
            "benchmarks.write_load",
            "--max-seconds",
            str(STALL_LOAD_SECONDS),
            "--max-writes",
            str(STALL_LOAD_WRITES),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env={**bench.inv_env, "BENCH_LOAD_URL": url, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert load.stdout is not None
        if load.stdout.readline().strip() != "ready":
            raise BenchError("the write-load process did not start")
        time.sleep(STALL_LEAD_IN)  # the last second of it is the latency before the migration
        t0 = time.monotonic()
        run_process(argv, cwd=cwd, env=env, redact=bench.redact)
        t1 = time.monotonic()
        time.sleep(1.0)
    finally:
        load.terminate()
        load.wait(timeout=60)
    result = json.loads(out.read_text())
    if result.get("stopped_by") != "signal":
        raise BenchError(f"the write load stopped on its own ({result.get('stopped_by')}) before the run ended")
    writes = result["writes"]  # [start, seconds, kind, ok]
    before = [w[1] for w in writes if t0 - 1.0 <= w[0] < t0 and w[3]]
    overlapping = [w for w in writes if w[0] < t1 and w[0] + w[1] > t0]
    during = [w[1] for w in overlapping]
    if not before or not during:
        raise BenchError("the write load recorded no writes around the migration")
    during_sorted = sorted(during)
    return StallRun(
        migration=t1 - t0,
        longest=max(during),
        slow=sum(1 for d in during if d > STALL_SLOW),
        failed=sum(1 for w in overlapping if not w[3]),
        failed_all=sum(1 for w in writes if not w[3]),
        p50_before=statistics.median(before),
        p99_during=during_sorted[min(len(during_sorted) - 1, int(len(during_sorted) * 0.99))],
        rate_before=len(before) / 1.0,
        rate_during=len([w for w in writes if t0 <= w[0] < t1]) / (t1 - t0),
    )


def case_lockstall(bench: Bench) -> CaseResult:
    from benchmarks import write_load

    rows = 100_000 if bench.options.quick else 1_000_000
    runs = 1 if bench.options.quick else 3
    db = "bench_lockstall"
    url = bench.url(db)
    case = CaseResult(
        "lockstall",
        "Lock stall: writes during a migration that adds an index and a foreign key",
        "How long application writes to a busy table stall while a migration adds an index and a foreign key to "
        f"it. A second process (`benchmarks/write_load.py`, bounded to {STALL_LOAD_SECONDS} s and "
        f"{STALL_LOAD_WRITES:,} writes, 127.0.0.1 only) does single-row inserts and updates, alternately, on "
        f"`load_items` ({rows:,} rows; each write its own transaction) and records every write's latency and "
        f"whether it failed; the migration starts {STALL_LEAD_IN:.0f} s into the load (the last second before it is "
        'the "before" figure) and the load stops 1 s after it ends. '
        "**Naive path** (the baseline): the one migration drizzle-kit 0.31.11 generates for the two changes, a "
        "plain `CREATE INDEX` and an `ADD CONSTRAINT … FOREIGN KEY` validated at once, so writes wait for the "
        "whole build; applied by drizzle-kit, and by `inv migrate` for comparison. **Lock-safe path**: the same "
        "two changes generated by drizzle-kit one at a time, plus a custom migration, then edited by hand "
        "(below): `CREATE INDEX CONCURRENTLY` (outside a transaction), `ADD CONSTRAINT … NOT VALID` (a brief "
        "SHARE ROW EXCLUSIVE lock, no scan), `VALIDATE CONSTRAINT` (SHARE UPDATE EXCLUSIVE: writes go on); "
        "applied by `inv migrate`. The paths run in turns; before every run the index, the constraint and the "
        "bookkeeping are dropped and the rows the load added are deleted (`VACUUM ANALYZE`, untimed), and after "
        "it the harness checks the bookkeeping rows, that the index is valid and that the constraint is validated.",
    )
    bench.recreate(db)
    started = time.perf_counter()
    write_load.setup(url, rows)
    log(f"  {rows:,} rows written in {time.perf_counter() - started:.1f} s")
    naive_ws = stall_workspace(bench, "ws-lockstall", [("0000_load_items_value_idx_and_fk", STALL_SQL)])
    safe_ws = stall_workspace(bench, "ws-lockstall-safe", [(tag, text) for tag, text, _ in STALL_SAFE])

    def reset() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(STALL_INDEX_NAME)))
            conn.execute(
                sql.SQL("ALTER TABLE load_items DROP CONSTRAINT IF EXISTS {}").format(sql.Identifier(STALL_FK_NAME))
            )
            conn.execute("DROP SCHEMA IF EXISTS drizzle CASCADE")
            conn.execute("DELETE FROM load_items WHERE id > %s", [rows])
            conn.execute("VACUUM ANALYZE load_items")

    def check(path: StallPath) -> None:
        bench.expect_rows(db, path.migrations, path.name)(0)
        with psycopg.connect(url) as conn:
            found = conn.execute(
                "select (select indisvalid from pg_index where indexrelid = to_regclass(%s)), "
                "(select convalidated from pg_constraint where conname = %s and conrelid = 'load_items'::regclass)",
                [f"public.{STALL_INDEX_NAME}", STALL_FK_NAME],
            ).fetchone()
        if found != (True, True):
            raise BenchError(f"{path.name}: expected a valid index and a validated constraint, found {found}")

    paths: list[StallPath] = []
    drizzle_argv = [bench.node or "node", "node_modules/drizzle-kit/bin.cjs", "migrate"]
    drizzle_env = {**os.environ, "DATABASE_URL": url}

    def drizzle_shown(ws: Path) -> str:
        return f"(cd {bench.rel(ws)} && {bench.show(['node', *drizzle_argv[1:]], url, {'DATABASE_URL': url})})"

    if bench.has_drizzle:
        paths.append(
            StallPath(
                "naive-drizzle",
                "naive: drizzle-kit via node (the generated migration, one transaction)",
                drizzle_argv,
                naive_ws,
                drizzle_env,
                drizzle_shown(naive_ws),
                1,
                [],
            )
        )
    else:
        case.notes.append(drizzle_note(bench))
    for key, name, ws, count in (
        ("naive-inv", "naive: inv migrate (the same generated migration, one transaction)", naive_ws, 1),
        ("safe-inv", "lock-safe: inv migrate (3 migrations: CONCURRENTLY, NOT VALID, VALIDATE)", safe_ws, 3),
    ):
        argv = bench.inv_cmd("migrate", url, ws)
        paths.append(StallPath(key, name, argv, ROOT, bench.inv_env, bench.show(["inv", *argv[1:]], url), count, []))
    for i in range(runs):
        for path in paths:
            reset()
            path.runs.append(stall_run(bench, url, path.argv, path.cwd, path.env))
            check(path)
            r = path.runs[-1]
            log(
                f"  run {i + 1}, {path.key}: longest write {seconds(r.longest)}, p99 {seconds(r.p99_during)}, "
                f"{r.failed} failed, migration {seconds(r.migration)}"
            )
    by = {p.key: p for p in paths}
    safe = by["safe-inv"]
    naive = by.get("naive-drizzle") or by["naive-inv"]

    def rel(a: float, b: float) -> str:
        if b <= 0:
            return "–"
        r = a / b
        return f"{r:.3f}× (1/{1 / r:.0f})" if 0 < r < 0.1 else times(r)

    def shorter(a: float, b: float) -> str:
        return f"{b / a:.0f}× shorter" if 0 < a < b else f"{a / b:.2f}× as long" if b > 0 else "–"

    lines = [
        f"**Write latency around the migration** ({runs} run(s) per path, in turns; medians over runs, the worst "
        f"run in brackets; a write is stalled when it takes over {STALL_SLOW * 1000:.0f} ms; a failed write is one "
        "the server refused; the × columns are against the naive path applied by "
        f"{'drizzle-kit' if naive.key == 'naive-drizzle' else '`inv migrate` (drizzle-kit not installed)'})",
        "",
        "| path and command | migration (process) | × naive | longest write | × naive | p99 write during | "
        "stalled writes | failed writes | p50 write before | writes/s before → during |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in paths:
        lines.append(
            f"| {p.name}: `{p.shown}` | {seconds(p.median('migration'))} ({seconds(p.worst('migration'))}) | "
            f"{rel(p.median('migration'), naive.median('migration'))} | **{seconds(p.median('longest'))}** "
            f"({seconds(p.worst('longest'))}) | {rel(p.median('longest'), naive.median('longest'))} | "
            f"{seconds(p.median('p99_during'))} ({seconds(p.worst('p99_during'))}) | {p.median('slow'):.0f} | "
            f"{p.median('failed'):.0f} ({p.worst('failed'):.0f}) | {seconds(p.median('p50_before'))} | "
            f"{p.median('rate_before'):.0f} → {p.median('rate_during'):.0f} |"
        )
    failed_total = sum(r.failed_all for p in paths for r in p.runs)
    lines += [
        "",
        f"Failed writes over the whole load (before, during and after the migrations, all runs of all paths): "
        f"{failed_total}.",
    ]
    if bench.has_drizzle:
        case.notes.append(drizzle_on_lock_safe(bench, db, drizzle_argv, safe_ws, drizzle_env, reset))
    case.extra = "\n".join(lines)
    worst_safe = safe.worst("longest")
    safe_failed = sum(r.failed for r in safe.runs)
    naive_label = "drizzle-kit" if naive.key == "naive-drizzle" else "`inv migrate`, naive SQL"
    case.headline.append(
        f"Lock stall ({rows:,} rows under single-row writes; an index and a foreign key added): the naive "
        f"migration applied by {naive_label} blocks writes up to {seconds(naive.median('longest'))} "
        f"(migration {seconds(naive.median('migration'))}); the lock-safe path with `inv migrate` (CONCURRENTLY, "
        f"NOT VALID, VALIDATE) keeps the longest write at {seconds(safe.median('longest'))} "
        f"({shorter(safe.median('longest'), naive.median('longest'))} than the naive stall; worst run "
        f"{seconds(worst_safe)}), p99 {seconds(safe.median('p99_during'))}, {safe_failed} failed writes, for a "
        f"migration of {seconds(safe.median('migration'))} "
        f"({rel(safe.median('migration'), naive.median('migration'))} the naive one's)."
    )
    at_full = rows >= 1_000_000
    case.goals.append(
        Goal(
            "lock stall",
            f"worst write stall ≤ {STALL_SLOW * 1000:.0f} ms on the lock-safe path (naive: the full build time)",
            f"{seconds(worst_safe)} longest write in the worst of {runs} run(s) "
            f"(median {seconds(safe.median('longest'))}, p99 {seconds(safe.median('p99_during'))}, "
            f"{safe_failed} failed writes); naive ({naive_label}): "
            f"{seconds(naive.median('longest'))}; the lock-safe median "
            f"{shorter(safe.median('longest'), naive.median('longest'))}"
            + ("" if at_full else f" (quick mode: {rows:,} rows, the goal is at 1,000,000)"),
            (worst_safe <= STALL_SLOW and safe_failed == 0) if at_full else None,
        )
    )
    case.notes.append(
        "No `lock_timeout` was set: the harness runs `inv migrate --url` without `--env`, and `inv migrate` has no "
        "flag for it. In production, run the lock-safe migrations with an environment's `lock_timeout` (`--env`), "
        "so the brief lock of the `NOT VALID` step can't queue writes behind a long-running transaction."
    )
    case.notes.append(
        "The workspaces hold only these migrations (the tables exist already: `write_load.setup`), and minimal "
        "snapshots (neither runner reads them when migrating)."
    )
    safe_sql = "\n\n".join(
        f"-- drizzle/{tag}.sql  (hand edit: {edit.replace('`', '')})\n{text}" for tag, text, edit in STALL_SAFE
    )
    case.extra += (
        "\n\nThe naive migration, exactly as `drizzle-kit generate` 0.31.11 writes it for the two schema changes "
        "(`drizzle/0000_load_items_value_idx_and_fk.sql`):\n\n```sql\n" + STALL_SQL + "\n```\n\n"
        "The lock-safe migrations: drizzle-kit's output for the same changes made one at a time (`generate` after "
        "adding the index, `generate` after adding the reference, `generate --custom` for an empty migration), "
        "with the parts a person edits in: "
        + "; ".join(f"`{tag}`: {edit}" for tag, _, edit in STALL_SAFE)
        + ". Everything else is drizzle-kit's text, byte for byte.\n\n```sql\n"
        + safe_sql
        + "\n```"
    )
    case.reproduce = [
        "export BENCH_TMP=$(mktemp -d)",
        "export URL   # the bench_lockstall database, on 127.0.0.1",
        f"python -c 'import os; from benchmarks import write_load; write_load.setup(os.environ[\"URL\"], {rows})'",
        "# $BENCH_TMP/ws-lockstall: one migration holding STALL_SQL; $BENCH_TMP/ws-lockstall-safe: the three of "
        "STALL_SAFE (benchmarks/run.py, stall_workspace)",
        f"# for each command below: start the load, wait {STALL_LEAD_IN:.0f} s, migrate, wait 1 s, stop the load "
        "(kill %1); then drop "
        f"the index, the constraint and the drizzle schema, and delete the rows with id > {rows}",
        f"BENCH_LOAD_URL=$URL python -m benchmarks.write_load --max-seconds {STALL_LOAD_SECONDS} "
        f"--max-writes {STALL_LOAD_WRITES} --out $BENCH_TMP/load.json &",
        *[p.shown for p in paths],
    ]
    bench.drop(db)
    return case


def drizzle_on_lock_safe(
    bench: Bench, db: str, argv: list[str], ws: Path, env: dict[str, str], reset: Callable[[], None]
) -> str:
    """Once, untimed, no load: can drizzle-kit apply the lock-safe migrations? The server's log says why not."""
    server_log = Path(bench.server.details.get("base_dir", "")) / "server.log"
    offset = server_log.stat().st_size if server_log.is_file() else None
    reset()
    try:
        run_process(argv, cwd=ws, env=env, redact=bench.redact)
        outcome = "exits 0 (unexpected)"
    except BenchError as exc:
        code = re.search(r"exited (-?\d+)", str(exc))
        outcome = f"exits {code.group(1) if code else 'non-zero'} and prints no error"
    applied = bench.applied_rows(db)
    reason = ""
    if offset is not None:
        with server_log.open("rb") as f:
            f.seek(offset)
            errors = [line for line in f.read().decode(errors="replace").splitlines() if "ERROR:" in line]
        if errors:
            reason = f"; the server's log: `{bench.redact(errors[0].split('ERROR:', 1)[1].strip())}`"
    reset()
    return (
        f"drizzle-kit cannot apply the lock-safe migrations: `node node_modules/drizzle-kit/bin.cjs migrate` on "
        f"them (run once, untimed, without load) {outcome}, and {applied} of the {len(STALL_SAFE)} migrations are "
        f"recorded afterwards{reason}. It runs all pending migrations in one transaction, and Postgres refuses "
        "`CREATE INDEX CONCURRENTLY` inside one; so the lock-safe path is measured with `inv migrate` only."
    )


# -- machine and run information -----------------------------------------------------------------


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory() -> str:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def os_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return f"{line.split('=', 1)[1].strip(chr(34))} (Linux {platform.release()})"
    return platform.platform()


def file_creation_probe(folder: Path, count: int = 300) -> float:
    """Seconds to create ``count`` files of 8 KiB in a new folder under ``folder``: what CREATE DATABASE and
    initdb do by the hundred, so a slow file system shows here before it shows in their figures."""
    probe = Path(tempfile.mkdtemp(prefix="files-probe-", dir=folder))
    try:
        started = time.perf_counter()
        for i in range(count):
            (probe / f"f{i}").write_bytes(b"x" * 8192)
        return time.perf_counter() - started
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def file_system(path: Path) -> str:
    """The type of the file system holding ``path`` (the longest mount point above it)."""
    best, kind = "", "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and str(path.resolve()).startswith(fields[1]) and len(fields[1]) > len(best):
                best, kind = fields[1], fields[2]
    return kind


def machine_info(bench: Bench) -> list[tuple[str, str]]:
    version = bench.admin.execute("select version()").fetchone()
    pg_version = str(version[0]) if version else "unknown"
    settings = ", ".join(s for s in SERVER_SETTINGS if not s.startswith("listen"))
    info = [
        ("CPU", f"{cpu_model()}, {os.cpu_count()} cores"),
        ("Memory", memory()),
        ("OS", os_name()),
        ("PostgreSQL", f"{pg_version.split(',')[0]}; local throwaway cluster ({settings}), TCP on 127.0.0.1"),
        (
            "Python",
            f"{platform.python_implementation()} {platform.python_version()} (`{bench.redact(bench.inv)}`); "
            f"invoke {package_version('invoke')}, psycopg {package_version('psycopg')} "
            f"(libpq {psycopg.pq.version()}), rich {package_version('rich')}",
        ),
    ]
    if bench.has_drizzle:
        orm = node_package_version(bench.node_modules, "drizzle-orm")
        pg_node = node_package_version(bench.node_modules, "pg")
        node_v = output_of([bench.node or "node", "--version"])
        npm_v = output_of(["npm", "--version"])
        info.append(
            ("drizzle-kit", f"{bench.drizzle_kit} (drizzle-orm {orm}, pg {pg_node}; Node {node_v}, npm {npm_v})")
        )
    else:
        info.append(("drizzle-kit", "not installed (no baselines)"))
    info.append(("Load average (1 min) at start / end", f"{bench.load_start:.2f} / {os.getloadavg()[0]:.2f}"))
    temp = Path(tempfile.gettempdir())
    info.append(
        (
            "Temporary folder",
            f"`{temp}` ({file_system(temp)}): the server's data directory and the workspaces; creating 300 files of "
            f"8 KiB there took {seconds(bench.files_probe)} at the start (a slow file system slows `CREATE DATABASE` "
            "and initdb, which create files by the hundred)",
        )
    )
    info.append(("psql", output_of([bench.psql or "psql", "--version"]) or "–"))
    docker_v = output_of(["docker", "version", "--format", "{{.Server.Version}}"])
    info.append(("Docker engine", docker_v or "not running"))
    return info


def commit_info() -> str:
    commit = output_of(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT) or "unknown"
    dirty = output_of(["git", "status", "--porcelain", "--", "src", "tasks.py", "invoke.yaml", "benchmarks"], cwd=ROOT)
    return f"{commit}{' + uncommitted changes in src/tasks/benchmarks' if dirty else ''}"


def method_lines(options: Options) -> list[str]:
    warmup = f"{options.warmup} untimed warm-up run" if options.warmup else "no warm-up run (quick mode)"
    scale_runs = ", ".join(f"{options.scale_runs[n]} at {n:,}" for n in options.scale_sizes)
    return [
        f"Whole processes, started from Python with `subprocess.Popen` and reaped with `os.wait4` (wall time "
        f"from fork to exit, and `ru_maxrss` for peak memory): {warmup}, then "
        f"{options.runs} timed runs per command ({scale_runs} in the scale case, {options.history_runs} per "
        "size in the long-history case); "
        "min / median / max reported, ratios are median over median. Commands compared with each other run in "
        "turns (A B C, A B C, …), so a busy spell of the machine falls on all of them alike.",
        "CPU is the median user + system time of the process (and of the children it waited for, for npx): "
        "less sensitive than wall time to other work on the machine (see the load average above).",
        "One throwaway PostgreSQL server for the whole run; every run gets its own database, dropped and created "
        "before the run (never timed). Output goes to files, not a terminal (no spinner, no colour).",
        "`inv` is the console script of the interpreter that runs the harness (no pyenv shim, which adds about "
        "0.1 s per start); run from the repository root with `--url`, so the URL resolution never starts a server.",
        "drizzle-kit gets the database through `DATABASE_URL`, which the workspace's `drizzle.config.ts` reads.",
        "Commands below show `$URL` for the database URL (it holds a generated password) and `$BENCH_TMP` for "
        "the run's temporary folder.",
    ]


def setup_lines(quick: bool) -> list[str]:
    return [
        "python -m pip install -e . pyinstrument",
        f"(cd {EXAMPLE_REL} && npm ci --no-audit --no-fund)",
        "nox -s bench                                        # full run: writes benchmarks/results.md",
        "PYTHONPATH=. python -m benchmarks.run              # the same without nox",
        "PYTHONPATH=. python -m benchmarks.run --quick --out /tmp/bench-quick.md   # the CI variant",
    ]


# -- main ----------------------------------------------------------------------------------------

CASE_FUNCS: dict[str, Callable[[Bench], CaseResult]] = {
    "noop": case_noop,
    "fresh": case_fresh,
    "scale": case_scale,
    "history": case_history,
    "testdb": case_testdb,
    "server": case_server,
    "lockstall": case_lockstall,
}
TITLES = {
    "noop": "No-op: nothing pending",
    "fresh": "Fresh apply: the example workspace on an empty database",
    "scale": "Scale: generated migrations",
    "history": "Long history: `inv status` and no-op `inv migrate` at 1,000 against 10 migrations",
    "testdb": "Test database: a fresh migrated database per test",
    "server": "Disposable server: start to first query",
    "lockstall": "Lock stall: writes during a migration that adds an index and a foreign key",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Benchmarks against baselines measured in the same run; writes a Markdown report.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer runs, scale and history cases up to 100 migrations (CI: keeps the harness alive)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"report path (default: {DEFAULT_OUT.relative_to(ROOT)} for a full run of every case, else {QUICK_OUT})",
    )
    parser.add_argument(
        "--cases",
        default=",".join(CASES),
        help=f"comma-separated subset of {','.join(CASES)} (default: all)",
    )
    parser.add_argument("--runs", type=int, default=None, help="timed runs per command (default 7, quick 3)")
    parser.add_argument("--no-profile", action="store_true", help="skip the pyinstrument profiles")
    args = parser.parse_args(argv)
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    if args.runs is not None and args.runs < (1 if args.quick else 5):
        parser.error("--runs must be at least 5 in a full run (1 with --quick)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = options_for(args.quick, args.runs, args.no_profile)
    # only a full run of every case replaces the committed report unless --out says otherwise
    partial = args.quick or set(args.cases) != set(CASES)
    out = args.out or (QUICK_OUT if partial else DEFAULT_OUT)
    command = "python -m benchmarks.run" + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    began = time.perf_counter()
    started_at = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    tmp = Path(tempfile.mkdtemp(prefix="drizzle-ops-bench-"))
    log(f"benchmarks ({'quick' if args.quick else 'full'}): starting a throwaway PostgreSQL server …")
    server = LocalProvider().up()
    failed: list[str] = []
    results: list[CaseResult] = []
    try:
        bench = Bench(server, options, tmp)
        for key in args.cases:
            log(f"[{key}]")
            case_began = time.perf_counter()
            try:
                results.append(CASE_FUNCS[key](bench))
                results[-1].seconds = time.perf_counter() - case_began
                log(f"  ({results[-1].seconds:.0f} s)")
            except Exception as exc:  # record and go on: one broken case must not hide the others
                message = bench.redact(f"{type(exc).__name__}: {exc}")
                log(f"  FAILED: {message}")
                log(bench.redact(traceback.format_exc()))
                failed.append(key)
                results.append(CaseResult(key, TITLES[key], "", skipped=f"the case failed in this run: {message}"))
        info = RunInfo(
            mode="quick" if args.quick else "full",
            started=started_at,
            seconds=time.perf_counter() - began,
            commit=commit_info(),
            command=command,
            machine=machine_info(bench),
            method=method_lines(options),
            setup=setup_lines(args.quick),
        )
        bench.admin.close()
    finally:
        LocalProvider().down(server)
        shutil.rmtree(tmp, ignore_errors=True)
    info.seconds = time.perf_counter() - began
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(info, results))
    log(f"report written to {out} ({info.seconds:.0f} s)")
    if failed:
        log(f"failed cases: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
