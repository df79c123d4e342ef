import pytest

from .util import check, flagged

RULE = "adding-required-field"


@pytest.mark.parametrize(
    "sql",
    [
        'ALTER TABLE "recipe" ADD COLUMN "public" boolean NOT NULL;',
        'ALTER TABLE "account" ADD COLUMN "id" bigint PRIMARY KEY;',
    ],
)
def test_not_null_without_default_is_an_error(sql: str) -> None:
    (finding,) = check(RULE, sql)
    assert finding.severity.value == "error"


@pytest.mark.parametrize(
    "sql",
    [
        'ALTER TABLE "recipe" ADD COLUMN "public" boolean DEFAULT false NOT NULL;',
        'ALTER TABLE "recipe" ADD COLUMN "public" boolean;',
        'ALTER TABLE "recipe" ADD COLUMN "seq" serial NOT NULL;',
        'ALTER TABLE "recipe" ADD COLUMN "id" bigint NOT NULL GENERATED ALWAYS AS IDENTITY;',
        'ALTER TABLE "recipe" ADD COLUMN "total" int NOT NULL GENERATED ALWAYS AS ("a" + "b") STORED;',
        'CREATE TABLE "recipe" ("id" int);\nALTER TABLE "recipe" ADD COLUMN "public" boolean NOT NULL;',
    ],
)
def test_not_flagged(sql: str) -> None:
    assert not flagged(RULE, sql)
