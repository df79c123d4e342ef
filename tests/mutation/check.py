"""Mutation check: silence each kind of difference verify reports, and expect its test to fail.

For each kind in tests/difference_kinds.py, a scratch copy of the package gets a
compare.py whose one ``self.add(…)`` call for that kind is replaced by ``None``
(tests/mutation/sites.py), and that kind's case in
tests/integration/test_difference_kinds.py runs against the copy (PYTHONPATH
first). The case must fail: a mutant that passes means the tests no longer see
that kind. First the unchanged copy must pass every case, so a failure means the
mutant, not the machine.

One PostgreSQL server serves every run (each run makes its own database on it):
a local one from the machine's binaries (DRIZZLE_OPS_TEST_PG picks the major), or
the one DRIZZLE_OPS_TEST_URL names. Without either it says so and stops, an
error when DRIZZLE_OPS_REQUIRE_ALL is set (CI), as the tests do.

    python -m tests.mutation.check [--only KIND …] [--jobs N]

Exit 0: every mutant was caught; 1: some survived (named); 2: the check itself could not run.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from devtools.provision import REQUIRE_ALL, require_all
from drizzle_ops.disposable.base import Server
from drizzle_ops.disposable.local import LocalProvider, has_binaries
from tests.difference_kinds import KINDS, Kind
from tests.helpers import NO_PG_BINARIES
from tests.mutation.sites import COMPARE, disable, find, report_sites

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "drizzle_ops"
TESTS = "tests/integration/test_difference_kinds.py"
CASE = TESTS + "::test_each_kind_of_difference_is_reported[{}]"
PREFIX = "[mutation]"


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    verdict: str  # "caught", "survived", "error" or "not run"
    seconds: float
    detail: str = ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation.check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="KIND", help="check only these kinds (ids in difference_kinds)")
    parser.add_argument(
        "--jobs", type=int, default=min(4, os.cpu_count() or 1), help="mutants run at once (default: cores, ≤ 4)"
    )
    args = parser.parse_args(argv)
    kinds = KINDS
    if args.only:
        unknown = sorted(set(args.only) - {k.id for k in KINDS})
        if unknown:
            print(f"{PREFIX} error: no such kind: {', '.join(unknown)}; see tests/difference_kinds.py", file=sys.stderr)
            return 2
        kinds = [k for k in KINDS if k.id in args.only]
    if args.jobs < 1:
        print(f"{PREFIX} error: --jobs must be 1 or more", file=sys.stderr)
        return 2
    source = COMPARE.read_text()
    sites = report_sites(source)
    if len(sites) != len(KINDS) or any(len(find(sites, k.function, k.marker)) != 1 for k in KINDS):
        print(
            f"{PREFIX} error: tests/difference_kinds.py does not name each report of compare.py once; "
            "run tests/unit/test_difference_kinds.py to see which",
            file=sys.stderr,
        )
        return 2
    if not os.environ.get("DRIZZLE_OPS_TEST_URL") and not has_binaries(os.environ.get("DRIZZLE_OPS_TEST_PG")):
        if require_all():
            print(f"{PREFIX} error: {NO_PG_BINARIES} ({REQUIRE_ALL} is set: required)", file=sys.stderr)
            return 2
        print(f"{PREFIX} skipped: {NO_PG_BINARIES}", file=sys.stderr)
        return 0
    started = time.monotonic()
    with server_url() as (url, version), tempfile.TemporaryDirectory(prefix="drizzle-ops-mutation-") as scratch:
        base = Path(scratch) / "unchanged"
        shutil.copytree(PACKAGE, base / "drizzle_ops", ignore=shutil.ignore_patterns("__pycache__"))
        # compiled once here (even where PYTHONDONTWRITEBYTECODE is set), so a run does not compile the package again
        compileall.compile_dir(base / "drizzle_ops", quiet=1)
        problem = baseline(base, url)
        if problem:
            print(f"{PREFIX} error: {problem}", file=sys.stderr)
            return 2

        def one(kind: Kind) -> Outcome:
            if version < kind.min_server:
                return Outcome(kind, "not run", 0.0, f"needs PostgreSQL {kind.min_server // 10000} or later")
            (site,) = find(sites, kind.function, kind.marker)
            folder = Path(scratch) / kind.id
            # the unchanged copy's compiled modules come along (mtimes kept), so only compare.py compiles again
            shutil.copytree(base / "drizzle_ops", folder / "drizzle_ops")
            (folder / "drizzle_ops" / "verify" / "compare.py").write_text(disable(source, site))
            return run_mutant(kind, folder, url)

        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            outcomes = list(pool.map(one, kinds))
    for outcome in outcomes:
        note = f" ({outcome.detail})" if outcome.detail else ""
        print(f"{PREFIX} {outcome.verdict:<8} {outcome.kind.id} in {outcome.seconds:.1f}s{note}")
    by = {v: [o.kind.id for o in outcomes if o.verdict == v] for v in ("caught", "survived", "error", "not run")}
    print(
        f"{PREFIX} {len(outcomes)} kinds in {time.monotonic() - started:.0f}s: {len(by['caught'])} caught, "
        f"{len(by['survived'])} survived, {len(by['error'])} errors, {len(by['not run'])} not run"
    )
    if by["survived"]:
        print(
            f"{PREFIX} error: no test fails when compare.py stops reporting: {', '.join(by['survived'])}; "
            "give each a case in tests/difference_kinds.py that shows it",
            file=sys.stderr,
        )
        return 1
    if by["error"]:
        print(f"{PREFIX} error: the tests could not run for: {', '.join(by['error'])}", file=sys.stderr)
        return 2
    return 0


def baseline(folder: Path, url: str) -> str | None:
    """Why the unchanged copy cannot serve as a baseline, or None: it must be what Python imports, and pass."""
    found = subprocess.run(
        [sys.executable, "-c", "import drizzle_ops; print(drizzle_ops.__file__)"],
        env=environment(folder, url),
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not found.startswith(str(folder)):
        return f"PYTHONPATH does not win over the installed package (drizzle_ops comes from {found or 'nowhere'})"
    done = pytest_run([TESTS], folder, url)
    if done.returncode != 0:
        return f"the unchanged code fails {TESTS}:\n{tail(done.stdout)}"
    return None


def run_mutant(kind: Kind, folder: Path, url: str) -> Outcome:
    started = time.monotonic()
    done = pytest_run([CASE.format(kind.id)], folder, url)
    seconds = time.monotonic() - started
    if done.returncode == 1:  # pytest: tests ran and some failed
        return Outcome(kind, "caught", seconds)
    if done.returncode == 0:
        return Outcome(kind, "survived", seconds, f"{TESTS} passes with {kind.function}()'s report silenced")
    return Outcome(kind, "error", seconds, f"pytest exit {done.returncode}:\n{tail(done.stdout)}")


def pytest_run(selection: list[str], folder: Path, url: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-p", "no:xdist", *selection]
    return subprocess.run(command, cwd=ROOT, env=environment(folder, url), capture_output=True, text=True)


def environment(folder: Path, url: str) -> dict[str, str]:
    """The copy first on the path; the shared server by URL (an environment variable: it holds a password)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DRIZZLE_OPS_TEST_PG")}
    env.update(PYTHONPATH=str(folder), DRIZZLE_OPS_TEST_BACKEND="url", DRIZZLE_OPS_TEST_URL=url)
    return env


def tail(output: str, lines: int = 15) -> str:
    return "\n".join(output.strip().splitlines()[-lines:])


@contextmanager
def server_url() -> Iterator[tuple[str, int]]:
    """The server every run shares: DRIZZLE_OPS_TEST_URL's, or a local one started here and removed after."""
    given = os.environ.get("DRIZZLE_OPS_TEST_URL")
    if given:
        yield given, _version(given)
        return
    provider = LocalProvider()
    previous = signal.signal(signal.SIGTERM, _interrupt)  # nox stops a session with SIGTERM: still remove the server
    server: Server = provider.up(major=os.environ.get("DRIZZLE_OPS_TEST_PG"))
    try:
        yield server.url, _version(server.url)
    finally:
        provider.down(server)
        signal.signal(signal.SIGTERM, previous)


def _version(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.info.server_version


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
