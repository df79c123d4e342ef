from .util import check, flagged

RULE = "renaming-table"


def test_rename_table_is_an_error() -> None:
    (finding,) = check(RULE, 'ALTER TABLE "user_stars" RENAME TO "user_favorites";')
    assert finding.severity.value == "error" and "user_favorites" in finding.message


def test_renaming_a_column_or_a_view_is_not_this_rule() -> None:
    assert not flagged(RULE, 'ALTER TABLE "users" RENAME COLUMN "a" TO "b";')
    assert not flagged(RULE, 'ALTER VIEW "v" RENAME TO "w";')
