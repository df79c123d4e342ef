"""Folding drizzle-kit v1 snapshots (version 8: whole; version 9: a base ddl, then diffs) and reading the rows."""

from __future__ import annotations

import json
from typing import Any

import pytest

from drizzle_ops.engine.workspace import ZERO_UUID, load_workspace
from drizzle_ops.errors import UserError
from drizzle_ops.verify.model import Column, ForeignKey, Index, IndexColumn, PrimaryKey, UniqueConstraint
from drizzle_ops.verify.snapshot_v1 import from_rows, key_of
from drizzle_ops.verify.v1_history import History, LostSnapshot, expected_at, expected_v1, fold, workspace_snapshots
from tests.helpers import ROOT

V1 = ROOT / "examples" / "drizzle-v1"
WORKSPACE = load_workspace(V1)


def key(entity: str, *identity: str) -> str:
    return entity + "\0" + json.dumps(list(identity), separators=(",", ":"))


def base(*rows: dict[str, Any], id_: str = "base") -> dict[str, Any]:
    return {"type": "base", "version": "9", "dialect": "postgres", "id": id_, "prevIds": [ZERO_UUID], "ddl": list(rows)}


def diff(id_: str, *deltas: dict[str, Any], parents: tuple[str, ...] = ("base",)) -> dict[str, Any]:
    return {
        "type": "diff",
        "version": "9",
        "dialect": "postgres",
        "id": id_,
        "prevIds": list(parents),
        "deltas": list(deltas),
    }


def table(name: str, schema: str = "public") -> dict[str, Any]:
    return {"schema": schema, "name": name, "isRlsEnabled": False, "entityType": "tables"}


def column(table_: str, name: str, type_: str = "integer", schema: str = "public", **extra: Any) -> dict[str, Any]:
    row = {
        "schema": schema,
        "table": table_,
        "name": name,
        "type": type_,
        "typeSchema": None,
        "notNull": False,
        "dimensions": 0,
        "default": None,
        "generated": None,
        "identity": None,
        "entityType": "columns",
    }
    return {**row, **extra}


def pk(table_: str, *columns: str, name: str | None = None) -> dict[str, Any]:
    return {
        "schema": "public",
        "table": table_,
        "name": name or f"{table_}_pkey",
        "columns": list(columns),
        "nameExplicit": name is not None,
        "entityType": "pks",
    }


def index(table_: str, name: str, *values: str, expression: str | None = None) -> dict[str, Any]:
    cols = [{"value": v, "isExpression": False, "asc": True, "nullsFirst": False, "opclass": None} for v in values]
    if expression:
        cols.append({"value": expression, "isExpression": True, "asc": True, "nullsFirst": False, "opclass": None})
    return {
        "schema": "public",
        "table": table_,
        "name": name,
        "nameExplicit": True,
        "columns": cols,
        "isUnique": False,
        "where": None,
        "with": "",
        "method": "btree",
        "concurrently": False,
        "entityType": "indexes",
    }


def fk(table_: str, name: str, columns: list[str], to: str, columns_to: list[str]) -> dict[str, Any]:
    return {
        "schema": "public",
        "table": table_,
        "name": name,
        "nameExplicit": True,
        "columns": columns,
        "schemaTo": "public",
        "tableTo": to,
        "columnsTo": columns_to,
        "onUpdate": "NO ACTION",
        "onDelete": "CASCADE",
        "entityType": "fks",
    }


def create(row: dict[str, Any]) -> dict[str, Any]:
    return {"op": "create", "row": row}


