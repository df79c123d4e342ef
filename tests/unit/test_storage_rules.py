"""PostgreSQL's storage rules (verify/storage_rules.py), applied by compare without a server."""

from __future__ import annotations

import pytest

from drizzle_ops.verify.canonical import drizzle_key
from drizzle_ops.verify.compare import compare
from drizzle_ops.verify.model import Column, IndexColumn, PrimaryKey, Schema, Table, UniqueConstraint
from drizzle_ops.verify.snapshot import column_from_snapshot
from drizzle_ops.verify.storage_rules import (
    absorbed_unique,
    collation_name,
    collations_equal,
    null_default,
    split_collation,
)


def _schema(table: Table) -> Schema:
    return Schema(schemas={"public"}, tables={("public", table.name): table})


def _table(pk: PrimaryKey | None, *uniques: UniqueConstraint, columns: tuple[Column, ...] = ()) -> Table:
    table = Table("public", "t", primary_key=pk)
    table.columns = {c.name: c for c in columns}
    table.uniques = {u.name: u for u in uniques}
    return table


def _col(name: str = "c", type_: str = "text", default: str | None = None, **extra: object) -> Column:
    return Column(name, type_, False, False, default, **extra)  # type: ignore[arg-type]


# -- A: a UNIQUE on the primary key's columns in CREATE TABLE -----------------------------------


def test_a_unique_absorbed_by_an_unnamed_primary_key_that_took_its_name() -> None:
    unique = UniqueConstraint("t_id_key", ("id",), False)
    expected = _table(PrimaryKey(None, ("id",)), unique)
    actual = _table(PrimaryKey("t_id_key", ("id",)))
    assert absorbed_unique(expected, actual, unique)
    assert compare(_schema(expected), _schema(actual)) == []


def test_a_unique_absorbed_by_a_named_primary_key_that_kept_its_name() -> None:
    unique = UniqueConstraint("t_ab_key", ("a", "b"), False)
    expected = _table(PrimaryKey("t_pk", ("a", "b")), unique)
    assert compare(_schema(expected), _schema(_table(PrimaryKey("t_pk", ("a", "b"))))) == []


@pytest.mark.parametrize(
    ("unique", "pk"),
    [
        (UniqueConstraint("t_id_key", ("id",), False), PrimaryKey("t_pkey", ("id",))),  # dropped, not absorbed
        (UniqueConstraint("t_ba_key", ("b", "a"), False), PrimaryKey("t_ba_key", ("a", "b"))),  # another order
        (UniqueConstraint("t_id_key", ("id",), True), PrimaryKey("t_id_key", ("id",))),  # nulls not distinct
    ],
)
def test_other_missing_uniques_are_still_reported(unique: UniqueConstraint, pk: PrimaryKey) -> None:
    expected = _table(PrimaryKey(None, pk.columns), unique)
    found = [str(d) for d in compare(_schema(expected), _schema(_table(pk)))]
    assert f"unique constraint {unique.name}: missing on t" in found


# -- B: NULL defaults ---------------------------------------------------------------------------


@pytest.mark.parametrize("stored", [None, "NULL::character varying", "NULL::numeric", "NULL::character varying[]"])
@pytest.mark.parametrize("snapshot", [None, "null", "NULL"])
def test_a_null_default_is_no_default_outside_domains(snapshot: str | None, stored: str | None) -> None:
    expected = _table(None, columns=(_col(default=snapshot),))
    actual = _table(None, columns=(_col(default=stored),))
    assert compare(_schema(expected), _schema(actual)) == []


def test_a_domain_columns_null_default_is_never_forgiven() -> None:
    domain = _col(type_="public.positive", default="NULL::integer", domain=True)
    assert null_default(domain.default, domain) == "NULL::integer"
    expected = _table(None, columns=(_col(type_="public.positive"),))
    found = [str(d) for d in compare(_schema(expected), _schema(_table(None, columns=(domain,))))]
    assert found == ["column t.c: default NULL::integer, snapshot says none"]
    wants_null = _table(None, columns=(_col(type_="public.positive", default="null"),))
    no_default = _table(None, columns=(_col(type_="public.positive", domain=True),))
    assert [str(d) for d in compare(_schema(wants_null), _schema(no_default))] == [
        "column t.c: no default, snapshot says null"
    ]
    assert compare(_schema(wants_null), _schema(_table(None, columns=(domain,)))) == []


# -- C: collations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "split"),
    [
        ('text COLLATE "C"', ("text", "C")),
        ('varchar(20) collate "en-x-icu"', ("varchar(20)", "en-x-icu")),
        ("text COLLATE posix", ("text", "posix")),  # unquoted: folded, as the parser folds it
        ('text COLLATE "POSIX"', ("text", "POSIX")),
        ('text COLLATE "default"', ("text", None)),
        ('text COLLATE "pg_catalog"."C"', ("text", "C")),
        ('text COLLATE "public"."My Coll"', ("text", '"public"."My Coll"')),
        ("text", ("text", None)),
    ],
)
def test_the_collation_is_split_off_the_snapshot_type_with_its_case(type_: str, split: tuple[str, str | None]) -> None:
    assert split_collation(type_) == split


def test_collations_compare_case_sensitively_and_by_name_outside_pg_catalog() -> None:
    assert collations_equal("C", "C")
    assert not collations_equal("c", "C")
    assert not collations_equal("C", None)
    assert collations_equal("My Coll", collation_name("public", "My Coll"))
    assert not collations_equal("Coll", collation_name("public", "My Coll"))


def test_a_collation_difference_is_reported_and_the_type_still_matches() -> None:
    expected = _table(None, columns=(_col(collation="C"),))
    assert compare(_schema(expected), _schema(_table(None, columns=(_col(collation="C"),)))) == []
    found = [str(d) for d in compare(_schema(expected), _schema(_table(None, columns=(_col(),))))]
    assert found == ['column t.c: the type\'s default collation, snapshot says collation "C"']


def test_the_snapshot_reader_keeps_the_collation_apart_from_the_type() -> None:
    column = column_from_snapshot({"name": "sku", "type": 'text COLLATE "C"', "notNull": True}, {})
    assert (column.type, column.collation) == ("text", "C")


# -- D: index keys as drizzle-kit writes them ---------------------------------------------------


@pytest.mark.parametrize(
    ("key", "written"),
    [
        (IndexColumn('"created_at" DESC', True), '"created_at" DESC'),  # verbatim, never wrapped in parentheses
        (IndexColumn('lower("email")', True), 'lower("email")'),
        (IndexColumn("email", False, opclass="text_pattern_ops"), '"email" text_pattern_ops'),
        (IndexColumn("created_at", False, desc=True, nulls_first=False), '"created_at" DESC NULLS LAST'),
        (IndexColumn("code", False, nulls_first=True), '"code" NULLS FIRST'),
        (IndexColumn("code", False), '"code"'),
    ],
)
def test_index_keys_are_written_as_drizzle_kit_writes_them(key: IndexColumn, written: str) -> None:
    assert drizzle_key(key).as_string(None) == written
