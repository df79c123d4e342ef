import pytest

from .util import flagged

RULE = "adding-not-nullable-field"


def test_set_not_null_on_existing_table_is_flagged() -> None:
    assert flagged(RULE, 'ALTER TABLE "recipe" ALTER COLUMN "view_count" SET NOT NULL;')


def test_a_check_that_is_not_validated_does_not_help() -> None:
    sql = (
        'ALTER TABLE "recipe" ADD CONSTRAINT "c" CHECK ("view_count" IS NOT NULL) NOT VALID;\n'
        'ALTER TABLE "recipe" ALTER COLUMN "view_count" SET NOT NULL;'
    )
    assert flagged(RULE, sql)


def test_a_check_on_another_column_does_not_help() -> None:
    sql = (
        'ALTER TABLE "recipe" ADD CONSTRAINT "c" CHECK ("other" IS NOT NULL) NOT VALID;\n'
        'ALTER TABLE "recipe" VALIDATE CONSTRAINT "c";\n'
        'ALTER TABLE "recipe" ALTER COLUMN "view_count" SET NOT NULL;'
    )
    assert flagged(RULE, sql)


@pytest.mark.parametrize(
    "sql",
    [
        # validated CHECK (col IS NOT NULL): Postgres 12+ skips the scan
        'ALTER TABLE "recipe" ADD CONSTRAINT "c" CHECK ("view_count" IS NOT NULL) NOT VALID;\n'
        'ALTER TABLE "recipe" VALIDATE CONSTRAINT "c";\n'
        'ALTER TABLE "recipe" ALTER COLUMN "view_count" SET NOT NULL;',
        'CREATE TABLE "recipe" ("view_count" int);\nALTER TABLE "recipe" ALTER COLUMN "view_count" SET NOT NULL;',
        'ALTER TABLE "sets" ADD COLUMN "retired" boolean DEFAULT false NOT NULL;',
        'ALTER TABLE "recipe" ALTER COLUMN "view_count" DROP NOT NULL;',
    ],
)
def test_not_flagged(sql: str) -> None:
    assert not flagged(RULE, sql)
