"""The down draft from two snapshots: order, recreation from the earlier snapshot, REVIEW notes, renames.

Snapshots here are small hand-written v7 documents shaped like drizzle-kit's;
tests/integration/test_generate*.py apply drafts of real drizzle-kit output to
a real server.
"""

from __future__ import annotations

import copy
from typing import Any

from drizzle_ops.down_draft import DRAFT_MARKER, draft_down, is_draft
from drizzle_ops.engine.workspace import split_statements


def col(name: str, type_: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "primaryKey": False, "notNull": False, **extra}


def table(name: str, *columns: dict[str, Any], schema: str = "", **parts: Any) -> dict[str, Any]:
    return {
        "name": name,
        "schema": schema,
        "columns": {c["name"]: c for c in columns},
        "indexes": parts.get("indexes", {}),
        "foreignKeys": parts.get("foreignKeys", {}),
        "compositePrimaryKeys": parts.get("compositePrimaryKeys", {}),
        "uniqueConstraints": parts.get("uniqueConstraints", {}),
        "checkConstraints": parts.get("checkConstraints", {}),
        "policies": {},
        "isRLSEnabled": False,
    }


def snapshot(*tables: dict[str, Any], enums: dict[str, list[str]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "x",
        "prevId": "y",
        "version": "7",
        "dialect": "postgresql",
        "tables": {f"{t['schema'] or 'public'}.{t['name']}": t for t in tables},
        "enums": {
            f"public.{name}": {"name": name, "schema": "public", "values": values}
            for name, values in (enums or {}).items()
        },
        "schemas": {},
        "sequences": {},
        "roles": {},
        "policies": {},
        "views": {},
        "_meta": {"schemas": {}, "tables": {}, "columns": {}},
        **extra,
    }


def fk(name: str, source: str, column: str, target: str, on_delete: str = "cascade") -> dict[str, Any]:
    return {
        "name": name,
        "tableFrom": source,
        "tableTo": target,
        "schemaTo": "public",
        "columnsFrom": [column],
        "columnsTo": ["id"],
        "onDelete": on_delete,
        "onUpdate": "no action",
    }


USERS = table("users", col("id", "uuid", primaryKey=True, notNull=True, default="gen_random_uuid()"))


def statements(text: str) -> list[str]:
    """Each statement without its comment lines."""
    return [
        "\n".join(line for line in s.sql.splitlines() if not line.startswith("--")).strip()
        for s in split_statements(text)
        if any(line.strip() and not line.startswith("--") for line in s.sql.splitlines())
    ]


def test_the_draft_starts_with_the_marker_and_is_recognised_until_it_is_deleted() -> None:
    draft = draft_down(snapshot(USERS), snapshot(USERS, table("tags", col("id", "serial"))), tag="0001_tags")
    assert draft.text.startswith(DRAFT_MARKER)
    assert is_draft(draft.text)
    assert not is_draft("\n".join(line for line in draft.text.splitlines() if not line.startswith(DRAFT_MARKER)))
    assert draft.statements == len(split_statements(draft.text)) == 1


def test_created_tables_go_referencing_first_and_a_reference_cycle_in_one_statement() -> None:
    a = table("a", col("id", "serial"), col("b_id", "integer"), foreignKeys={"a_b": fk("a_b", "a", "b_id", "b")})
    b = table("b", col("id", "serial"), col("a_id", "integer"), foreignKeys={"b_a": fk("b_a", "b", "a_id", "a")})
    child = table("child", col("id", "serial"), col("p", "uuid"), foreignKeys={"c_u": fk("c_u", "child", "p", "users")})
    parent_user = table(
        "holder", col("id", "serial"), col("c", "integer"), foreignKeys={"h_c": fk("h_c", "holder", "c", "child")}
    )
    text = draft_down(snapshot(USERS), snapshot(USERS, a, b, child, parent_user), tag="t").text
    drops = statements(text)
    assert 'DROP TABLE "public"."a", "public"."b";' in drops
    assert drops.index('DROP TABLE "public"."holder";') < drops.index('DROP TABLE "public"."child";')


def test_a_foreign_key_from_a_surviving_table_to_a_created_one_goes_before_the_table() -> None:
    before = snapshot(USERS, table("posts", col("id", "serial")))
    after = snapshot(
        USERS,
        table(
            "posts",
            col("id", "serial"),
            col("topic_id", "integer"),
            foreignKeys={"p_t": fk("p_t", "posts", "topic_id", "topics")},
        ),
        table("topics", col("id", "serial")),
    )
    drops = statements(draft_down(before, after, tag="t").text)
    assert drops == [
        'ALTER TABLE "public"."posts" DROP CONSTRAINT "p_t";',
        'DROP TABLE "public"."topics";',
        'ALTER TABLE "public"."posts" DROP COLUMN "topic_id";',
    ]


def test_a_dropped_table_comes_back_whole_then_its_indexes_then_foreign_keys() -> None:
    members = table(
        "members",
        col("user_id", "uuid", notNull=True),
        col("team", "text", notNull=True),
        col("role", "member_role", typeSchema="public", notNull=True, default="'player'"),
        col("score", "numeric(10, 2)", default=0),
        compositePrimaryKeys={"members_pk": {"name": "members_pk", "columns": ["user_id", "team"]}},
        uniqueConstraints={
            "members_team_u": {"name": "members_team_u", "columns": ["team", "role"], "nullsNotDistinct": True}
        },
        checkConstraints={"score_ok": {"name": "score_ok", "value": '"members"."score" >= 0'}},
        indexes={
            "members_score_idx": {
                "name": "members_score_idx",
                "columns": [{"expression": "score", "isExpression": False, "asc": False, "nulls": "last"}],
                "isUnique": False,
                "method": "btree",
                "with": {"fillfactor": 70},
                "where": '"members"."score" > 0',
            }
        },
        foreignKeys={"members_user": fk("members_user", "members", "user_id", "users")},
    )
    before = snapshot(USERS, members, enums={"member_role": ["player", "coach"]})
    text = draft_down(before, snapshot(USERS), tag="0009_drop_members").text
    got = statements(text)
    assert got[0] == """CREATE TYPE "public"."member_role" AS ENUM('player', 'coach');"""
    assert got[1] == (
        'CREATE TABLE "public"."members" (\n'
        '\t"user_id" uuid NOT NULL,\n'
        '\t"team" text NOT NULL,\n'
        '\t"role" "public"."member_role" DEFAULT \'player\' NOT NULL,\n'
        '\t"score" numeric(10, 2) DEFAULT 0,\n'
        '\tCONSTRAINT "members_pk" PRIMARY KEY("user_id","team"),\n'
        '\tCONSTRAINT "members_team_u" UNIQUE NULLS NOT DISTINCT("team","role"),\n'
        '\tCONSTRAINT "score_ok" CHECK ("members"."score" >= 0)\n'
        ");"
    )
    assert got[2] == (
        'CREATE INDEX "members_score_idx" ON "public"."members" USING btree ("score" DESC NULLS LAST) '
        'WITH (fillfactor=70) WHERE "members"."score" > 0;'
    )
    assert got[3].startswith('ALTER TABLE "public"."members" ADD CONSTRAINT "members_user" FOREIGN KEY ("user_id")')
    assert "-- REVIEW: 0009_drop_members dropped members; it comes back empty" in text


def test_a_dropped_not_null_column_without_default_comes_back_nullable_then_set_not_null() -> None:
    before = snapshot(table("users", col("id", "uuid"), col("email", "text", notNull=True)))
    after = snapshot(table("users", col("id", "uuid")))
    text = draft_down(before, after, tag="t").text
    assert statements(text) == [
        'ALTER TABLE "public"."users" ADD COLUMN "email" text;',
        'ALTER TABLE "public"."users" ALTER COLUMN "email" SET NOT NULL;',
    ]
    assert "-- REVIEW: users.email was NOT NULL without a default: fill it in here" in text
    assert "-- REVIEW: t dropped users.email and its data with it" in text


def test_an_identity_column_comes_back_with_its_sequence_options() -> None:
    identity = {
        "type": "always",
        "name": "things_id_seq",
        "schema": "public",
        "increment": "1",
        "startWith": "1",
        "minValue": "1",
        "maxValue": "2147483647",
        "cache": "1",
        "cycle": False,
    }
    before = snapshot(table("things", col("name", "text"), col("id", "integer", notNull=True, identity=identity)))
    after = snapshot(table("things", col("name", "text")))
    assert statements(draft_down(before, after, tag="t").text) == [
        'ALTER TABLE "public"."things" ADD COLUMN "id" integer GENERATED ALWAYS AS IDENTITY (sequence name '
        '"public"."things_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1) NOT NULL;'
    ]


def test_altered_columns_go_back_to_their_type_default_and_nullability() -> None:
    before = snapshot(table("items", col("qty", "integer", notNull=True, default=0), col("note", "varchar(20)")))
    after = snapshot(table("items", col("qty", "bigint", default=1), col("note", "text", notNull=True)))
    text = draft_down(before, after, tag="t").text
    assert statements(text) == [
        'ALTER TABLE "public"."items" ALTER COLUMN "qty" DROP DEFAULT;',
        'ALTER TABLE "public"."items" ALTER COLUMN "qty" SET DATA TYPE integer USING "qty"::integer;',
        'ALTER TABLE "public"."items" ALTER COLUMN "qty" SET DEFAULT 0;',
        'ALTER TABLE "public"."items" ALTER COLUMN "qty" SET NOT NULL;',
        'ALTER TABLE "public"."items" ALTER COLUMN "note" SET DATA TYPE varchar(20) USING "note"::varchar(20);',
        'ALTER TABLE "public"."items" ALTER COLUMN "note" DROP NOT NULL;',
    ]
    assert "-- REVIEW: items.qty goes back from bigint to integer" in text
    assert "-- REVIEW: SET NOT NULL fails if NULLs were written to items.qty since" in text


def test_an_added_enum_value_recreates_the_type_and_converts_its_columns() -> None:
    status = col("status", "status", typeSchema="public", notNull=True, default="'draft'")
    tags = col("history", "status[]", typeSchema="public")
    before = snapshot(table("posts", status, tags), enums={"status": ["draft", "live"]})
    after = snapshot(table("posts", status, tags), enums={"status": ["draft", "live", "gone"]})
    text = draft_down(before, after, tag="t").text
    assert statements(text) == [
        'ALTER TYPE "public"."status" RENAME TO "status_before_down";',
        """CREATE TYPE "public"."status" AS ENUM('draft', 'live');""",
        'ALTER TABLE "public"."posts" ALTER COLUMN "status" DROP DEFAULT;',
        'ALTER TABLE "public"."posts" ALTER COLUMN "status" SET DATA TYPE "public"."status" '
        'USING "status"::text::"public"."status";',
        """ALTER TABLE "public"."posts" ALTER COLUMN "status" SET DEFAULT 'draft';""",
        'ALTER TABLE "public"."posts" ALTER COLUMN "history" SET DATA TYPE "public"."status"[] '
        'USING "history"::text[]::"public"."status"[];',
        'DROP TYPE "public"."status_before_down";',
    ]
    assert "-- REVIEW: PostgreSQL cannot remove a value from an enum, so status is created again without 'gone'" in text


def test_renames_recorded_by_drizzle_kit_are_reversed_instead_of_dropping_data() -> None:
    before = snapshot(
        table("people", col("id", "uuid", primaryKey=True, notNull=True), col("mail", "text")),
        table(
            "notes",
            col("id", "serial"),
            col("person", "uuid"),
            foreignKeys={"n_p": fk("n_p", "notes", "person", "people")},
        ),
    )
    after = copy.deepcopy(before)
    people = after["tables"].pop("public.people")
    people["name"] = "users"
    people["columns"] = {"id": people["columns"]["id"], "email": {**people["columns"]["mail"], "name": "email"}}
    after["tables"]["public.users"] = people
    after["tables"]["public.notes"]["foreignKeys"]["n_p"]["tableTo"] = "users"
    after["tables"]["public.users"]["columns"]["nickname"] = col("nickname", "text")
    after["_meta"] = {
        "schemas": {},
        "tables": {'"public"."people"': '"public"."users"'},
        "columns": {'"public"."users"."mail"': '"public"."users"."email"'},
    }
    text = draft_down(before, after, tag="t").text
    assert statements(text) == [
        'ALTER TABLE "public"."users" DROP COLUMN "nickname";',
        'ALTER TABLE "public"."users" RENAME COLUMN "email" TO "mail";',
        'ALTER TABLE "public"."users" RENAME TO "people";',
    ]


def test_what_the_draft_cannot_undo_is_a_review_note_in_the_header() -> None:
    before = snapshot(USERS)
    after = snapshot(USERS, views={"public.active": {"name": "active", "definition": "select 1"}})
    draft = draft_down(before, after, tag="t")
    assert draft.statements == 0
    assert "-- REVIEW: the snapshots differ in views, which this draft does not undo" in draft.text


def test_identical_snapshots_say_the_down_must_be_written_by_hand() -> None:
    draft = draft_down(snapshot(USERS), snapshot(USERS), tag="0005_custom", previous_tag="0004_x")
    assert draft.empty
    assert "from the difference between the snapshots of 0004_x and 0005_custom" in draft.text
    assert "REVIEW: the snapshots are identical (a custom migration?)" in draft.text
    assert draft.reviews[0].startswith("the snapshots are identical")


def test_a_snapshot_format_it_cannot_read_is_a_review_note_not_a_wrong_draft() -> None:
    v1 = {"version": "9", "dialect": "postgres", "id": "a", "prevIds": ["b"], "ddl": []}
    draft = draft_down(v1, {**v1, "id": "c"}, tag="20261124140327_sets", previous_tag="20261124140325_init")
    assert draft.empty and is_draft(draft.text)
    assert (
        "REVIEW: the snapshots are drizzle-kit snapshot version 9 (the v1 layout?), which this draft cannot read"
        in (draft.text)
    )
    assert "identical" not in draft.text
