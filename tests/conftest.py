"""Test fixtures: one disposable PostgreSQL server per session, a fresh database per test.

The backend is chosen with --backend (or DRIZZLE_OPS_TEST_BACKEND): ``local``
(initdb + pg_ctl), ``docker`` (a postgres:<major> container), or ``url`` (an
existing server given by --server-url / DRIZZLE_OPS_TEST_URL, where each test
still gets its own database). --pg / DRIZZLE_OPS_TEST_PG picks the major.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from drizzle_ops.disposable.base import Server
from tests.helpers import EXAMPLE, url_for


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
        from drizzle_ops.disposable import docker as docker_provider

        docker_provider.remove_orphans("pytest-")  # leftovers of earlier sessions that were killed
        provider = docker_provider.DockerProvider(owner=f"pytest-{os.getpid()}")
    else:
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


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    SERVERS_SEEN.update(getattr(node, "workeroutput", {}).get("drizzle_ops_servers", []))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in sorted(SERVERS_SEEN):
        terminalreporter.write_line(f"[drizzle-ops tests] {line}")


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
