"""Our runner and drizzle-kit's own migrate write identical bookkeeping rows (needs the real drizzle-kit)."""

from __future__ import annotations

import psycopg
import pytest

from drizzle_ops.engine import runner
from drizzle_ops.engine.workspace import load_workspace
from tests.helpers import EXAMPLE, NO_DRIZZLE_KIT, requires, rows
from tests.integration.test_roundtrip import catalog

DRIZZLE_KIT = EXAMPLE / "node_modules" / ".bin" / "drizzle-kit"

pytestmark = [pytest.mark.drizzle, requires(DRIZZLE_KIT.exists, NO_DRIZZLE_KIT)]


def test_runner_and_drizzle_kit_record_the_same_rows(empty_db: str, drizzle_kit_db: str) -> None:
    ours, theirs = empty_db, drizzle_kit_db  # theirs: `npm run db:migrate`, as the example's developers run it
    with psycopg.connect(ours, autocommit=True) as conn:
        runner.migrate(conn, load_workspace(EXAMPLE))
    assert rows(ours) == rows(theirs)  # select hash, created_at … order by id, row for row
    assert len(rows(ours)) == len(load_workspace(EXAMPLE).migrations)
    assert catalog(ours) == catalog(theirs)
