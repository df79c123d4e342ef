import pytest

from .util import flagged

RULE = "adding-serial-primary-key-field"


@pytest.mark.parametrize(
    "sql",
    [
        'ALTER TABLE "account" ADD PRIMARY KEY ("id");',
        'ALTER TABLE "account" ADD CONSTRAINT "account_pk" PRIMARY KEY ("id");',
        'ALTER TABLE "account" ADD COLUMN "id" serial PRIMARY KEY;',
    ],
)
def test_primary_key_built_under_lock_is_flagged(sql: str) -> None:
    assert flagged(RULE, sql)


@pytest.mark.parametrize(
    "sql",
    [
        'ALTER TABLE "account" ADD CONSTRAINT "account_pk" PRIMARY KEY USING INDEX "account_pk_idx";',
        'CREATE TABLE "account" ("id" bigint NOT NULL);\nALTER TABLE "account" ADD PRIMARY KEY ("id");',
        'CREATE TABLE "sets" ("id" serial PRIMARY KEY NOT NULL);',
    ],
)
def test_not_flagged(sql: str) -> None:
    assert not flagged(RULE, sql)
