"""The start-up budget of the hot path: what `status` and a no-op `migrate` import, and what that costs.

`nox -s importtime` runs this, and so does `nox` (so CI): it is the guard that start-up does not grow back.
Everything is compared with THE FLOOR, what no run can avoid: the interpreter with psycopg (the database
driver) and invoke (the task runner), ``python -c 'import psycopg, invoke.program'``. Three checks:

1. Exact: on the example workspace with every migration applied, the four short runs people run most,
   `drizzle-ops status`, `drizzle-ops migrate` (nothing to apply), `inv status` and `inv migrate`, each in a
   fresh interpreter with stdout and stderr on pipes (a CI log), under Python's import timer
   (``PYTHONPROFILEIMPORTTIME``, as ``python -X importtime``), import nothing of FORBIDDEN: rich (it draws at
   a terminal only), pglast (the SQL parser), docker, drizzle-ops' analysis, lint, verify, review and
   down_draft. importlib.metadata and unittest.mock may load, but only from the floor
   (psycopg and invoke each read their own version with it), never from drizzle-ops.
2. Exact: each of those runs imports at most MODULES_OVER_FLOOR modules beyond the floor's: a new dependency,
   or a heavy part loaded too early, shows here first.
3. Time: the CPU time of importing the hot path's modules (the program, the status and migrate tasks),
   against the CPU time of importing the floor in the same interpreter, just before; the median over ROUNDS
   fresh interpreters stays within HOT_PATH_OVER_FLOOR. CPU time, not -X importtime's figures: those are
   wall-clock times, and on a shared machine one preempted import moves them by more than the margin.

Run it by hand from the repository root, in an environment with the project installed:
``python -m devtools.importtime`` starts (and stops) a disposable local server; ``--url`` uses one of yours.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOR_PACKAGES = ("psycopg", "psycopg_binary", "invoke")
# never on the hot path: a module, or a package with everything in it
FORBIDDEN = (
    "rich",
    "pglast",
    "docker",
    "drizzle_ops.analysis",
    "drizzle_ops.lint",
    "drizzle_ops.verify",
    "drizzle_ops.review",
    "drizzle_ops.down_draft",
)
# the floor's packages import these; drizzle-ops itself never does
FLOOR_ONLY = ("importlib.metadata", "unittest.mock")
# Budgets, from the figures of 2026-12 on 2 busy cores. Beyond the floor: 52 modules (46 of drizzle-ops, the
# rest hashlib and secrets); before start-up was trimmed, 108 (rich's 53 among them). The hot path's imports:
# 0.19-0.26 of the floor's CPU time (median 0.22); before, 0.36-0.47 (median 0.39).
MODULES_OVER_FLOOR = 70
HOT_PATH_OVER_FLOOR = 0.33
ROUNDS = 9

# the floor, then the hot path: CPU seconds of each, on one line
TIMED_IMPORTS = """
import time
clock = time.process_time
started = clock()
import psycopg, invoke.program
floor = clock() - started
started = clock()
import drizzle_ops.cli.program, drizzle_ops.cli.status, drizzle_ops.cli.migrate
print(floor, clock() - started)
"""


@dataclass(frozen=True)
class Imports:
    """One run's imports, as Python's import timer printed them."""

    modules: dict[str, int]  # name -> microseconds its own import took (without what it imported)
    importers: dict[str, str]  # name -> the module whose import loaded it

    @classmethod
    def parse(cls, stderr: str) -> Imports:
        """Read ``-X importtime`` lines: each printed when its import ends, so after what it loaded."""
        rows: list[tuple[str, int, int]] = []  # name, microseconds, depth
        for line in stderr.splitlines():
            if not line.startswith("import time:") or "| imported package" in line:
                continue
            own_us, _, shown = line[len("import time:") :].split("|")
            rows.append((shown.strip(), int(own_us), (len(shown) - len(shown.lstrip(" ")) - 1) // 2))
        modules: dict[str, int] = {}
        importers: dict[str, str] = {}
        open_at: dict[int, str] = {}
        for name, alone, depth in reversed(rows):  # reversed: an importer comes before what it loaded
            modules[name] = alone
            open_at[depth] = name
            if depth:
                importers[name] = open_at[depth - 1]
        return cls(modules, importers)

    def importer_outside_stdlib(self, name: str) -> str | None:
        """The nearest module above ``name`` that is not the standard library's (None: the script itself)."""
        current = self.importers.get(name)
        while current is not None and current.split(".")[0] in sys.stdlib_module_names:
            current = self.importers.get(current)
        return current


@dataclass(frozen=True)
class Command:
    label: str
    argv: tuple[str, ...]


def hot_path(url: str) -> list[Command]:
    binaries = Path(sys.executable).parent
    program, inv = str(binaries / "drizzle-ops"), shutil.which("inv", path=str(binaries)) or "inv"
    return [
        Command("drizzle-ops status", (program, "status", "--url", url)),
        Command("drizzle-ops migrate (no-op)", (program, "migrate", "--url", url)),
        Command("inv status", (inv, "status", "--url", url)),
        Command("inv migrate (no-op)", (inv, "migrate", "--url", url)),
    ]


FLOOR_IMPORTS = "import psycopg, invoke.program"
FLOOR = Command(f"floor: python -c '{FLOOR_IMPORTS}'", (sys.executable, "-c", FLOOR_IMPORTS))


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "DATABASE_URL")}
    # cached bytecode, as on a user's machine: without it every run compiles every module again
    env["PYTHONDONTWRITEBYTECODE"] = ""
    return {**env, **extra}


