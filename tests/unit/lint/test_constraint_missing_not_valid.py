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


# Issue 16: VALIDATE is judged against the earlier statements of its own transaction only.
ADD_NOT_VALID = 'ALTER TABLE "t" ADD CONSTRAINT "c" CHECK ("x" > 0) NOT VALID;'
VALIDATE = 'ALTER TABLE "t" VALIDATE CONSTRAINT "c";'


def test_validate_in_a_later_explicit_transaction_is_fine() -> None:
    sql = f"BEGIN; {ADD_NOT_VALID} COMMIT;\nBEGIN; {VALIDATE} COMMIT;"
    assert not flagged(RULE, sql)
    assert not flagged(RULE, sql, transactional=False)


def test_validate_after_a_rollback_is_in_another_transaction() -> None:
    sql = f"BEGIN;\n{ADD_NOT_VALID}\nROLLBACK;\nBEGIN;\n{VALIDATE}\nCOMMIT;"
    assert not flagged(RULE, sql)


def test_validate_in_the_same_explicit_transaction_is_flagged() -> None:
    sql = f"BEGIN;\n{ADD_NOT_VALID}\n{VALIDATE}\nCOMMIT;\nBEGIN;\n{VALIDATE}\nCOMMIT;"
    assert [f.line for f in check(RULE, sql)] == [3]


def test_without_begin_the_whole_migration_is_one_transaction() -> None:
    sql = f"{ADD_NOT_VALID}\nSELECT 1;\n{VALIDATE}"
    assert [f.line for f in check(RULE, sql)] == [3]


def test_begin_inside_the_runners_transaction_does_not_start_a_new_one() -> None:
    # the runner wraps the file: the BEGIN only warns, ADD and VALIDATE share the transaction
    sql = f"{ADD_NOT_VALID}\nBEGIN;\n{VALIDATE}\nCOMMIT;"
    assert [f.line for f in check(RULE, sql)] == [3]


def test_in_a_no_transaction_migration_each_statement_commits_on_its_own() -> None:
    sql = f"-- drizzle-ops: no-transaction\n{ADD_NOT_VALID}\n{VALIDATE}"
    assert not flagged(RULE, sql)


def test_commit_and_chain_starts_a_new_transaction() -> None:
    sql = f"BEGIN;\n{ADD_NOT_VALID}\nCOMMIT AND CHAIN;\n{VALIDATE}\nCOMMIT;"
    assert not flagged(RULE, sql)
