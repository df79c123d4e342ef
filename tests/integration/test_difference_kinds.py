"""Each kind of difference verify can report (tests/difference_kinds.py) is reported, precisely, by a real server.

The fixture tests/fixtures/difference-kinds holds one object of every kind verify
compares, made by drizzle-kit; drizzle-ops migrates it once, and each case makes
one change by hand, expects exactly its difference, and rolls the change back. `nox -s
mutation` proves these tests fail when compare.py stops reporting any one kind.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from drizzle_ops.disposable.base import Server
from drizzle_ops.engine import runner
from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.verify.conformance import check_conformance
from tests.difference_kinds import KINDS, Kind
from tests.helpers import ROOT, url_for
from tests.integration.test_roundtrip import catalog

FIXTURE = ROOT / "tests" / "fixtures" / "difference-kinds"
WORKSPACE = load_workspace(FIXTURE)
HEAD = WORKSPACE.migrations[-1]


@pytest.fixture(scope="module")
def kinds_db(admin: psycopg.Connection, pg_server: Server) -> Iterator[str]:
    """The fixture migrated by drizzle-ops, once per module: each case changes it in a transaction it rolls back."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = url_for(pg_server.url, name)
    with psycopg.connect(url, autocommit=True) as conn:
        runner.migrate(conn, WORKSPACE)
    yield url
    admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def test_the_fixture_as_migrated_has_no_difference(kinds_db: str) -> None:
    before = catalog(kinds_db)
    with psycopg.connect(kinds_db, autocommit=True) as conn:
        result = check_conformance(conn, WORKSPACE, HEAD)
    assert (result.differences, result.warnings) == ([], [])
    assert result.tables == 4
    assert catalog(kinds_db) == before


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.id)
def test_each_kind_of_difference_is_reported(kind: Kind, kinds_db: str) -> None:
    with psycopg.connect(kinds_db, autocommit=True) as conn:
        if conn.info.server_version < kind.min_server:
            pytest.skip(f"the change needs PostgreSQL {kind.min_server // 10000} or later")
        with conn.transaction(force_rollback=True):
            conn.execute(kind.change)
            result = check_conformance(conn, WORKSPACE, HEAD)
    failing, warnings = [str(d) for d in result.differences], [str(d) for d in result.warnings]
    assert (warnings if kind.warning else failing) == [kind.expected]
    assert (failing if kind.warning else warnings) == []
