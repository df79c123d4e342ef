"""Names cut as PostgreSQL stores them (63 bytes, never inside a character), and the enum-order warning."""

from __future__ import annotations

import pytest

from drizzle_ops.verify.compare import FAIL, WARNING, compare
from drizzle_ops.verify.identifiers import MAX_BYTES, truncate
from drizzle_ops.verify.model import Schema
from drizzle_ops.verify.snapshot import from_snapshot


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("users", "users"),
        ("a" * 63, "a" * 63),  # exactly 63 bytes: kept whole
        ("a" * 64, "a" * 63),
        ("a" * 100, "a" * 63),
        ("a" * 61 + "é", "a" * 61 + "é"),  # 61 + 2 = 63 bytes
        ("a" * 62 + "é", "a" * 62),  # é would need bytes 63 and 64: dropped whole
        ("a" * 61 + "€x", "a" * 61),  # a 3-byte character across the boundary
        ("a" * 60 + "€x", "a" * 60 + "€"),  # 60 + 3 = 63 bytes
        ("a" * 62 + "😀", "a" * 62),  # 4 bytes
        ("ü" * 40, "ü" * 31),  # 31 * 2 = 62 bytes; the 32nd would end at byte 64
    ],
)
def test_truncate_cuts_at_63_bytes_on_a_character_boundary(name: str, stored: str) -> None:
    assert truncate(name) == stored
    assert len(truncate(name).encode()) <= MAX_BYTES


def _fk_snapshot(fk_name: str, table: str) -> dict[str, object]:
    columns = {c: {"name": c, "type": "integer", "notNull": True} for c in ("owner_id", "item_id")}
    return {
        "tables": {
            f"public.{table}": {
                "name": table,
                "schema": "",
                "columns": columns,
                "indexes": {},
                "foreignKeys": {
                    fk_name: {
                        "name": fk_name,
                        "tableFrom": table,
                        "tableTo": table,
                        "columnsFrom": ["owner_id", "item_id"],
                        "columnsTo": ["owner_id", "item_id"],
                        "onDelete": "cascade",
                        "onUpdate": "no action",
                    }
                },
                "compositePrimaryKeys": {},
                "uniqueConstraints": {},
                "checkConstraints": {},
            }
        },
        "enums": {},
        "schemas": {},
    }


def test_a_snapshot_is_read_with_the_names_the_server_stores() -> None:
    table = "wishlist_item_reservations_by_owner"
    fk = f"{table}_owner_id_item_id_{table}_owner_id_item_id_fk"
    assert len(fk) > 63
    model = from_snapshot(_fk_snapshot(fk, table))
    foreign_keys = model.tables[("public", table)].foreign_keys
    assert list(foreign_keys) == [fk[:63]]
    assert foreign_keys[fk[:63]].name == fk[:63]


def test_long_table_and_enum_names_are_cut_in_keys_and_references() -> None:
    long_table = "t" * 70
    model = from_snapshot(_fk_snapshot("fk", long_table))
    assert list(model.tables) == [("public", "t" * 63)]
    assert model.tables[("public", "t" * 63)].foreign_keys["fk"].target_table == "t" * 63
    snapshot = {
        "enums": {"public.e": {"name": "e" * 64, "schema": "public", "values": ["x"]}},
        "tables": {
            "public.t": {
                "name": "t",
                "schema": "",
                "columns": {"c": {"name": "c", "type": "e" * 64, "typeSchema": "public", "notNull": False}},
            }
        },
    }
    model = from_snapshot(snapshot)
    assert list(model.enums) == [("public", "e" * 63)]
    assert model.tables[("public", "t")].columns["c"].type == "public." + "e" * 63


def test_an_enum_in_another_order_is_a_warning_with_its_own_wording() -> None:
    expected, actual = Schema(schemas={"public"}), Schema(schemas={"public"})
    expected.enums[("public", "status")] = ("a", "b", "c")
    actual.enums[("public", "status")] = ("a", "c", "b")
    (difference,) = compare(expected, actual)
    assert difference.severity == WARNING and not difference.failing
    assert str(difference) == (
        "enum status: same values in another order (database: a, c, b; snapshot: a, b, c); "
        "an ADD VALUE without BEFORE appends (older drizzle-kit, hand-written SQL), "
        "so this is expected after adding a value in the middle"
    )


def test_an_enum_with_other_values_still_fails() -> None:
    expected, actual = Schema(schemas={"public"}), Schema(schemas={"public"})
    expected.enums[("public", "status")] = ("a", "b")
    actual.enums[("public", "status")] = ("b", "a", "c")
    (difference,) = compare(expected, actual)
    assert difference.severity == FAIL
    assert str(difference) == "enum status: values (b, a, c), snapshot says (a, b)"
