"""`inv status --schema` / `inv drift`: files against rows, and the live schema against the applied snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from tests.helpers import add_migration, run_inv


def drift(ws: Path, url: str, *args: str) -> tuple[int, str, str]:
    done = run_inv("drift", "--workspace", str(ws), "--url", url, *args)
    return done.returncode, done.stdout, done.stderr


def test_a_clean_database_has_no_drift(migrated_db: str, workspace_copy: Path) -> None:
    code, out, err = drift(workspace_copy, migrated_db, "--check")
    assert code == 0, out + err
    assert "8 applied" in out
    assert "Schema: matches the snapshot of 0007_wishlist_items (7 table(s))." in out


def test_an_edited_applied_file_is_named_and_fails_the_check(migrated_db: str, workspace_copy: Path) -> None:
    sql_file = workspace_copy / "drizzle" / "0003_gallery_images.sql"
    sql_file.write_text(sql_file.read_text() + "\n-- tweaked after deploy\n")
    done = run_inv("status", "--schema", "--check", "--workspace", str(workspace_copy), "--url", migrated_db)
    assert done.returncode == 1
    assert "modified: 0003_gallery_images changed after it was applied" in done.stdout
    assert "inv repair --tag 0003_gallery_images --yes" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == (
        "drift check failed: 0 pending, 1 drifted, 0 schema difference(s) (0003_gallery_images)"
    )


def test_an_out_of_order_entry_is_named_and_fails_the_check(migrated_db: str, workspace_copy: Path) -> None:
    tag = add_migration(workspace_copy, "from_old_branch", "create table late (id int);", when=1)
    code, out, err = drift(workspace_copy, migrated_db, "--check")
    assert code == 1
    assert f"out-of-order: {tag} is not applied but older than the newest applied migration" in out
    assert err.strip().splitlines()[-1] == f"drift check failed: 1 drifted, 0 schema difference(s) ({tag})"


def test_an_index_dropped_by_hand_is_named_and_fails_the_check(migrated_db: str, workspace_copy: Path) -> None:
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        conn.execute("drop index gallery_images_tags_idx")
    code, out, err = drift(workspace_copy, migrated_db, "--check")
    assert code == 1
    assert "Schema: 1 difference(s) from the snapshot of 0007_wishlist_items:" in out
    assert "index gallery_images_tags_idx" in out
    assert err.strip().splitlines()[-1] == (
        "drift check failed: 0 drifted, 1 schema difference(s) (index gallery_images_tags_idx)"
    )


def test_without_check_drift_is_reported_but_exits_0(migrated_db: str, workspace_copy: Path) -> None:
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        conn.execute("alter table users add column shadow text")
    code, out, _ = drift(workspace_copy, migrated_db)
    assert code == 0
    assert "column users.shadow" in out


def test_json_holds_the_differences_and_nothing_else_on_stdout(migrated_db: str, workspace_copy: Path) -> None:
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        conn.execute("drop index wishlist_items_user_sort_idx")
    code, out, _ = drift(workspace_copy, migrated_db, "--json", "--check")
    assert code == 1
    document = json.loads(out)
    assert document["ok"] is False
    assert document["schema"]["head"] == "0007_wishlist_items"
    assert [(d["kind"], d["name"]) for d in document["schema"]["differences"]] == [
        ("index", "wishlist_items_user_sort_idx")
    ]
    assert document["summary"]["applied"] == 8


def test_status_without_schema_is_unchanged(migrated_db: str, workspace_copy: Path) -> None:
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        conn.execute("drop index gallery_images_tags_idx")
    done = run_inv("status", "--check", "--workspace", str(workspace_copy), "--url", migrated_db)
    assert done.returncode == 0, done.stderr
    assert "Schema:" not in done.stdout


def test_pending_is_no_drift_but_status_schema_check_still_counts_it(migrated_db: str, workspace_copy: Path) -> None:
    tag = add_migration(workspace_copy, "next_release", "create table next_release (id int);")
    code, out, err = drift(workspace_copy, migrated_db, "--check")
    assert code == 0, out + err
    assert "1 pending" in out
    done = run_inv("status", "--schema", "--check", "--workspace", str(workspace_copy), "--url", migrated_db)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == "drift check failed: 1 pending, 0 drifted, 0 schema difference(s)"
    assert tag in done.stdout
