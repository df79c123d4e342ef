"""After our rollback, drizzle-kit's own migrate sees the migrations as pending and applies them again."""

from __future__ import annotations

import psycopg

from drizzle_ops.engine import rollback
from drizzle_ops.engine.rollback import RollbackChoice
from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.verify.conformance import check_conformance
from tests.helpers import EXAMPLE, ROOT, drizzle_kit_migrate, rows
from tests.integration.test_drizzle_parity import pytestmark  # noqa: F401  (same requirement and marker)
from tests.integration.test_roundtrip import catalog

WORKSPACE = load_workspace(EXAMPLE)


def test_drizzle_kit_reapplies_what_we_rolled_back(migrated_db: str, drizzle_kit_db: str) -> None:
    reference = drizzle_kit_db  # drizzle-kit's own migrate of the whole example
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        undone = rollback.rollback(conn, WORKSPACE, ROOT / "sql" / "rollback", RollbackChoice(steps=2))
    assert [r.tag for r in undone.rolled_back] == ["0007_wishlist_items", "0006_moc_parts_lists"]
    assert len(rows(migrated_db)) == 6
    drizzle_kit_migrate(migrated_db)
    assert rows(migrated_db) == rows(reference)
    assert catalog(migrated_db) == catalog(reference)
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        assert check_conformance(conn, WORKSPACE, WORKSPACE.migrations[-1]).differences == []
