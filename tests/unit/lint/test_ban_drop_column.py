import pytest

from .util import check, flagged

RULE = "ban-drop-column"


@pytest.mark.parametrize(
    "sql",
    ['ALTER TABLE "users" DROP COLUMN "avatar_url";', 'ALTER TABLE "users" DROP COLUMN IF EXISTS "avatar_url";'],
)
def test_drop_column_is_an_error(sql: str) -> None:
    (finding,) = check(RULE, sql)
    assert finding.severity.value == "error" and "users.avatar_url" in finding.message


def test_dropping_other_things_is_not_this_rule() -> None:
    assert not flagged(RULE, 'ALTER TABLE "users" DROP CONSTRAINT "users_email_unique";')
    assert not flagged(RULE, 'ALTER TABLE "users" ALTER COLUMN "x" DROP DEFAULT;')
