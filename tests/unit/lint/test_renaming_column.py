from .util import check, flagged

RULE = "renaming-column"


def test_rename_column_is_an_error() -> None:
    (finding,) = check(RULE, 'ALTER TABLE "users" RENAME COLUMN "display_name" TO "nickname";')
    assert finding.severity.value == "error"
    assert "users.display_name" in finding.message and "nickname" in finding.message


def test_other_renames_are_not_this_rule() -> None:
    assert not flagged(RULE, 'ALTER TABLE "users" RENAME TO "accounts";')
    assert not flagged(RULE, 'ALTER TABLE "users" RENAME CONSTRAINT "a" TO "b";')
    assert not flagged(RULE, 'ALTER VIEW "v" RENAME COLUMN "a" TO "b";')
