"""`rollback --draft` offline: which migrations, each one's snapshot pair, the SQL checked against it, and stubs.

Snapshots are small hand-written v7 documents (tests/unit/test_down_draft.py's
helpers) or the committed real drizzle-kit histories; nothing here needs a
server. tests/integration/test_rollback_draft.py runs the drafts on one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from drizzle_ops.commands.rollback_draft import (
    SKIPPED,
    STUB,
    WRITTEN,
    Pair,
    _Snapshots,
    draft_downs,
    draft_for,
    select,
    snapshot_pair,
)
from drizzle_ops.context.config import Settings
from drizzle_ops.down_draft import DRAFT_MARKER, is_draft
from drizzle_ops.down_draft.v1_rows import rename_meta, snapshot_from_rows
from drizzle_ops.engine.rollback import RollbackChoice
from drizzle_ops.engine.workspace import Migration, load_workspace
from drizzle_ops.errors import UserError
from drizzle_ops.verify.migration_sql import check_sql
from drizzle_ops.verify.v1_history import fold, workspace_snapshots
from tests.helpers import ROOT
from tests.unit.test_down_draft import USERS, col, fk, snapshot, statements, table

HISTORIES = ROOT / "tests" / "fixtures" / "histories"
TEN = ROOT / "tests" / "fixtures" / "drafts" / "ten-migrations"
V1 = ROOT / "examples" / "drizzle-v1"

USERS_NICKNAME = table(
    "users",
    col("id", "uuid", primaryKey=True, notNull=True, default="gen_random_uuid()"),
    col("nickname", "text"),
)
ADD_NICKNAME = 'ALTER TABLE "users" ADD COLUMN "nickname" text;'


def migration(sql: str, tag: str = "0001_change") -> Migration:
    path = Path("/nowhere") / f"{tag}.sql"
    return Migration(idx=1, tag=tag, when=1, breakpoints=True, sql_path=path, snapshot_path=None, text=sql)


def pair(before: dict[str, Any], after: dict[str, Any]) -> Pair:
    return Pair(before, after, "0000_init")


# -- which migrations ---------------------------------------------------------------------------------


TEN_WS = load_workspace(TEN)
TAGS = [m.tag for m in TEN_WS.migrations]


def test_the_newest_migration_by_default_the_newest_n_with_steps_newest_first() -> None:
    assert [m.tag for m in select(TEN_WS.migrations, RollbackChoice())] == [TAGS[-1]]
    assert [m.tag for m in select(TEN_WS.migrations, RollbackChoice(steps=3))] == TAGS[:-4:-1]
    assert [m.tag for m in select(TEN_WS.migrations, RollbackChoice(all=True))] == TAGS[::-1]


def test_to_keeps_its_tag_and_drafts_every_later_migration() -> None:
    assert [m.tag for m in select(TEN_WS.migrations, RollbackChoice(to=TAGS[7]))] == [TAGS[9], TAGS[8]]
    assert select(TEN_WS.migrations, RollbackChoice(to=TAGS[-1])) == []


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"steps": 11}, "--steps 11: the workspace has only 10 migration(s); use --all"),
        ({"steps": 0}, "--steps 0: give a number of migrations, 1 or more"),
        ({"steps": 1, "all": True}, "give only one of --steps, --to and --all"),
        ({"to": "0042_nope"}, "--to 0042_nope: no migration has that tag (newest: 0007_drop_nickname"),
    ],
)
def test_bad_selections_are_refused(flags: dict[str, Any], message: str) -> None:
    with pytest.raises(UserError) as refused:
        select(TEN_WS.migrations, RollbackChoice(**flags))
    assert message in refused.value.message
    assert refused.value.exit_code == 2


# -- one draft from a pair ----------------------------------------------------------------------------


def test_an_added_column_is_drafted_ready_without_the_draft_line() -> None:
    draft = draft_for(migration(ADD_NICKNAME), pair(snapshot(USERS), snapshot(USERS_NICKNAME)))
    assert not is_draft(draft.text) and not draft.marked and draft.exact
    assert statements(draft.text) == ['ALTER TABLE "public"."users" DROP COLUMN "nickname";']
    # the data-loss note is still there, the same words generate writes
    assert "-- REVIEW: the values written to users.nickname since 0001_change are lost" in draft.text
    assert "rollback runs it as it is" in draft.text


def test_generate_keeps_the_draft_line_on_the_same_difference() -> None:
    """Same drafter, same notes: only `rollback --draft`, having checked the SQL, leaves the line out."""
    from drizzle_ops.down_draft import draft_down

    generated = draft_down(snapshot(USERS), snapshot(USERS_NICKNAME), tag="0001_change")
    assert generated.text.startswith(DRAFT_MARKER) and generated.exact


def test_a_hand_written_statement_beside_the_generated_one_keeps_the_draft_line_and_is_named() -> None:
    sql = f'{ADD_NICKNAME}--> statement-breakpoint\nUPDATE "users" SET "nickname" = \'x\';'
    draft = draft_for(migration(sql), pair(snapshot(USERS), snapshot(USERS_NICKNAME)))
    assert draft.marked and not draft.exact
    assert (
        '-- REVIEW: 0001_change\'s statement 2 (UPDATE "users" SET "nickname" = \'x\';) is an UPDATE, '
        "which the snapshots do not show: this draft does not undo it" in draft.text
    )
    assert statements(draft.text) == ['ALTER TABLE "public"."users" DROP COLUMN "nickname";']


def test_a_column_the_sql_never_adds_keeps_the_draft_line() -> None:
    draft = draft_for(migration("SELECT 1;"), pair(snapshot(USERS), snapshot(USERS_NICKNAME)))
    assert draft.marked
    assert "the snapshot of 0001_change has column users.nickname, but its SQL never creates it" in draft.text
    assert "statement 1 (SELECT 1;) is a SELECT" in draft.text


def test_a_custom_migration_whose_snapshot_did_not_change_gets_a_stub_that_says_why() -> None:
    draft = draft_for(migration('UPDATE "users" SET "id" = "id";'), pair(snapshot(USERS), snapshot(USERS)))
    assert draft.marked and draft.statements == 0 and statements(draft.text) == []
    assert draft.reviews == [
        "0001_change's snapshot equals 0000_init's, yet its SQL runs 1 statement(s): hand-written SQL "
        "(`generate --custom`?) that the snapshots do not show, so nothing could be drafted; "
        "write the statements that undo it by hand",
        'to undo: statement 1 (UPDATE "users" SET "id" = "id";) is an UPDATE',
    ]


def test_an_unfilled_custom_migration_has_nothing_to_undo_and_is_ready() -> None:
    draft = draft_for(
        migration("-- Custom SQL migration file, put your code below! --"), pair(snapshot(USERS), snapshot(USERS))
    )
    assert not draft.marked and draft.statements == 0
    assert "0001_change runs no statement and its snapshot equals the snapshot of 0000_init" in draft.text


def test_a_narrowed_type_is_a_draft_to_review() -> None:
    wide = table("users", col("id", "uuid", primaryKey=True, notNull=True), col("title", "text"))
    narrow = table("users", col("id", "uuid", primaryKey=True, notNull=True), col("title", "varchar(200)"))
    sql = 'ALTER TABLE "users" ALTER COLUMN "title" SET DATA TYPE text;'
    draft = draft_for(migration(sql), pair(snapshot(narrow), snapshot(wide)))
    assert draft.marked and not draft.exact
    assert "goes back from text to varchar(200)" in draft.text


def test_a_missing_pair_is_a_stub_naming_it() -> None:
    draft = draft_for(migration(ADD_NICKNAME), "its snapshot drizzle/meta/0001_snapshot.json is missing")
    assert draft.marked and draft.statements == 0
    assert draft.reviews == [
        "no draft for 0001_change: its snapshot drizzle/meta/0001_snapshot.json is missing; write the down SQL by hand"
    ]


# -- the SQL against the difference --------------------------------------------------------------------


POSTS = table("posts", col("id", "serial"), col("user_id", "uuid"))
POSTS_FK = table(
    "posts", col("id", "serial"), col("user_id", "uuid"), foreignKeys={"p_u": fk("p_u", "posts", "user_id", "users")}
)


def split(sql: str) -> list[Any]:
    return migration(sql).statements


def test_drizzle_kit_0_20_do_blocks_are_read_inside() -> None:
    wrapped = (
        'DO $$ BEGIN\n ALTER TABLE "posts" ADD CONSTRAINT "p_u" FOREIGN KEY ("user_id") '
        'REFERENCES "public"."users"("id");\n'
        "EXCEPTION\n WHEN duplicate_object THEN null;\nEND $$;"
    )
    assert check_sql(split(wrapped), snapshot(USERS, POSTS), snapshot(USERS, POSTS_FK)).clean
    other = wrapped.replace('"p_u"', '"other_fk"')
    check = check_sql(split(other), snapshot(USERS, POSTS), snapshot(USERS, POSTS_FK))
    assert [u.why for u in check.unexplained] == ["adds constraint other_fk to posts (in a DO block)"]
    assert check.never_created == ["constraint p_u on posts"]


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ('CREATE INDEX "stray_idx" ON "users" ("id");', "creates index stray_idx"),
        ('ALTER TABLE "users" ALTER COLUMN "id" SET DEFAULT 1;', "alters column users.id"),
        ('ALTER TABLE "users" DROP COLUMN "id";', "drops column users.id"),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1';", "is a CREATE FUNCTION"),
        ("DO $$ BEGIN EXECUTE 'select 1'; END $$;", "is a DO block"),
        ("COMMENT ON TABLE users IS 'people';", "is a COMMENT"),
        ("CREATE TABLE (", "does not parse"),
    ],
)
def test_what_the_snapshots_do_not_show_is_named(sql: str, why: str) -> None:
    [found] = check_sql(split(sql), snapshot(USERS), snapshot(USERS)).unexplained
    assert found.why == why and found.number == 1


def test_a_column_added_backfilled_then_set_not_null_is_explained_but_the_backfill_is_named() -> None:
    not_null = table("users", *USERS["columns"].values(), col("nickname", "text", notNull=True))
    sql = (
        f"{ADD_NICKNAME}--> statement-breakpoint\n"
        'UPDATE "users" SET "nickname" = \'anon\';--> statement-breakpoint\n'
        'ALTER TABLE "users" ALTER COLUMN "nickname" SET NOT NULL;'
    )
    check = check_sql(split(sql), snapshot(USERS), snapshot(not_null))
    assert [(u.number, u.why) for u in check.unexplained] == [(2, "is an UPDATE")]
    assert check.never_created == []


def test_names_longer_than_63_bytes_match_as_postgresql_cuts_them() -> None:
    long_fk = "posts_user_id_and_a_very_long_description_of_it_users_id_and_more_fk"
    assert len(long_fk) > 63
    after = table(
        "posts",
        col("id", "serial"),
        col("user_id", "uuid"),
        foreignKeys={long_fk: fk(long_fk, "posts", "user_id", "users")},
    )
    sql = f'ALTER TABLE "posts" ADD CONSTRAINT "{long_fk}" FOREIGN KEY ("user_id") REFERENCES "users"("id");'
    assert check_sql(split(sql), snapshot(USERS, POSTS), snapshot(USERS, after)).clean


def test_every_draft_of_the_long_names_history_is_ready(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(HISTORIES / "long-names", root)
    settings = Settings.from_mapping({"workspace": str(root), "rollback_dir": str(tmp_path / "rb")}, tmp_path)
    assert [(f.result, f.ready) for f in draft_downs(settings, RollbackChoice(all=True)).files] == [(WRITTEN, True)] * 3


def test_every_statement_of_a_chunk_is_matched_when_no_breakpoint_separates_them() -> None:
    sql = f'UPDATE "users" SET "id" = "id";\n{ADD_NICKNAME}\nDELETE FROM "users";'
    check = check_sql(split(sql), snapshot(USERS), snapshot(USERS_NICKNAME))
    assert [(u.number, u.why) for u in check.unexplained] == [(1, "is an UPDATE; is a DELETE")]
    assert check.never_created == []  # the ADD COLUMN after the UPDATE was seen


def test_statements_with_no_effect_on_the_schema_pass() -> None:
    sql = "SET lock_timeout = '5s';--> statement-breakpoint\nBEGIN;--> statement-breakpoint\nCOMMIT;"
    assert check_sql(split(sql), snapshot(USERS), snapshot(USERS)).clean


def test_the_example_history_as_drizzle_kit_wrote_it_is_explained_statement_by_statement() -> None:
    from tests.helpers import EXAMPLE

    workspace = load_workspace(EXAMPLE)
    found = {}
    for before, after in zip(workspace.migrations, workspace.migrations[1:], strict=False):
        check = check_sql(after.statements, before.snapshot(), after.snapshot())
        found[after.tag] = [u.why for u in check.unexplained] + check.never_created
    # the hand-written one: every statement named; every other migration: nothing beyond its snapshots
    assert found.pop("0005_backfill_display_names") == [
        "is an UPDATE",
        "is a CREATE FUNCTION",
        "is a CREATE TRIGGER",
        "is a CREATE TRIGGER",
    ]
    assert found == {tag: [] for tag in found} and len(found) == 6


# -- each migration's snapshot pair, on real histories ------------------------------------------------


def pairs(root: Path) -> dict[str, Pair | str]:
    workspace = load_workspace(root)
    snapshots = _Snapshots(workspace, root)
    return {m.tag: snapshot_pair(workspace, i, snapshots) for i, m in enumerate(workspace.migrations)}


def test_a_broken_chain_pairs_by_prev_id_and_stubs_where_the_base_is_gone() -> None:
    found = pairs(HISTORIES / "broken-chain")
    # 0004 was generated against 0002 (0003's snapshot was lost): its prevId says so
    head = found["0004_comment_flags"]
    assert isinstance(head, Pair) and head.previous_tag == "0002_comments"
    assert found["0003_backfill_post_titles"] == "its snapshot drizzle/meta/0003_snapshot.json is missing"
    assert found["0002_comments"] == (
        "its prevId 4a8a0a67-7e84-4a7d-8690-c3cac2c0253d is the id of no earlier snapshot (the snapshot chain is "
        "broken), so the schema it was generated against is unknown"
    )
    first = found["0000_init"]
    assert isinstance(first, Pair) and first.before == {} and first.previous_tag is None


def test_a_lost_snapshot_before_a_migration_is_named_in_its_stub() -> None:
    found = pairs(HISTORIES / "duplicate-when")
    assert found["0002_default_flags"] == "its snapshot drizzle/meta/0002_snapshot.json is missing"


def test_v1_pairs_are_folded_from_the_base_snapshot() -> None:
    workspace = load_workspace(V1)
    found = pairs(V1)
    head = workspace.migrations[-1]
    last = found[head.tag]
    assert isinstance(last, Pair) and last.previous_tag == workspace.migrations[-2].tag
    rows = fold(workspace_snapshots(workspace, head))
    assert last.after == snapshot_from_rows(rows)
    draft = draft_for(head, last)
    assert not draft.marked
    assert statements(draft.text) == [
        'DROP TABLE "public"."wishlist_items";',
        'DROP TYPE "public"."wishlist_currency";',
    ]


def test_v1_rows_become_a_v7_snapshot_the_draft_reads() -> None:
    rows = fold(workspace_snapshots(load_workspace(V1), load_workspace(V1).migrations[-1]))
    converted = snapshot_from_rows(rows)
    items = converted["tables"]["public.wishlist_items"]
    assert items["compositePrimaryKeys"] == {"wishlist_items_pkey": {"name": "wishlist_items_pkey", "columns": ["id"]}}
    assert items["foreignKeys"]["wishlist_items_user_id_users_id_fkey"]["onDelete"] == "cascade"
    assert items["columns"]["currency"]["typeSchema"] == "public"
    assert items["indexes"]["wishlist_items_user_sort_idx"]["columns"][1] == {
        "expression": "sort_order",
        "isExpression": False,
        "asc": True,
        "nulls": "last",
    }
    assert converted["enums"]["public.wishlist_currency"]["values"] == ["USD", "EUR", "GBP"]


def test_v1_rename_deltas_become_the_renames_the_draft_reverses() -> None:
    meta = rename_meta(
        [
            ("schemas", ("shop",), {"name": "store"}),
            ("tables", ("public", "sets"), {"name": "collections"}),
            ("tables", ("public", "items"), {"schema": "store"}),
            ("columns", ("public", "sets", "id"), {"name": "uid"}),
        ]
    )
    assert meta == {
        "schemas": {"shop": "store"},
        "tables": {'"public"."sets"': '"public"."collections"', '"public"."items"': '"store"."items"'},
        "columns": {'"public"."sets"."id"': '"public"."collections"."uid"'},
    }
    before = snapshot(table("sets", col("id", "integer")))
    renamed = rename_meta(
        [
            ("tables", ("public", "sets"), {"name": "collections"}),
            ("columns", ("public", "sets", "id"), {"name": "uid"}),
        ]
    )
    after = snapshot(table("collections", col("uid", "integer")), _meta=renamed)
    sql = 'ALTER TABLE "sets" RENAME TO "collections";--> statement-breakpoint\n'
    sql += 'ALTER TABLE "collections" RENAME COLUMN "id" TO "uid";'
    draft = draft_for(migration(sql), pair(before, after))
    assert not draft.marked
    assert statements(draft.text) == [
        'ALTER TABLE "public"."collections" RENAME COLUMN "uid" TO "id";',
        'ALTER TABLE "public"."collections" RENAME TO "sets";',
    ]


# -- writing ------------------------------------------------------------------------------------------


@pytest.fixture
def ten(tmp_path: Path) -> Settings:
    root = tmp_path / "ws"
    shutil.copytree(TEN, root)
    return Settings.from_mapping({"workspace": str(root), "rollback_dir": str(tmp_path / "rb")}, tmp_path)


def test_the_ten_migrations_are_drafted_ready_draft_or_stub_newest_first(ten: Settings) -> None:
    outcome = draft_downs(ten, RollbackChoice(all=True))
    assert [(f.tag, f.result, f.ready) for f in outcome.files] == [
        ("0009_published_at", WRITTEN, True),
        ("0008_comments", WRITTEN, True),
        ("0007_drop_nickname", WRITTEN, False),
        ("0006_title_text", WRITTEN, False),
        ("0005_post_status", WRITTEN, True),
        ("0004_backfill_display_names", STUB, False),
        ("0003_tags", WRITTEN, True),
        ("0002_display_name", WRITTEN, True),
        ("0001_posts", WRITTEN, True),
        ("0000_init", WRITTEN, True),
    ]
    for f in outcome.files:
        assert (ten.rollback_dir / f"{f.tag}.down.sql").read_text() == f.text
        assert f.file == f"rb/{f.tag}.down.sql"


def test_an_existing_file_is_never_written_over(ten: Settings) -> None:
    ten.rollback_dir.mkdir()
    mine = ten.rollback_dir / "0009_published_at.down.sql"
    mine.write_text("-- reviewed by hand\n")
    outcome = draft_downs(ten, RollbackChoice(steps=2))
    assert [(f.tag, f.result) for f in outcome.files] == [("0009_published_at", SKIPPED), ("0008_comments", WRITTEN)]
    assert outcome.files[0].reason == "rb/0009_published_at.down.sql exists; it is never written over"
    assert mine.read_text() == "-- reviewed by hand\n"


def test_a_dry_run_writes_nothing(ten: Settings) -> None:
    outcome = draft_downs(ten, RollbackChoice(steps=3), dry_run=True)
    assert [f.result for f in outcome.files] == [WRITTEN, WRITTEN, WRITTEN]
    assert outcome.files[0].text.startswith("-- drizzle-ops: down migration for 0009_published_at")
    assert not ten.rollback_dir.exists()


def test_the_json_of_a_file_names_its_result_and_notes(ten: Settings) -> None:
    [stub] = draft_downs(ten, RollbackChoice(to="0003_tags"), dry_run=True).files[-1:]
    document = json.loads(json.dumps(stub.as_dict()))
    assert document["tag"] == "0004_backfill_display_names" and document["result"] == STUB
    assert document["ready"] is False and document["statements"] == 0
    assert document["reason"].startswith("0004_backfill_display_names's snapshot equals 0003_tags's")
