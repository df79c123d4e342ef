"""The PostgreSQL major the lint judges for: the helper, the entry points, the rules that depend on it."""

import pytest

from drizzle_ops.errors import UserError
from drizzle_ops.lint import DEFAULT_PG_VERSION, lint_migrations, lint_sql, major_version, rule_by_id


def one(rule_id: str, sql: str, pg_version: int, *, transactional: bool = True) -> list[tuple[str, str, str]]:
    findings = lint_sql(
        sql, path="m.sql", rules=[rule_by_id(rule_id)], pg_version=pg_version, migration_is_transactional=transactional
    )
    return [(f.severity.value, f.message, f.help) for f in findings]


@pytest.mark.parametrize(
    ("number", "major"),
    [(160004, 16), ("150012", 15), (110000, 11), (180000, 18), (90624, 9), (" 140019\n", 14)],
)
def test_major_version_of_server_version_num(number: int | str, major: int) -> None:
    assert major_version(number) == major


@pytest.mark.parametrize("bad", ["16.4", "abc", 16, -1, ""])
def test_major_version_rejects_what_is_no_server_version_num(bad: int | str) -> None:
    with pytest.raises(UserError, match="no server_version_num"):
        major_version(bad)


def test_default_is_the_oldest_supported_major() -> None:
    assert DEFAULT_PG_VERSION == 14


@pytest.mark.parametrize("bad", [160004, 8, 100, 0])
def test_entry_points_want_a_major(bad: int) -> None:
    with pytest.raises(UserError, match="major such as 14"):
        lint_sql("SELECT 1;", pg_version=bad)
    with pytest.raises(UserError, match="major such as 14"):
        lint_migrations([("0001.sql", "SELECT 1;")], pg_version=bad)


def test_a_server_version_num_given_as_major_is_explained() -> None:
    with pytest.raises(UserError, match="PostgreSQL 16"):
        lint_sql("SELECT 1;", pg_version=160004)


# adding-enum-value: ADD VALUE inside a transaction block is allowed since PostgreSQL 12.

ENUM = "ALTER TYPE \"order_state\" ADD VALUE IF NOT EXISTS 'refunded';"


def test_add_value_in_a_transaction_fails_before_12() -> None:
    ((severity, message, help_),) = one("adding-enum-value", ENUM, 11)
    assert severity == "error" and "judged for PostgreSQL 11" in message
    assert "no-transaction" in help_


def test_add_value_in_a_transaction_is_allowed_from_12() -> None:
    ((severity, message, _),) = one("adding-enum-value", ENUM, 12)
    assert severity == "warning" and "judged for PostgreSQL 12" in message


@pytest.mark.parametrize("sql", [f"-- drizzle-ops: no-transaction\n{ENUM}", f"BEGIN;\nSELECT 1;\nCOMMIT;\n{ENUM}"])
def test_add_value_outside_any_transaction_is_fine_before_12(sql: str) -> None:
    ((severity, _, _),) = one("adding-enum-value", sql, 11)
    assert severity == "warning"


def test_add_value_after_commit_in_a_wrapped_migration_runs_on_its_own() -> None:
    ((severity, _, _),) = one("adding-enum-value", f"SELECT 1;\nCOMMIT;\n{ENUM}", 10)
    assert severity == "warning"


# adding-not-nullable-field: a validated CHECK (col IS NOT NULL) spares SET NOT NULL its scan since 12.

PROVEN = (
    'ALTER TABLE "orders" ADD CONSTRAINT "orders_total_nn" CHECK ("total" IS NOT NULL) NOT VALID;\n'
    "COMMIT;\n"
    'ALTER TABLE "orders" VALIDATE CONSTRAINT "orders_total_nn";\n'
    'ALTER TABLE "orders" ALTER COLUMN "total" SET NOT NULL;'
)


def test_set_not_null_trusts_a_validated_check_from_12() -> None:
    assert one("adding-not-nullable-field", PROVEN, 12) == []
    assert one("adding-not-nullable-field", PROVEN, 17) == []


