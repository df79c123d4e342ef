"""Down drafts of the example's own migrations (real drizzle-kit output), applied to a real server.

For each migration k with a schema change: migrate to k, add rows, run the
draft drafted from snapshots k-1 and k, and the schema conforms to snapshot
k-1 again; migrate to k again and it conforms to k. No drizzle-kit needed: the
snapshots in the example workspace are what it wrote.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from drizzle_ops.down_draft import DRAFT_MARKER, draft_down, is_draft
from drizzle_ops.engine import rollback, runner
from drizzle_ops.engine.rollback import RollbackChoice
from drizzle_ops.engine.states import PlanOptions
from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.verify.conformance import check_conformance
from tests.helpers import EXAMPLE, rows

WORKSPACE = load_workspace(EXAMPLE)
CUSTOM = "0005_backfill_display_names"  # hand-written SQL: the snapshots can't say how to undo it


def _draft(k: int) -> str:
    migration, previous = WORKSPACE.migrations[k], WORKSPACE.migrations[k - 1] if k else None
    draft = draft_down(
        previous.snapshot() if previous else {},
        migration.snapshot(),
        tag=migration.tag,
        previous_tag=previous.tag if previous else None,
    )
    return draft.text


def _differences(conn: psycopg.Connection, k: int) -> list[str]:
    head = WORKSPACE.migrations[k] if k >= 0 else None
    return [str(d) for d in check_conformance(conn, WORKSPACE, head).differences]


def _seed(conn: psycopg.Connection, k: int) -> None:
    """Rows that the draft's statements must carry along (or legitimately drop)."""
    if k >= 0:
        conn.execute("insert into users (email) values (%s)", [f"u{k}@example.com"])
    if k >= 1:
        conn.execute("insert into moc_instructions (user_id, title) select id, 'castle' from users limit 1")


@pytest.mark.parametrize(
    "k",
    [i for i, m in enumerate(WORKSPACE.migrations) if m.tag != CUSTOM],
    ids=[m.tag for m in WORKSPACE.migrations if m.tag != CUSTOM],
)
def test_draft_of_each_example_migration_returns_to_the_previous_snapshot(
    empty_db: str, tmp_path: Path, k: int
) -> None:
    tag = WORKSPACE.migrations[k].tag
    # applied as drafted, only its DRAFT line removed: rollback refuses a file that still has it
    reviewed = "".join(line for line in _draft(k).splitlines(keepends=True) if not line.startswith(DRAFT_MARKER))
    (tmp_path / f"{tag}.down.sql").write_text(reviewed)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        runner.migrate(conn, WORKSPACE, PlanOptions(to=tag))
        _seed(conn, k)
        assert _differences(conn, k) == []
        before = rows(empty_db)

        undone = rollback.rollback(conn, WORKSPACE, tmp_path, RollbackChoice(steps=1))
        assert [r.tag for r in undone.rolled_back] == [tag]
        assert _differences(conn, k - 1) == []
        assert rows(empty_db) == before[:-1]

        runner.migrate(conn, WORKSPACE, PlanOptions(to=tag))
        assert _differences(conn, k) == []


def test_the_custom_migration_gets_a_draft_that_says_it_must_be_written_by_hand() -> None:
    k = next(i for i, m in enumerate(WORKSPACE.migrations) if m.tag == CUSTOM)
    text = _draft(k)
    assert is_draft(text)
    assert "-- REVIEW: the snapshots are identical (a custom migration?)" in text
    assert not [line for line in text.splitlines() if line.strip() and not line.startswith("--")]
