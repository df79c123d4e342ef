"""Snapshot conformance finds each kind of hand-made change, and `migrate --verify` reverts on one."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg

from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.verify.conformance import check_conformance
from tests.helpers import EXAMPLE, ROOT, add_migration, rows, run_inv
from tests.integration.test_roundtrip import catalog

WORKSPACE = load_workspace(EXAMPLE)
HEAD = WORKSPACE.migrations[-1]

CHANGES = {
    "drop index wishlist_items_user_sort_idx": "index wishlist_items_user_sort_idx: missing",
    "alter table wishlist_items alter column currency set default 'EUR'": (
        "column wishlist_items.currency: default 'EUR'::public.wishlist_currency, snapshot says 'USD'"
    ),
    "alter type wishlist_store add value 'Amazon'": (
        "enum wishlist_store: values (LEGO, Barweer, Cata, BrickLink, Other, Amazon), "
        "snapshot says (LEGO, Barweer, Cata, BrickLink, Other)"
    ),
    "alter table wishlist_items alter column price type numeric(12,2)": (
        "column wishlist_items.price: type numeric(12,2), snapshot says numeric(10,2)"
    ),
    "alter table wishlist_items alter column notes set not null": (
        "column wishlist_items.notes: not null, snapshot says nullable"
    ),
    "alter table wishlist_items alter column sort_order drop default": (
        "column wishlist_items.sort_order: no default, snapshot says 0"
    ),
    "alter table wishlist_items drop constraint wishlist_items_priority_range, "
    "add constraint wishlist_items_priority_range check (priority between 0 and 10)": (
        "check constraint wishlist_items_priority_range: CHECK (priority >= 0 AND priority <= 10), "
        'snapshot says "wishlist_items"."priority" between 0 and 5'
    ),
    "alter table wishlist_items drop constraint wishlist_items_user_id_users_id_fk, "
    "add constraint wishlist_items_user_id_users_id_fk foreign key (user_id) references users(id) on delete set null": (
        "foreign key wishlist_items_user_id_users_id_fk: (user_id) references users(id) on delete set null "
        "on update no action, snapshot says (user_id) references users(id) on delete cascade on update no action"
    ),
    "drop index gallery_images_moc_id_idx; create index gallery_images_moc_id_idx on gallery_images (moc_id)": (
        'index gallery_images_moc_id_idx: no predicate, snapshot says "gallery_images"."moc_id" is not null'
    ),
    "drop index gallery_images_tags_idx; create index gallery_images_tags_idx on gallery_images (tags)": (
        "index gallery_images_tags_idx: method btree, snapshot says gin"
    ),
    "alter table users drop constraint users_email_unique": "unique constraint users_email_unique: missing on users",
    "alter table user_sets drop constraint user_sets_user_id_set_id_pk": (
        "primary key user_sets_user_id_set_id_pk: missing on user_sets"
    ),
    "create index users_display_name_idx on users (display_name)": (
        "index users_display_name_idx: not in snapshot (on users)"
    ),
    "alter table users add column nickname text": "column users.nickname: not in snapshot",
    "create table scratch (id int)": "table scratch: not in snapshot",
    "create type mood as enum ('happy')": "enum mood: not in snapshot",
    "create schema reporting": "schema reporting: not in snapshot",
    "drop table moc_parts_lists": "table moc_parts_lists: missing",
}


def test_a_clean_migrate_has_zero_differences_and_conformance_leaves_nothing(migrated_db: str) -> None:
    before = catalog(migrated_db)
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        assert check_conformance(conn, WORKSPACE, HEAD).differences == []
    assert catalog(migrated_db) == before


def test_each_hand_made_change_is_reported_precisely(migrated_db: str) -> None:
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        for statement in CHANGES:
            conn.execute(statement)
        found = [str(d) for d in check_conformance(conn, WORKSPACE, HEAD).differences]
    assert sorted(found) == sorted(CHANGES.values())


def test_a_search_path_without_public_changes_nothing(migrated_db: str) -> None:
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        conn.execute("set search_path = pg_catalog")
        assert check_conformance(conn, WORKSPACE, HEAD).differences == []


def test_migrate_verify_checks_each_migration(empty_db: str) -> None:
    result = run_inv("migrate", "--url", empty_db, "--verify")
    assert result.returncode == 0, result.stderr
    for migration in WORKSPACE.migrations:
        assert f"verified: {migration.tag} matches its snapshot" in result.stderr
    assert len(rows(empty_db)) == 8


def test_migrate_verify_rolls_back_a_migration_that_does_not_match(empty_db: str, workspace_copy: Path) -> None:
    sql_path = workspace_copy / "drizzle" / "0007_wishlist_items.sql"
    sql_path.write_text(sql_path.read_text().replace('"price" numeric(10, 2)', '"price" numeric(12, 2)'))
    result = run_inv("migrate", "--url", empty_db, "--verify", "--workspace", str(workspace_copy))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert errors == [
        "error: 0007_wishlist_items does not match its snapshot after applying (1 difference(s): "
        "column wishlist_items.price: type numeric(12,2), snapshot says numeric(10,2)); "
        "its transaction was rolled back, so nothing of it stays; "
        "fix the migration or regenerate its snapshot, then migrate again"
    ]
    assert "rolled back 0007_wishlist_items" in result.stderr  # checked before COMMIT: no down file was needed
    assert rows(empty_db) == [(m.hash, m.when) for m in WORKSPACE.migrations[:7]]
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("select to_regclass('public.wishlist_items')").fetchone() == (None,)
        assert conn.execute("select to_regtype('public.wishlist_store')").fetchone() == (None,)


def test_migrate_verify_needs_down_files_only_for_what_commits_before_it_is_checked(
    empty_db: str, workspace_copy: Path, tmp_path: Path
) -> None:
    """A transactional migration is checked before it commits (no down file needed); one that runs outside a
    transaction commits first, so without its down file nothing runs."""
    partial = tmp_path / "rollback"
    shutil.copytree(ROOT / "sql" / "rollback", partial)
    (partial / "0003_gallery_images.down.sql").unlink()
    result = run_inv(
        "migrate", "--url", empty_db, "--verify", "--rollback-dir", str(partial), "--to", "0003_gallery_images"
    )
    assert result.returncode == 0, result.stderr
    assert "verified: 0003_gallery_images matches its snapshot" in result.stderr

    index = 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_email_idx" ON "users" ("email");'
    tag = add_migration(workspace_copy, "users_email_index", index)
    result = run_inv(
        "migrate", "--url", empty_db, "--verify", "--rollback-dir", str(partial), "--workspace", str(workspace_copy)
    )
    assert result.returncode == 2
    assert f"{tag}.down.sql is missing" in result.stderr
    assert len(rows(empty_db)) == 4  # refused before anything ran: 0004-0007 still pending too