def _run(argv: Sequence[str], *, stdout: bool = False, **extra: str) -> str:
    """Run in a fresh interpreter, stdout and stderr on pipes; what it printed on stderr (or stdout)."""
    done = subprocess.run(
        argv, cwd=ROOT, env=_environment(**extra), stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if not line.startswith("import time:")]
        raise SystemExit(f"{' '.join(argv[:2])} failed (exit {done.returncode}): {' / '.join(lines[-3:])}")
    return done.stdout if stdout else done.stderr


def imports(command: Command) -> Imports:
    return Imports.parse(_run(command.argv, PYTHONPROFILEIMPORTTIME="1"))


def timed_imports(rounds: int) -> list[float]:
    """The hot path's import CPU time over the floor's, once per fresh interpreter."""
    ratios = []
    for _ in range(rounds):
        floor, hot = (float(figure) for figure in _run([sys.executable, "-c", TIMED_IMPORTS], stdout=True).split())
        ratios.append(hot / floor)
    return ratios


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f"{f}.") for f in FORBIDDEN)


def grouped(names: Iterable[str]) -> str:
    """``rich (53 modules), unittest.mock``: modules by their top-level package, a lone one by its name."""
    by_package: dict[str, list[str]] = {}
    for name in sorted(names):
        by_package.setdefault(name.split(".")[0], []).append(name)
    return ", ".join(f"{p} ({len(ns)} modules)" if len(ns) > 1 else ns[0] for p, ns in sorted(by_package.items()))


def problems(command: Command, run: Imports, floor: Imports) -> list[str]:
    """What is wrong with what ``command`` imports, a line each (none: within the budget)."""
    found = []
    forbidden = [name for name in run.modules if _forbidden(name)]
    if forbidden:
        found.append(f"{command.label} imports {grouped(forbidden)}: nothing of it belongs on the hot path")
    for name in FLOOR_ONLY:
        importer = run.importer_outside_stdlib(name)
        if name in run.modules and (importer or "").split(".")[0] not in FLOOR_PACKAGES:
            found.append(f"{command.label}: {importer or 'the script'} imports {name}; only psycopg or invoke may")
    extra = set(run.modules) - set(floor.modules)
    if len(extra) > MODULES_OVER_FLOOR:
        found.append(
            f"{command.label} imports {len(extra)} modules beyond the floor, over the budget of "
            f"{MODULES_OVER_FLOOR}: {grouped(extra)}"
        )
    return found


def report(measured: dict[Command, Imports], floor: Imports, ratios: Sequence[float]) -> str:
    lines = ["| run (stdout and stderr on pipes) | modules imported | beyond the floor |", "|---|---|---|"]
    lines.append(f"| {FLOOR.label} | {len(floor.modules)} | – |")
    for command, run in measured.items():
        lines.append(f"| {command.label} | {len(run.modules)} | {len(set(run.modules) - set(floor.modules))} |")
    lines += [
        "",
        f"budget: at most {MODULES_OVER_FLOOR} modules beyond the floor; none of {', '.join(FORBIDDEN)}",
        f"the hot path's imports against the floor's, CPU time, median of {len(ratios)} interpreters: "
        f"{statistics.median(ratios):.2f} (from {min(ratios):.2f} to {max(ratios):.2f}; budget {HOT_PATH_OVER_FLOOR})",
    ]
    return "\n".join(lines)


@contextmanager
def disposable_server() -> Iterator[str]:
    """A disposable local server (`inv db.up`, as the tests start theirs), in a state folder of its own; its URL."""
    with tempfile.TemporaryDirectory(prefix="drizzle-ops-importtime-") as state:
        env = _environment(INVOKE_DRIZZLE_OPS_STATE_DIR=state)
        inv = shutil.which("inv", path=str(Path(sys.executable).parent)) or "inv"
        subprocess.run([inv, "db.up", "--provider", "local"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        try:
            reveal = [inv, "db.url", "--reveal"]
            yield subprocess.run(reveal, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout.strip()
        finally:
            subprocess.run([inv, "db.down"], cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL)


@contextmanager
def given(url: str) -> Iterator[str]:
    yield url


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The start-up budget of `status` and a no-op `migrate`.")
    parser.add_argument("--url", help="a server to use (default: a disposable one, started and stopped here)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"interpreters timed (default {ROUNDS})")
    args = parser.parse_args(argv)
    with disposable_server() if args.url is None else given(args.url) as url:
        commands = hot_path(url)
        _run(commands[1].argv)  # the example's migrations applied, so each migrate below has nothing to do
        _run(commands[0].argv)  # and the bytecode of every module cached
        measured = {command: imports(command) for command in commands}
    floor = imports(FLOOR)
    ratios = timed_imports(args.rounds)
    print(report(measured, floor, ratios))
    found = [line for command, run in measured.items() for line in problems(command, run, floor)]
    if statistics.median(ratios) > HOT_PATH_OVER_FLOOR:
        found.append(
            f"the hot path's imports take {statistics.median(ratios):.2f} of the floor's CPU time, over the "
            f"budget of {HOT_PATH_OVER_FLOOR}: see what it imports beyond the floor (above) and what grew"
        )
    for line in found:
        print(f"error: {line}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