def test_set_not_null_scans_anyway_before_12() -> None:
    ((_, message, help_),) = one("adding-not-nullable-field", PROVEN, 11)
    assert "no help before PostgreSQL 12" in message and "judged for PostgreSQL 11" in message
    assert "Before PostgreSQL 12" in help_


def test_set_not_null_finding_says_the_version() -> None:
    ((_, message, _),) = one("adding-not-nullable-field", 'ALTER TABLE "o" ALTER COLUMN "t" SET NOT NULL;', 16)
    assert "judged for PostgreSQL 16" in message


def test_a_rolled_back_check_proves_nothing() -> None:
    sql = (
        "BEGIN;\n"
        'ALTER TABLE "orders" ADD CONSTRAINT "orders_total_nn" CHECK ("total" IS NOT NULL);\n'
        "ROLLBACK;\n"
        'ALTER TABLE "orders" ALTER COLUMN "total" SET NOT NULL;'
    )
    assert len(one("adding-not-nullable-field", sql, 14)) == 1
    assert one("adding-not-nullable-field", sql.replace("ROLLBACK", "COMMIT"), 14) == []


def test_a_rolled_back_migration_step_is_not_history() -> None:
    first = 'BEGIN;\nALTER TABLE "o" ADD CONSTRAINT "c" CHECK ("t" IS NOT NULL);\nROLLBACK;'
    second = 'ALTER TABLE "o" ALTER COLUMN "t" SET NOT NULL;'
    findings = lint_migrations(
        [("0001.sql", first), ("0002.sql", second)], rules=[rule_by_id("adding-not-nullable-field")]
    )
    assert [f.file for f in findings] == ["0002.sql"]


# adding-required-field: the verdict is the same everywhere, the advice is not.


def test_required_field_advice_depends_on_fast_defaults() -> None:
    sql = 'ALTER TABLE "orders" ADD COLUMN "currency" text NOT NULL;'
    ((_, _, modern),) = one("adding-required-field", sql, 14)
    ((_, _, old),) = one("adding-required-field", sql, 10)
    assert "non-volatile DEFAULT" in modern
    assert "nullable" in old and "judged for PostgreSQL 10" in old


def test_deploy_plan_call_still_works_without_a_version() -> None:
    # review/deploy_plan.py calls lint_sql(text, path=...) and gets the PostgreSQL 14 verdicts
    findings = lint_sql('ALTER TABLE "o" ADD COLUMN "r" uuid DEFAULT gen_random_uuid();', path="0009.sql")
    assert [f.rule for f in findings] == ["adding-field-with-default"]


# PostgreSQL 18: NOT NULL as a table constraint, which can be NOT VALID.

NOT_NULL_CONSTRAINT = 'ALTER TABLE "orders" ADD CONSTRAINT "orders_total_nn" NOT NULL "total";'


def test_not_null_constraint_scans_and_can_be_not_valid_from_18() -> None:
    ((_, message, _),) = one("constraint-missing-not-valid", NOT_NULL_CONSTRAINT, 18)
    assert "NOT VALID" in message and "judged for PostgreSQL 18" in message
    assert one("constraint-missing-not-valid", NOT_NULL_CONSTRAINT.replace(";", " NOT VALID;"), 18) == []
    assert one("constraint-missing-not-valid", NOT_NULL_CONSTRAINT, 17) == []  # no such syntax before 18


def test_a_validated_not_null_constraint_makes_set_not_null_free_on_18() -> None:
    sql = (
        NOT_NULL_CONSTRAINT.replace(";", " NOT VALID;")
        + '\nCOMMIT;\nALTER TABLE "orders" VALIDATE CONSTRAINT "orders_total_nn";\n'
        'ALTER TABLE "orders" ALTER COLUMN "total" SET NOT NULL;'
    )
    assert one("adding-not-nullable-field", sql, 18) == []
    assert len(one("adding-not-nullable-field", sql, 17)) == 1


def test_set_not_null_advice_on_18_names_the_not_valid_not_null_constraint() -> None:
    ((_, _, help_),) = one("adding-not-nullable-field", 'ALTER TABLE "o" ALTER COLUMN "t" SET NOT NULL;', 18)
    assert "NOT NULL col NOT VALID" in help_
