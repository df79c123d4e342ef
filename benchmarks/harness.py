"""What every case shares: the run's options, and ``Bench``, one throwaway server with its helpers.

``Bench`` creates and checks the databases a case times against, builds the ``inv`` commands and times
them (see timing.py), and keeps secrets out of what the report shows (``$URL``, ``$BENCH_TMP``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from benchmarks.paths import EXAMPLE, ROOT
from benchmarks.probes import file_creation_probe, node_package_version
from benchmarks.report import seconds
from benchmarks.timing import BenchError, Measurement, ProcessSpec, display_command, measure_round_robin
from drizzle_ops.disposable.base import Server
from drizzle_ops.disposable.local import LocalProvider
from drizzle_ops.engine import connection

MIGRATIONS = sql.SQL("{}.{}").format(sql.Identifier("drizzle"), sql.Identifier("__drizzle_migrations"))


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
        text = connection.redact(text, self.server.url)
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


@contextlib.contextmanager
def session(options: Options) -> Iterator[Bench]:
    """One throwaway server and temporary folder for the whole run, removed however the run ends."""
    tmp = Path(tempfile.mkdtemp(prefix="drizzle-ops-bench-"))
    server = LocalProvider().up()
    try:
        bench = Bench(server, options, tmp)
        yield bench
        bench.admin.close()
    finally:
        LocalProvider().down(server)
        shutil.rmtree(tmp, ignore_errors=True)
