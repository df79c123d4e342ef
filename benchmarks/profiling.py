"""Where the time of one `inv` run goes: a pyinstrument call tree and `python -X importtime`."""

from __future__ import annotations

import importlib.util
import re
import statistics
import subprocess

from benchmarks.harness import Bench
from benchmarks.paths import ROOT
from benchmarks.report import seconds
from benchmarks.timing import run_process


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
