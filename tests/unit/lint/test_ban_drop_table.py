from .util import check, flagged

RULE = "ban-drop-table"


def test_drop_table_is_an_error_per_table() -> None:
    findings = check(RULE, 'DROP TABLE IF EXISTS "gallery_images", "public"."moc_parts_lists" CASCADE;')
    assert [f.severity.value for f in findings] == ["error", "error"]
    assert "public.moc_parts_lists" in findings[1].message


def test_drop_view_or_index_is_not_this_rule() -> None:
    assert not flagged(RULE, 'DROP VIEW "v";')
    assert not flagged(RULE, 'DROP INDEX "i";')
