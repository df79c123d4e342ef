import pytest

from .util import check, flagged

RULE = "require-concurrent-index-deletion"


def test_plain_drop_index_is_flagged_once_per_index() -> None:
    findings = check(RULE, 'DROP INDEX "a_idx", "public"."b_idx";')
    assert [f.message.split()[2] for f in findings] == ["a_idx", "public.b_idx"]


@pytest.mark.parametrize(
    "sql",
    [
        'DROP INDEX CONCURRENTLY IF EXISTS "users_email_idx";',
        'DROP TABLE "users";',  # other rules' business
    ],
)
def test_not_flagged(sql: str) -> None:
    assert not flagged(RULE, sql)
