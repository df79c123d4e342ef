"""drizzle-kit's jsonb string-default quirk is still a difference, with a message that says what it is."""

from __future__ import annotations

from drizzle_ops.verify.compare import compare
from drizzle_ops.verify.model import Column, Schema, Table
from drizzle_ops.verify.quirks import jsonb_string_default


def _schema(default: str) -> Schema:
    table = Table("public", "prefs", columns={"mode": Column("mode", "jsonb", False, False, default)})
    return Schema(schemas={"public"}, tables={("public", "prefs"): table})


def test_the_quirk_is_named_with_both_forms() -> None:
    (difference,) = compare(_schema("'none'"), _schema("'\"none\"'::jsonb"))
    assert difference.failing
    assert str(difference) == (
        "column prefs.mode: default '\"none\"'::jsonb, snapshot says 'none' (a known drizzle-kit 0.31 snapshot "
        "quirk: it writes a jsonb string default as 'none', which is not JSON, while the JSON string is "
        "'\"none\"'::jsonb; if the migration's SQL says '\"none\"'::jsonb, accept this difference)"
    )


def test_other_json_defaults_get_no_note() -> None:
    assert jsonb_string_default("'{\"a\":1}'::jsonb", "'{\"a\": 1}'::jsonb", "jsonb") is None  # valid JSON
    assert jsonb_string_default("'none'", "'\"other\"'::jsonb", "jsonb") is None  # another value
    assert jsonb_string_default("'none'", "'\"none\"'::text", "text") is None  # not a json column
    assert jsonb_string_default("'it''s'", "'\"it''s\"'::jsonb", "jsonb") is not None
