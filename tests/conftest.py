"""Test fixtures: one disposable PostgreSQL server per session, a fresh database per test.

The backend is chosen with --backend (or DRIZZLE_OPS_TEST_BACKEND): ``local``
(initdb + pg_ctl), ``docker`` (a postgres:<major> container), or ``url`` (an
existing server given by --server-url / DRIZZLE_OPS_TEST_URL, where each test
still gets its own database). --pg / DRIZZLE_OPS_TEST_PG picks the major.

Nothing is skipped quietly. What a machine may lack (drizzle-kit, Docker,
squawk, server binaries) goes through ``tests.helpers.require``: skipped with
the reason, failed when DRIZZLE_OPS_REQUIRE_ALL is set (CI). What belongs to
another backend's session is deselected at collection, with the reason. Every
run ends with the count of both and their reasons.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import uuid
from collections import Counter
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from psycopg import sql

from drizzle_ops.disposable.base import Server
from tests.helpers import EXAMPLE, NO_DOCKER, NO_PG_BINARIES, docker_engine_answers, pg_binaries, require, url_for

if TYPE_CHECKING:
    from tests.pooler import Pooler


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("drizzle-ops")
    group.addoption(
        "--backend",
        default=os.environ.get("DRIZZLE_OPS_TEST_BACKEND", "local"),
        choices=["local", "docker", "url"],
        help="where the test server runs",
    )
    group.addoption("--pg", default=os.environ.get("DRIZZLE_OPS_TEST_PG"), help="PostgreSQL major (local/docker)")
    group.addoption(
        "--server-url",
        default=os.environ.get("DRIZZLE_OPS_TEST_URL"),
        help="an existing server (with --backend url); tests create their own databases on it",
    )


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "requires(condition, reason): skipped unless condition (a bool, or a callable called at set-up); "
        "failed instead when DRIZZLE_OPS_REQUIRE_ALL is set",
        "only_with_backend(backend, reason): deselected in sessions of another --backend",
        "only_when(condition, reason): deselected unless condition",
        "process: runs the program in a process of its own (the real script, or forked with the CLI imported: "
        "tests/processes.py), for what only a process shows (exit status, streams, signals, programs at once); "
        "the rest run it in the test process (tests/inprocess.py)",
    ):
        config.addinivalue_line("markers", line)


DESELECTED: dict[str, str] = {}  # node id -> why it does not run in this session, for the summary at the end


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect what belongs to another session (another backend, an inner session), saying why."""
    backend = config.getoption("--backend")
    kept, dropped = [], []
    for item in items:
        reason = _deselection(item, backend)
        if reason is None:
            kept.append(item)
        else:
            DESELECTED[item.nodeid] = reason
            dropped.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _deselection(item: pytest.Item, backend: str) -> str | None:
    for mark in item.iter_markers("only_with_backend"):
        if mark.args[0] != backend:
            return str(mark.kwargs.get("reason") or f"runs only with the {mark.args[0]} backend")
    for mark in item.iter_markers("only_when"):
        if not mark.args[0]:
            return str(mark.kwargs.get("reason") or "its condition does not hold")
    return None


def pytest_deselected(items: list[pytest.Item]) -> None:
    for item in items:  # ours are recorded with their reason before this; the rest were left out by -k, -m, …
        DESELECTED.setdefault(item.nodeid, "not selected (-k, -m or another plugin)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """The ``requires`` markers, before any fixture starts a server."""
    for mark in item.iter_markers("requires"):
        condition = mark.args[0]
        require(bool(condition() if callable(condition) else condition), str(mark.kwargs["reason"]))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A skip by ``require`` is reported at the test, as a skipif marker's is, not at the helper's line."""
    report: pytest.TestReport = yield
    if report.skipped and isinstance(report.longrepr, tuple) and Path(report.longrepr[0]).name == "helpers.py":
        path, line, _ = item.location
        report.longrepr = (path, (line or 0) + 1, report.longrepr[2])
    return report


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        f"drizzle-ops backend: {config.getoption('--backend')}, "
        f"PostgreSQL major: {config.getoption('--pg') or 'default'}"
    ]


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    backend = request.config.getoption("--backend")
    major = request.config.getoption("--pg")
    if backend == "url":
        url = request.config.getoption("--server-url")
        if not url:
            pytest.exit("--backend url needs --server-url or DRIZZLE_OPS_TEST_URL", returncode=2)
        server = Server(provider="url", url=url, major=major or "?")
        _announce(request, backend, server)
        yield server
        return
    if backend == "docker":
        require(docker_engine_answers(), NO_DOCKER)
        from drizzle_ops.disposable import docker as docker_provider

        docker_provider.remove_orphans("pytest-")  # leftovers of earlier sessions that were killed
        provider = docker_provider.DockerProvider(owner=f"pytest-{os.getpid()}")
    else:
        require(pg_binaries(major), NO_PG_BINARIES if not major else f"{NO_PG_BINARIES} (PostgreSQL {major})")
        from drizzle_ops.disposable.local import LocalProvider

        provider = LocalProvider()
    # nox stops a session with SIGTERM: make it unwind like Ctrl-C, so this server is removed
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    server = provider.up(major=major)
    try:
        _announce(request, backend, server)
        yield server
    finally:
        provider.down(server)
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="session")
def pgbouncer(pg_server: Server) -> Iterator[Pooler]:
    """A real PgBouncer in transaction mode in front of the session's server (tests/pooler.py), stopped at the end
    (on Ctrl-C and SIGTERM too: pg_server turns SIGTERM into KeyboardInterrupt while it runs)."""
    from tests import pooler

    require(pooler.pgbouncer_binary() is not None, pooler.NO_PGBOUNCER)
    with pooler.running(pg_server.url) as running:
        yield running


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


