"""Our runner and drizzle-kit's own migrate write identical bookkeeping rows (needs the real drizzle-kit)."""

from __future__ import annotations

import os
import subprocess

import psycopg
import pytest

from drizzle_ops.engine import runner
from drizzle_ops.engine.workspace import load_workspace
from tests.helpers import EXAMPLE, NO_DRIZZLE_KIT, requires, rows
from tests.integration.test_roundtrip import catalog

DRIZZLE_KIT = EXAMPLE / "node_modules" / ".bin" / "drizzle-kit"

pytestmark = [pytest.mark.drizzle, requires(DRIZZLE_KIT.exists, NO_DRIZZLE_KIT)]


def drizzle_migrate(url: str) -> None:
    """`npm run db:migrate` in the example workspace, as its developers run it."""
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run(
        ["npm", "run", "--silent", "db:migrate"], cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, f"drizzle-kit migrate failed:\n{done.stdout}\n{done.stderr}"


def test_runner_and_drizzle_kit_record_the_same_rows(databases) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = databases.create(), databases.create()
    with psycopg.connect(ours, autocommit=True) as conn:
        runner.migrate(conn, load_workspace(EXAMPLE))
    drizzle_migrate(theirs)
    assert rows(ours) == rows(theirs)  # select hash, created_at … order by id, row for row
    assert len(rows(ours)) == len(load_workspace(EXAMPLE).migrations)
    assert catalog(ours) == catalog(theirs)
