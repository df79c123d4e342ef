"""`inv migrate --verify` on real-world histories: accepted drift does not revert, a lost snapshot is not verified."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import ROOT, rows, run_inv

pytestmark = pytest.mark.integration

HISTORIES = ROOT / "tests" / "fixtures" / "histories"
HAND_DRIFT = HISTORIES / "hand-drift"
BROKEN_CHAIN = HISTORIES / "broken-chain"

# down files written for these tests (the fixtures ship none)
HAND_DRIFT_DOWNS = {
    "0000_init": 'DROP TABLE "products";',
    "0001_product_search": 'DROP INDEX "products_lower_sku_idx";\n'
    'DROP INDEX "products_search_vector_idx";\n'
    'ALTER TABLE "products" DROP COLUMN "search_vector";',
    "0002_product_stock": 'ALTER TABLE "products" DROP COLUMN "stock";',
}


def write_downs(folder: Path, downs: dict[str, str]) -> Path:
    folder.mkdir()
    for tag, text in downs.items():
        (folder / f"{tag}.down.sql").write_text(text + "\n")
    return folder


def index_names(url: str) -> list[str]:
    import psycopg

    with psycopg.connect(url) as conn:
        found = conn.execute("select indexname from pg_indexes where tablename = 'products' order by 1").fetchall()
    return [name for (name,) in found]


def test_accepted_hand_drift_passes_migrate_verify(empty_db: str, tmp_path: Path) -> None:
    downs = write_downs(tmp_path / "rollback", HAND_DRIFT_DOWNS)
    common = ["--workspace", str(HAND_DRIFT), "--url", empty_db, "--rollback-dir", str(downs)]
    accepted = {"INVOKE_DRIZZLE_OPS_ACCEPTED_DIFFERENCES": str(HAND_DRIFT / "accepted-differences.txt")}
    proc = run_inv("migrate", "--verify", *common, env=accepted)
    assert proc.returncode == 0, proc.stderr
    assert "verified: 0001_product_search matches its snapshot" in proc.stderr
    assert len(rows(empty_db)) == 3
    assert "products_search_vector_idx" in index_names(empty_db)


def test_unaccepted_hand_drift_is_reverted_by_migrate_verify(empty_db: str, tmp_path: Path) -> None:
    downs = write_downs(tmp_path / "rollback", HAND_DRIFT_DOWNS)
    common = ["--workspace", str(HAND_DRIFT), "--url", empty_db, "--rollback-dir", str(downs)]
    missing = {"INVOKE_DRIZZLE_OPS_ACCEPTED_DIFFERENCES": str(tmp_path / "none.txt")}
    proc = run_inv("migrate", "--verify", *common, env=missing)
    assert proc.returncode == 1, proc.stderr
    assert "0001_product_search does not match its snapshot after applying (3 difference(s)" in proc.stderr
    assert len(rows(empty_db)) == 1  # 0000 stays, 0001 was reverted with its down file
    assert index_names(empty_db) == ["products_pkey", "products_sku_unique"]


def test_migrate_verify_says_which_migrations_it_could_not_verify(empty_db: str, tmp_path: Path) -> None:
    # 0003_backfill_post_titles is a custom migration whose snapshot was lost: nothing to compare with
    journal = json.loads((BROKEN_CHAIN / "drizzle/meta/_journal.json").read_text())
    tags = [entry["tag"] for entry in journal["entries"]]
    downs = write_downs(tmp_path / "rollback", {tag: "SELECT 1;" for tag in tags})
    proc = run_inv(
        "migrate",
        "--verify",
        "--to",
        "0003_backfill_post_titles",
        "--workspace",
        str(BROKEN_CHAIN),
        "--url",
        empty_db,
        "--rollback-dir",
        str(downs),
    )
    assert proc.returncode == 0, proc.stderr
    assert "not verified: 0003_backfill_post_titles (no snapshot for 0003_backfill_post_titles)" in proc.stderr
    assert "verified: 0002_comments matches its snapshot" in proc.stderr
    assert len(rows(empty_db)) == 4
