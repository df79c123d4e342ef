"""Render the benchmark results as Markdown (benchmarks/results.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmarks.timing import Measurement, ratio


@dataclass
class Goal:
    case: str
    goal: str
    measured: str
    met: bool | None  # None: not measured in this run


@dataclass
class MeasureTable:
    """Rows measured in one case; each ``baselines`` entry adds a '× label' column (median over median)."""

    title: str
    rows: list[Measurement]
    baselines: list[tuple[str, Measurement | None]] = field(default_factory=list)


@dataclass
class CaseResult:
    key: str
    title: str
    what: str  # what is measured and against what, as Markdown
    tables: list[MeasureTable] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: str = ""  # more Markdown (growth table, profile)
    reproduce: list[str] = field(default_factory=list)  # shell lines
    skipped: str = ""  # why the case did not run
    seconds: float | None = None  # how long the case took, setup included
    headline: list[str] = field(default_factory=list)  # one-line figures for the top of the report


@dataclass
class RunInfo:
    mode: str  # "full" or "quick"
    started: str  # ISO date-time
    seconds: float
    commit: str
    command: str
    machine: list[tuple[str, str]]
    method: list[str]
    setup: list[str]  # shell lines run once before the cases


def seconds(value: float) -> str:
    if round(value * 1000) < 1000:  # 0.9996 s is "1.00 s", not "1000 ms"
        return f"{value * 1000:.0f} ms" if value >= 0.01 else f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


def times(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def signed(value: float) -> str:
    return ("+" if value >= 0 else "−") + seconds(abs(value))


def ratio_goal(
    case: str, goal: str, candidate: Measurement, baseline: Measurement | None, limit: float, detail: str = ""
) -> Goal:
    """A goal 'candidate ≤ limit × baseline', median over median; not measured when the baseline is missing."""
    r = ratio(candidate, baseline)
    measured = times(r)
    if baseline:
        measured += f" ({seconds(candidate.median)} vs {seconds(baseline.median)}{detail})"
    return Goal(case, goal, measured, None if r is None else r <= limit)


def verdict(met: bool | None) -> str:
    return {True: "✅ met", False: "❌ missed", None: "– not measured"}[met]


def measurement_table(table: MeasureTable) -> str:
    header = [
        "command",
        "runs",
        "min",
        "median",
        "max",
        *[f"× {label}" for label, _ in table.baselines],
        "CPU",
        "peak RSS",
    ]
    lines = [f"**{table.title}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for m in table.rows:
        where = f" (in `{m.cwd}`)" if m.cwd else ""
        kind = " *(in-process)*" if m.in_process else ""
        note = f"<br>{m.note}" if m.note else ""
        cells = [
            f"{m.name}: `{m.display}`{where}{kind}{note}",
            f"{m.runs} (+{m.warmup})",
            seconds(m.min),
            f"**{seconds(m.median)}**",
            seconds(m.max),
            *[times(ratio(m, base)) for _, base in table.baselines],
            "–" if m.cpu_median is None else seconds(m.cpu_median),
            "–" if m.peak_rss_mb is None else f"{m.peak_rss_mb:.0f} MB",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def goals_table(goals: Sequence[Goal]) -> str:
    lines = ["| case | goal | measured | verdict |", "|---|---|---|---|"]
    lines += [f"| {g.case} | {g.goal} | {g.measured} | {verdict(g.met)} |" for g in goals]
    return "\n".join(lines)


def render(info: RunInfo, cases: Sequence[CaseResult]) -> str:
    out: list[str] = []
    add = out.append
    add("# drizzle-ops benchmarks")
    add("")
    add(
        f"{info.mode.capitalize()} run of `{info.command}` on {info.started}, commit `{info.commit}`, "
        f"took {info.seconds:.0f} s. Every figure below was measured in this run; every ratio is "
        "median over median against a baseline measured in the same run, on the same server. "
        "Nothing here is asserted by a test: these are measurements."
    )
    if info.mode == "quick":
        add("")
        add(
            "> **Quick mode**: fewer runs, and the scale and long-history cases only up to 100 migrations. It "
            "exists so CI keeps the harness working; use the full run's figures, not these."
        )
    add("")
    headlines = [h for c in cases for h in c.headline]
    if headlines:
        add("## Headline figures")
        add("")
        for line in headlines:
            add(f"- {line}")
        add("")
    add("## Goals")
    add("")
    add(goals_table([g for c in cases for g in c.goals]))
    add("")
    add("## Machine")
    add("")
    add("| | |")
    add("|---|---|")
    for key, value in info.machine:
        add(f"| {key} | {value} |")
    add("")
    add("## Method")
    add("")
    for line in info.method:
        add(f"- {line}")
    add("")
    for case in cases:
        add(f"## {case.title}")
        add("")
        if case.seconds is not None:
            add(f"*This case took {case.seconds:.0f} s in this run, setup included.*")
            add("")
        if case.skipped:
            add(f"**Not measured:** {case.skipped}")
            add("")
        add(case.what)
        add("")
        for table in case.tables:
            add(measurement_table(table))
            add("")
        if case.extra:
            add(case.extra)
            add("")
        if case.goals:
            add(goals_table(case.goals))
            add("")
        for note in case.notes:
            add(f"- {note}")
        if case.notes:
            add("")
    add("## Reproduce")
    add("")
    add("From the repository root (PostgreSQL server binaries, `psql`, Node 20 and npm installed):")
    add("")
    add("```sh")
    add("\n".join(info.setup))
    add("```")
    add("")
    add(
        "The harness starts its own throwaway server (`LocalProvider`, `initdb` + `pg_ctl`) and gives every "
        "run its own database, created (untimed) before the run. To repeat one measurement by hand, start a "
        "server (`inv db.up --provider local`), set `ADMIN_URL` to its URL (`inv db.url --reveal`) and `URL` to "
        "the same URL with the case's database name instead of `postgres` (`bench_fresh`, `bench_scale`, …), "
        "create that database, and run the commands below."
    )
    add("")
    for case in cases:
        if not case.reproduce:
            continue
        add(f"{case.title}:")
        add("")
        add("```sh")
        add("\n".join(case.reproduce))
        add("```")
        add("")
    return "\n".join(out).rstrip() + "\n"
