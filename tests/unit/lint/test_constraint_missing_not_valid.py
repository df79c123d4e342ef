import pytest

from .util import check, flagged

RULE = "constraint-missing-not-valid"


@pytest.mark.parametrize(
    "sql",
    [
        'ALTER TABLE "sets" ADD CONSTRAINT "sets_year_check" CHECK ("sets"."year" >= 1949);',
        'ALTER TABLE "user_sets" ADD CONSTRAINT "fk" FOREIGN KEY ("user_id") REFERENCES "users"("id");',
        'ALTER TABLE "b" ADD CONSTRAINT "no_overlap" EXCLUDE USING gist ("during" WITH &&);',
    ],
)
def test_validated_constraint_on_existing_table_is_flagged(sql: str) -> None:
    assert flagged(RULE, sql)


@pytest.mark.parametrize(
    "sql",
    [
        'ALTER TABLE "sets" ADD CONSTRAINT "sets_year_check" CHECK ("year" >= 1949) NOT VALID;',
        'CREATE TABLE "sets" ("year" int);\nALTER TABLE "sets" ADD CONSTRAINT "c" CHECK ("year" >= 1949);',
        'ALTER TABLE "sets" VALIDATE CONSTRAINT "sets_year_check";',
        # UNIQUE / PRIMARY KEY cannot be NOT VALID: their own rules report them
        'ALTER TABLE "sets" ADD CONSTRAINT "u" UNIQUE ("set_number");',
        'ALTER TABLE "sets" ADD PRIMARY KEY ("id");',
    ],
)
def test_not_flagged(sql: str) -> None:
    assert not flagged(RULE, sql)


def test_validate_in_the_same_transaction_as_the_not_valid_add_is_flagged() -> None:
    sql = (
        'ALTER TABLE "sets" ADD CONSTRAINT "c" CHECK ("year" >= 1949) NOT VALID;\n'
        '--> statement-breakpoint\nALTER TABLE "sets" VALIDATE CONSTRAINT "c";'
    )
    (finding,) = check(RULE, sql)
    assert finding.line == 3 and "same transaction" in finding.message


def test_validate_after_a_commit_is_fine() -> None:
    sql = (
        'BEGIN;\nALTER TABLE "sets" ADD CONSTRAINT "c" CHECK ("year" >= 1949) NOT VALID;\nCOMMIT;\n'
        'ALTER TABLE "sets" VALIDATE CONSTRAINT "c";'
    )
    assert not flagged(RULE, sql, transactional=False)
