import pytest

from .util import flagged

RULE = "disallowed-unique-constraint"


@pytest.mark.parametrize(
    "sql",
    [
        'ALTER TABLE "sets" ADD CONSTRAINT "sets_set_number_unique" UNIQUE("set_number");',
        'ALTER TABLE "sets" ADD COLUMN "slug" text UNIQUE;',
    ],
)
def test_unique_built_under_lock_is_flagged(sql: str) -> None:
    assert flagged(RULE, sql)


@pytest.mark.parametrize(
    "sql",
    [
        'ALTER TABLE "sets" ADD CONSTRAINT "sets_set_number_unique" UNIQUE USING INDEX "sets_set_number_idx";',
        'CREATE TABLE "m" ("a" uuid, "b" text);\nALTER TABLE "m" ADD CONSTRAINT "m_a_b_unique" UNIQUE("a","b");',
        'CREATE TABLE "m" ("name" text, CONSTRAINT "m_name_unique" UNIQUE("name"));',
    ],
)
def test_not_flagged(sql: str) -> None:
    assert not flagged(RULE, sql)
