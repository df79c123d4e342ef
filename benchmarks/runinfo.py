"""What the report says about the run itself: the machine, the versions, the commit, the method, the set-up."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from benchmarks.paths import EXAMPLE_REL, ROOT
from benchmarks.probes import node_package_version
from benchmarks.report import seconds
from drizzle_ops.disposable.local import SERVER_SETTINGS

if TYPE_CHECKING:  # harness imports this module: the types alone, to avoid an import cycle
    from benchmarks.harness import Bench, Options


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