def by_key(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Rows by (entityType, *identity), e.g. ('indexes', 'public', 'users_id_idx')."""
    return {(entity, *identity): r for r in rows for entity, identity in [key_of(r)]}


# -- the committed example ---------------------------------------------------------------------------


def test_the_example_folds_to_its_whole_schema() -> None:
    rows = fold(workspace_snapshots(WORKSPACE, WORKSPACE.migrations[-1]))
    tables = sorted(r["name"] for r in rows if r["entityType"] == "tables")
    assert tables == ["sets", "users", "wishlist_items"]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["entityType"]] = counts.get(row["entityType"], 0) + 1
    assert counts == {"tables": 3, "enums": 2, "columns": 11, "pks": 3, "uniques": 1, "indexes": 2, "fks": 2}


def test_a_head_in_the_middle_stops_there() -> None:
    rows = fold(workspace_snapshots(WORKSPACE, WORKSPACE.migrations[1]))
    assert sorted(r["name"] for r in rows if r["entityType"] == "tables") == ["sets", "users"]
    assert not any(r["entityType"] == "enums" and r["name"] == "wishlist_currency" for r in rows)


def test_the_example_reads_into_the_model() -> None:
    model = expected_v1(WORKSPACE, WORKSPACE.migrations[-1])
    assert model.schemas == {"public"}
    assert model.enums == {
        ("public", "user_role"): ("member", "admin"),
        ("public", "wishlist_currency"): ("USD", "EUR", "GBP"),
    }
    users = model.tables[("public", "users")]
    assert users.columns["role"] == Column("role", "public.user_role", True, True, "'member'")
    assert users.columns["id"] == Column("id", "uuid", False, True, "gen_random_uuid()")
    assert users.primary_key == PrimaryKey(None, ("id",))  # PostgreSQL names it
    assert users.uniques == {"users_email_key": UniqueConstraint("users_email_key", ("email",), False)}
    items = model.tables[("public", "wishlist_items")]
    assert items.indexes["wishlist_items_user_sort_idx"] == Index(
        "wishlist_items_user_sort_idx",
        (IndexColumn("user_id", False), IndexColumn("sort_order", False)),
        False,
        "btree",
        None,
    )
    assert items.foreign_keys["wishlist_items_user_id_users_id_fkey"] == ForeignKey(
        "wishlist_items_user_id_users_id_fkey", ("user_id",), "public", "users", ("id",), "cascade", "no action"
    )


# -- the ops ------------------------------------------------------------------------------------------


def test_create_drop_and_alter() -> None:
    rows = fold(
        [
            ("0/snapshot.json", base(table("t"), column("t", "a"), column("t", "b"))),
            (
                "1/snapshot.json",
                diff(
                    "one",
                    create(column("t", "a")),  # the same row again: no change
                    {"op": "drop", "key": key("columns", "public", "t", "b")},
                    {"op": "drop", "key": key("columns", "public", "t", "gone")},  # absent: no change
                    {
                        "op": "alter",
                        "key": key("columns", "public", "t", "a"),
                        "set": {"notNull": True, "default": "1"},
                    },
                    {"op": "alter", "key": key("columns", "public", "t", "gone"), "set": {"notNull": True}},
                ),
            ),
        ]
    )
    found = by_key(rows)
    assert set(found) == {("tables", "public", "t"), ("columns", "public", "t", "a")}
    assert found[("columns", "public", "t", "a")]["notNull"] is True
    assert found[("columns", "public", "t", "a")]["default"] == "1"


def test_creating_one_name_twice_differently_names_both_files() -> None:
    snapshots = [
        ("0/snapshot.json", base(table("t"), column("t", "a"))),
        ("1/snapshot.json", diff("one", create(column("t", "a", "text")))),
    ]
    with pytest.raises(UserError, match=r"1/snapshot.json creates column public\.t\.a, which 0/snapshot.json already"):
        fold(snapshots)


def test_a_renamed_table_takes_its_rows_along() -> None:
    rows = fold(
        [
            (
                "0",
                base(
                    table("sets"),
                    table("m"),
                    column("sets", "id"),
                    column("m", "set_id"),
                    pk("sets", "id"),
                    index("sets", "sets_id_idx", "id"),
                    fk("m", "m_set_fk", ["set_id"], "sets", ["id"]),
                    fk("sets", "sets_self_fk", ["id"], "sets", ["id"]),
                ),
            ),
            (
                "1",
                diff("one", {"op": "rename", "key": key("tables", "public", "sets"), "set": {"name": "collections"}}),
            ),
        ]
    )
    found = by_key(rows)
    assert ("tables", "public", "collections") in found and ("tables", "public", "sets") not in found
    assert ("columns", "public", "collections", "id") in found
    assert found[("pks", "public", "collections", "sets_pkey")]["columns"] == ["id"]  # the constraint keeps its name
    assert found[("indexes", "public", "sets_id_idx")]["table"] == "collections"
    assert found[("fks", "public", "m", "m_set_fk")]["tableTo"] == "collections"
    self_fk = found[("fks", "public", "collections", "sets_self_fk")]
    assert (self_fk["table"], self_fk["tableTo"]) == ("collections", "collections")


def test_a_renamed_column_is_renamed_in_keys_and_index_columns_but_not_in_expressions() -> None:
    rows = fold(
        [
            (
                "0",
                base(
                    table("users"),
                    table("m"),
                    column("users", "id"),
                    column("m", "user_id"),
                    pk("users", "id"),
                    {**pk("m", "user_id"), "entityType": "uniques", "name": "m_user_key", "nullsNotDistinct": False},
                    index("users", "users_id_idx", "id", expression="id + 1"),
                    fk("m", "m_user_fk", ["user_id"], "users", ["id"]),
                ),
            ),
            (
                "1",
                diff("one", {"op": "rename", "key": key("columns", "public", "users", "id"), "set": {"name": "uid"}}),
            ),
        ]
    )
    found = by_key(rows)
    assert ("columns", "public", "users", "uid") in found
    assert found[("pks", "public", "users", "users_pkey")]["columns"] == ["uid"]
    assert [c["value"] for c in found[("indexes", "public", "users_id_idx")]["columns"]] == ["uid", "id + 1"]
    assert found[("fks", "public", "m", "m_user_fk")]["columnsTo"] == ["uid"]
    assert found[("fks", "public", "m", "m_user_fk")]["columns"] == ["user_id"]  # the other table's column stays
    assert found[("uniques", "public", "m", "m_user_key")]["columns"] == ["user_id"]


def test_a_renamed_schema_takes_tables_enums_sequences_and_enum_columns_along() -> None:
    enum = {"schema": "shop", "name": "status", "values": ["new"], "entityType": "enums"}
    rows = fold(
        [
            (
                "0",
                base(
                    {"name": "shop", "entityType": "schemas"},
                    table("orders", "shop"),
                    enum,
                    {"schema": "shop", "name": "seq", "entityType": "sequences"},
                    column("orders", "status", "status", "shop", typeSchema="shop", dimensions=1),
                ),
            ),
            ("1", diff("one", {"op": "rename", "key": key("schemas", "shop"), "set": {"name": "store"}})),
            (
                "2",
                diff(
                    "two",
                    {"op": "rename", "key": key("enums", "store", "status"), "set": {"name": "state"}},
                    parents=("one",),
                ),
            ),
        ]
    )
    found = by_key(rows)
    assert {k for k in found if k[0] != "columns"} == {
        ("schemas", "store"),
        ("tables", "store", "orders"),
        ("enums", "store", "state"),
        ("sequences", "store", "seq"),
    }
    status = found[("columns", "store", "orders", "status")]
    assert (status["typeSchema"], status["type"]) == ("store", "state")
    model = from_rows(rows)
    assert model.tables[("store", "orders")].columns["status"].type == "store.state[]"
    assert model.schemas == {"public", "store"}


def test_a_rename_onto_an_existing_name_is_refused() -> None:
    snapshots = [
        ("0", base(table("a"), table("b"))),
        ("1/snapshot.json", diff("one", {"op": "rename", "key": key("tables", "public", "a"), "set": {"name": "b"}})),
    ]
    with pytest.raises(UserError, match=r"1/snapshot.json renames table public\.b onto another entity"):
        fold(snapshots)


def test_a_merge_starts_from_its_first_parent_then_folds_the_other_branch_in_workspace_order() -> None:
    # two branches from base set one default; the merge's first parent is b (drizzle-kit lists the newest leaf
    # first), so a's change lands last, as drizzle-kit reconstructs it, though a sorts first in the workspace
    def alter(value: str) -> dict[str, Any]:
        return {"op": "alter", "key": key("columns", "public", "t", "c"), "set": {"default": value}}

    snapshots = [
        ("0", base(table("t"), column("t", "c"))),
        ("1_a", diff("a", alter("'a'"))),
        ("2_b", diff("b", alter("'b'"), create(column("t", "from_b")))),
        ("3_a2", diff("a2", create(column("t", "from_a2")), parents=("a",))),
        ("4_merge", diff("m", parents=("b", "a2"))),
        ("5_after", diff("after", create(column("t", "late")), parents=("m",))),
    ]
    found = by_key(fold(snapshots))
    assert found[("columns", "public", "t", "c")]["default"] == "'a'"
    assert {k[3] for k in found if k[0] == "columns"} == {"c", "from_b", "from_a2", "late"}
    # a branch's own head sees only its ancestors
    assert {k[3] for k in by_key(fold(snapshots, "b")) if k[0] == "columns"} == {"c", "from_b"}


# -- reading rows into the model ----------------------------------------------------------------------


def test_rows_read_like_v7_snapshots() -> None:
    rows = [
        table("t"),
        column("t", "n", "serial", notNull=True),
        column("t", "tags", "text", dimensions=2, default="'{}'"),
        column("t", "b", "bigint", notNull=True, identity={"type": "byDefault", "name": "t_b_seq"}),
        column("t", "g", "integer", generated={"as": "n * 2", "type": "stored"}),
        column("t", "p", "varchar(20)", typeSchema="pg_catalog"),
        pk("t", "n", "b", name="t_custom_pk"),
        {
            **index("t", "t_idx", "tags"),
            "columns": [
                {"value": "tags", "isExpression": False, "asc": False, "nullsFirst": True, "opclass": None},
                {
                    "value": "p",
                    "isExpression": False,
                    "asc": True,
                    "nullsFirst": True,
                    "opclass": {"name": "text_pattern_ops", "default": False},
                },
                {
                    "value": "n",
                    "isExpression": False,
                    "asc": True,
                    "nullsFirst": False,
                    "opclass": {"name": "int4_ops", "default": True},
                },
            ],
            "method": "GIN",
            "where": '"n" > 0',
            "with": "fillfactor=70, Deduplicate_Items=false",
        },
        {**fk("t", "t_fk", ["n"], "t", ["n"]), "onDelete": "SET NULL", "onUpdate": None},
        {"schema": "public", "table": "t", "name": "t_check", "value": '"n" > 0', "entityType": "checks"},
        {"schema": "public", "name": "v", "definition": "select 1", "materialized": False, "entityType": "views"},
        {"name": "r", "entityType": "roles"},
    ]
    t = from_rows(rows).tables[("public", "t")]
    assert t.columns["n"] == Column("n", "integer", False, True, None, serial=True)
    assert t.columns["tags"].type == "text[]" and t.columns["tags"].default == "'{}'"
    assert t.columns["b"].identity == "byDefault"
    assert t.columns["g"].generated == "n * 2" and t.columns["g"].default is None
    assert (t.columns["p"].type, t.columns["p"].type_qualified) == ("character varying(20)", False)
    assert t.primary_key == PrimaryKey("t_custom_pk", ("n", "b"))
    assert t.indexes["t_idx"] == Index(
        "t_idx",
        (
            IndexColumn("tags", False, desc=True, nulls_first=True),
            IndexColumn("p", False, nulls_first=True, opclass="text_pattern_ops"),
            IndexColumn("n", False),
        ),
        False,
        "gin",
        '"n" > 0',
        (("deduplicate_items", "false"), ("fillfactor", "70")),
    )
    assert (t.foreign_keys["t_fk"].on_delete, t.foreign_keys["t_fk"].on_update) == ("set null", "no action")
    assert t.checks["t_check"].expression == '"n" > 0'


# -- what cannot be read ------------------------------------------------------------------------------


def test_an_unknown_op_names_the_file_and_the_delta() -> None:
    snapshots = [("0", base(table("t"))), ("1/snapshot.json", diff("one", {"op": "move", "key": "x"}))]
    with pytest.raises(UserError, match=r"1/snapshot.json: delta 1 has op 'move'"):
        fold(snapshots)


def test_an_unknown_entity_type_names_the_file() -> None:
    snapshots = [("0/snapshot.json", base(table("t"), {"name": "x", "entityType": "triggers"}))]
    with pytest.raises(UserError, match=r"0/snapshot.json: a row of entity type 'triggers'"):
        fold(snapshots)


def test_an_unreadable_key_names_the_file() -> None:
    snapshots = [("0", base(table("t"))), ("1/snapshot.json", diff("one", {"op": "drop", "key": "tables\0not json"}))]
    with pytest.raises(UserError, match=r"1/snapshot.json: cannot read the delta key"):
        fold(snapshots)


def test_a_snapshot_of_another_version_is_refused() -> None:
    with pytest.raises(UserError, match=r"0/snapshot.json is a snapshot of version '7'; .* versions '8' .* and '9'"):
        fold([("0/snapshot.json", {**base(table("t")), "version": "7"})])


def test_a_diff_that_reaches_no_base_is_refused() -> None:
    snapshots = [("1/snapshot.json", diff("one", parents=("missing",)))]
    with pytest.raises(UserError, match=r"1/snapshot.json: its first parent missing leads to no base snapshot"):
        fold(snapshots)


def test_a_merge_of_a_missing_snapshot_is_refused() -> None:
    snapshots = [("0", base(table("t"))), ("1/snapshot.json", diff("m", parents=("base", "elsewhere")))]
    with pytest.raises(UserError, match=r"1/snapshot.json: merges snapshot elsewhere, which no migration"):
        fold(snapshots)


def test_a_row_twice_in_a_base_is_refused() -> None:
    with pytest.raises(UserError, match=r"0/snapshot.json lists table public\.t twice"):
        fold([("0/snapshot.json", base(table("t"), table("t")))])


def test_a_row_that_cannot_be_read_names_its_file_and_entity() -> None:
    broken = {**column("t", "a")}
    del broken["type"]
    with pytest.raises(UserError, match=r"1/snapshot.json: cannot read column public\.t\.a"):
        from_rows([table("t"), broken], "x", {("columns", ("public", "t", "a")): "1/snapshot.json"})
    with pytest.raises(UserError, match=r"x: the snapshots have column public\.gone\.b but not its table"):
        from_rows([table("t"), column("gone", "b")], "x")


# -- version "8" (1.0.0-beta.x to rc.4): every snapshot is whole ---------------------------------------


def whole(id_: str, *rows: dict[str, Any], parents: tuple[str, ...] = (ZERO_UUID,)) -> dict[str, Any]:
    return {
        "version": "8",
        "dialect": "postgres",
        "id": id_,
        "prevIds": list(parents),
        "ddl": list(rows),
        "renames": [],
    }


def test_a_version_8_snapshot_is_its_own_ddl_whatever_came_before() -> None:
    snapshots = [
        ("0", whole("a", table("t"), column("t", "x"))),
        ("1", whole("b", table("t"), column("t", "y", "text"), parents=("a",))),
    ]
    assert {k[3]: r["type"] for k, r in by_key(fold(snapshots)).items() if k[0] == "columns"} == {"y": "text"}
    assert {k[3] for k in by_key(fold(snapshots, "a")) if k[0] == "columns"} == {"x"}
    # a lost parent does not matter: the snapshot holds everything
    assert {k[3] for k in by_key(fold(snapshots[1:])) if k[0] == "columns"} == {"y"}


def test_open_branches_merge_from_their_common_ancestor_in_folder_order() -> None:
    # c and d change one column from one parent and nothing merged them (drizzle-kit's --ignore-conflicts):
    # migrate ran c, then d, then e, so d's type stands, and c's own column is there too
    fork = whole("p", table("t"), column("t", "name", "varchar(100)"), parents=("root",))
    c = whole("c", table("t"), column("t", "name", "varchar(200)"), column("t", "from_c"), parents=("p",))
    d = whole("d", table("t"), column("t", "name", "text"), parents=("p",))
    e = whole("e", table("t"), column("t", "name", "text"), column("t", "bio"), parents=("d",))
    history = History([("0", whole("root", table("t"))), ("1", fork), ("2", c), ("3", d), ("4", e)])
    assert [n.id for n in history.leaves()] == ["c", "e"]
    assert history.common_ancestor(["c", "e"]) == "p"
    rows = by_key(list(history.merged(["c", "e"]).rows.values()))
    assert {k[3]: r["type"] for k, r in rows.items() if k[0] == "columns"} == {
        "name": "text",
        "from_c": "integer",
        "bio": "integer",
    }


def test_open_version_9_branches_merge_the_same_way() -> None:
    def alter(value: str) -> dict[str, Any]:
        return {"op": "alter", "key": key("columns", "public", "t", "c"), "set": {"type": value}}

    history = History(
        [
            ("0", base(table("t"), column("t", "c"))),
            ("1_a", diff("a", alter("varchar(200)"), create(column("t", "from_a")))),
            ("2_b", diff("b", alter("text"))),
        ]
    )
    rows = by_key(list(history.merged([n.id for n in history.leaves()]).rows.values()))
    assert rows[("columns", "public", "t", "c")]["type"] == "text"  # b's folder sorts later: it ran last
    assert ("columns", "public", "t", "from_a") in rows


def test_a_migration_without_snapshot_is_no_node_and_the_head_before_it_describes_the_schema(tmp_path: Any) -> None:
    drizzle = tmp_path / "drizzle"
    for name, snapshot in [
        ("20260101000000_init", whole("a", table("t"))),
        ("20260101000001_by_hand", None),
        ("20260101000002_u", whole("b", table("t"), table("u"), parents=("a",))),
        ("20260101000003_v", whole("c", table("t"), table("v"), parents=("a",))),  # a branch from a
        ("20260101000004_by_hand_too", None),
    ]:
        (drizzle / name).mkdir(parents=True)
        (drizzle / name / "migration.sql").write_text("select 1;")
        if snapshot:
            (drizzle / name / "snapshot.json").write_text(json.dumps(snapshot))
    (tmp_path / "drizzle.config.ts").write_text('export default { dialect: "postgresql", out: "./drizzle" };')
    workspace = load_workspace(tmp_path)
    at_hand = expected_at(workspace, workspace.migrations[1])
    assert at_hand is not None and at_hand.head.tag == "20260101000000_init"
    last = expected_at(workspace, workspace.migrations[-1])
    assert last is not None
    assert (last.head.tag, [m.tag for m in last.merged]) == ("20260101000003_v", ["20260101000002_u"])
    assert sorted(name for _, name in last.schema.tables) == ["t", "u", "v"]


def test_a_lost_snapshot_stops_a_merge_of_heads_it_would_fake() -> None:
    # b's snapshot.json is gone: c names it, and a looks like an open head beside c
    history = History([("0/snapshot.json", whole("a", table("t"))), ("2/snapshot.json", whole("c", parents=("b",)))])
    assert [n.id for n in history.leaves()] == ["a", "c"]
    with pytest.raises(LostSnapshot, match=r"2/snapshot.json: names the parent snapshot b, which no migration") as lost:
        history.merged(["a", "c"])
    assert lost.value.source == "2/snapshot.json"
