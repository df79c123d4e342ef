"""Snapshot reading and the text rules conformance compares with (no server)."""

from __future__ import annotations

import pytest

from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.errors import UserError
from drizzle_ops.verify.compare import compare
from drizzle_ops.verify.expressions import check_body, loose, strip_qualifiers
from drizzle_ops.verify.model import Column, Schema, Table
from drizzle_ops.verify.snapshot import from_snapshot, normalise_type
from tests.helpers import EXAMPLE


@pytest.mark.parametrize(
    ("snapshot", "catalog"),
    [
        ("numeric(10, 2)", "numeric(10,2)"),
        ("varchar(32)", "character varying(32)"),
        ("varchar", "character varying"),
        ("timestamp", "timestamp without time zone"),
        ("timestamp (3)", "timestamp(3) without time zone"),
        ("timestamp(3) with time zone", "timestamp(3) with time zone"),
        ("timestamptz", "timestamp with time zone"),
        ("time", "time without time zone"),
        ("char", "character(1)"),
        ("serial", "integer"),
        ("bigserial", "bigint"),
        ("double precision", "double precision"),
        ("text[]", "text[]"),
        ("integer[][]", "integer[]"),
        ("varchar(20)[3]", "character varying(20)[]"),
        ("geometry(point, 4326)", "geometry(point,4326)"),
    ],
)
def test_types_are_spelled_like_format_type(snapshot: str, catalog: str) -> None:
    assert normalise_type(snapshot) == catalog
    assert normalise_type(catalog) == catalog


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ("'USD'", "'USD'::wishlist_currency"),
        ("'{}'", "'{}'::public.colour[]"),
        ("-1", "'-1'::integer"),
        ("'1.5'", "1.5"),
        ("false", "false"),
        ("now()", "now()"),
        ('"price" >= 0', "(price >= (0)::numeric)"),
        ('"moc_id" is not null', "moc_id IS NOT NULL"),
        ('lower("url")', "lower(url)"),
        ("'[]'::jsonb", "'[]'::jsonb"),
        ("'x'::character varying", "'x'::character varying(20)"),
    ],
)
def test_loose_forms_match(expected: str, actual: str) -> None:
    assert loose(expected) == loose(actual)


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ("'USD'", "'EUR'::wishlist_currency"),
        ("0", "1"),
        ('"price" >= 0', "(price > (0)::numeric)"),
        ("'It''s'", "'it''s'"),  # literals keep their case
        ("(a + b) * c", "a + b * c"),  # parentheses that group are kept
        ("lower(url)", "upper(url)"),
    ],
)
def test_loose_forms_differ(expected: str, actual: str) -> None:
    assert loose(expected) != loose(actual)


def test_qualifiers_of_the_own_table_are_dropped_outside_literals() -> None:
    text = '"shop"."items"."kind" in (\'a\') and "items"."neg" < 10 and note = \'"items".x\''
    assert strip_qualifiers(text, "shop", "items") == '"kind" in (\'a\') and "neg" < 10 and note = \'"items".x\''
    assert strip_qualifiers('"other"."neg" > 0', "public", "items") == '"other"."neg" > 0'


def test_check_body() -> None:
    assert check_body("CHECK ((price >= (0)::numeric)) NOT VALID") == "((price >= (0)::numeric))"


def test_example_snapshot_model() -> None:
    workspace = load_workspace(EXAMPLE)
    model = from_snapshot(workspace.migrations[7].snapshot())
    assert model.enums[("public", "wishlist_currency")] == ("USD", "EUR", "GBP", "CAD", "AUD")
    items = model.tables[("public", "wishlist_items")]
    assert items.columns["price"].type == "numeric(10,2)"
    assert items.columns["currency"].type == "public.wishlist_currency" and items.columns["currency"].default == "'USD'"
    assert items.columns["priority"].default == "0"
    assert [c.expression for c in items.indexes["wishlist_items_user_sort_idx"].columns] == ["user_id", "sort_order"]
    assert items.foreign_keys["wishlist_items_user_id_users_id_fk"].on_delete == "cascade"
    sets = model.tables[("public", "sets")]
    assert sets.columns["id"].serial and sets.columns["id"].default is None
    assert sets.columns["retired"].default == "false"
    user_sets = model.tables[("public", "user_sets")]
    assert user_sets.primary_key is not None and user_sets.primary_key.columns == ("user_id", "set_id")
    gallery = model.tables[("public", "gallery_images")]
    assert gallery.indexes["gallery_images_moc_id_idx"].where == '"gallery_images"."moc_id" is not null'
    assert gallery.indexes["gallery_images_tags_idx"].method == "gin"


def test_a_broken_snapshot_is_bad_input() -> None:
    with pytest.raises(UserError, match="not a drizzle-kit v7 snapshot"):
        from_snapshot({"tables": {"public.x": {"columns": {}}}}, "meta/0000_snapshot.json")


def _table(columns: dict[str, Column]) -> Schema:
    schema = Schema(schemas={"public"})
    schema.tables[("public", "t")] = Table("public", "t", columns)
    return schema


def test_differences_are_worded_precisely() -> None:
    want = _table({"price": Column("price", "numeric(12,2)", False, False, None)})
    have = _table(
        {
            "price": Column("price", "numeric(10,2)", False, True, "0"),
            "extra": Column("extra", "text", False, False, None),
        }
    )
    assert [str(d) for d in compare(want, have)] == [
        "column t.price: type numeric(10,2), snapshot says numeric(12,2)",
        "column t.price: not null, snapshot says nullable",
        "column t.price: default 0, snapshot says none",
        "column t.extra: not in snapshot",
    ]
    assert [str(d) for d in compare(want, Schema(schemas={"public"}))] == ["table t: missing"]
    assert [str(d) for d in compare(Schema(schemas={"public"}), want)] == ["table t: not in snapshot"]