SERVERS_SEEN: set[str] = set()  # "backend docker: PostgreSQL 16.…", for the summary at the end


def _announce(request: pytest.FixtureRequest, backend: str, server: Server) -> None:
    """Say in the log which backend and which server version this session tests, uncaptured."""
    with psycopg.connect(server.url) as conn:
        version = conn.execute("select version()").fetchone()[0]
    line = f"backend {backend}: {version}"
    SERVERS_SEEN.add(line)
    if not hasattr(request.config, "workerinput"):  # an xdist worker's stderr is not shown; see below
        capture = request.config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            sys.stderr.write(f"\n[drizzle-ops tests] {line}\n")


def pytest_sessionfinish(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):  # an xdist worker hands its servers to the controller
        session.config.workeroutput["drizzle_ops_servers"] = sorted(SERVERS_SEEN)  # type: ignore[attr-defined]
        session.config.workeroutput["drizzle_ops_deselected"] = dict(DESELECTED)  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    output = getattr(node, "workeroutput", {})
    SERVERS_SEEN.update(output.get("drizzle_ops_servers", []))
    DESELECTED.update(output.get("drizzle_ops_deselected", {}))  # every worker collects all: keyed by node id


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The servers tested, then what did not run: skipped and deselected, each reason with its count."""
    write = terminalreporter.write_line
    for line in sorted(SERVERS_SEEN):
        write(f"[drizzle-ops tests] {line}")
    skipped = Counter(_skip_reason(report) for report in terminalreporter.stats.get("skipped", []))
    for title, counts in (("skipped", skipped), ("deselected", Counter(DESELECTED.values()))):
        write(f"[drizzle-ops tests] {title}: {sum(counts.values())}")
        for reason, count in sorted(counts.items(), key=lambda pair: (-pair[1], pair[0])):
            write(f"[drizzle-ops tests]   {count} × {reason}")


def _skip_reason(report: Any) -> str:
    longrepr = getattr(report, "longrepr", None)
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


@pytest.fixture(scope="session")
def admin(pg_server: Server) -> Iterator[psycopg.Connection]:
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        yield conn


class Databases:
    """Creates databases on the session server and drops them at the end."""

    def __init__(self, admin: psycopg.Connection, server: Server) -> None:
        self.admin = admin
        self.server = server
        self.created: list[str] = []

    def create(self, template: str | None = None) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        query = sql.SQL("create database {}").format(sql.Identifier(name))
        if template:
            query = sql.SQL("create database {} template {}").format(sql.Identifier(name), sql.Identifier(template))
        self.admin.execute(query)
        self.created.append(name)
        return url_for(self.server.url, name)

    def drop_all(self) -> None:
        for name in self.created:
            self.admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def databases(admin: psycopg.Connection, pg_server: Server) -> Iterator[Databases]:
    dbs = Databases(admin, pg_server)
    yield dbs
    dbs.drop_all()


@pytest.fixture
def empty_db(databases: Databases) -> str:
    """URL of a new, empty database."""
    return databases.create()


@pytest.fixture(scope="session")
def migrated_template(admin: psycopg.Connection, pg_server: Server) -> Iterator[str]:
    """A database with every example migration applied by our runner, used as a template."""
    from drizzle_ops.engine import runner
    from drizzle_ops.engine.workspace import load_workspace

    name = f"tmpl_{uuid.uuid4().hex[:10]}"
    admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    with psycopg.connect(url_for(pg_server.url, name), autocommit=True) as conn:
        runner.migrate(conn, load_workspace(EXAMPLE))
    yield name
    admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def migrated_db(databases: Databases, migrated_template: str) -> str:
    """URL of a fresh database holding every example migration (cloned from the template)."""
    return databases.create(template=migrated_template)


@pytest.fixture
def workspace_copy(tmp_path: Path) -> Path:
    """A private copy of the example workspace (without node_modules) that a test may edit."""
    target = tmp_path / "database-schema"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("node_modules"))
    return target
