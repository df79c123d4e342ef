from .util import check, flagged

RULE = "adding-enum-value"


def test_add_value_is_a_warning() -> None:
    (finding,) = check(RULE, 'ALTER TYPE "public"."moc_status" ADD VALUE \'archived\';')
    assert finding.severity.value == "warning"
    assert "'archived'" in finding.message and "public.moc_status" in finding.message


def test_add_value_with_position_or_guard_is_still_one_way() -> None:
    assert flagged(RULE, "ALTER TYPE \"s\" ADD VALUE IF NOT EXISTS 'x' BEFORE 'y';")


def test_using_the_value_later_in_the_same_transaction_is_an_error() -> None:
    sql = (
        'ALTER TYPE "public"."moc_status" ADD VALUE \'archived\';--> statement-breakpoint\n'
        'UPDATE "moc_instructions" SET "status" = \'archived\';'
    )
    (finding,) = check(RULE, sql)
    assert finding.severity.value == "error" and "unsafe use of new value" in finding.message


def test_using_the_value_after_a_commit_is_only_a_warning() -> None:
    sql = 'ALTER TYPE "s" ADD VALUE \'x\';\nCOMMIT;\nUPDATE "t" SET "st" = \'x\';'
    (finding,) = check(RULE, sql)
    assert finding.severity.value == "warning"


def test_no_transaction_migration_can_use_the_value() -> None:
    sql = '-- drizzle-ops: no-transaction\nALTER TYPE "s" ADD VALUE \'x\';\nUPDATE "t" SET "st" = \'x\';'
    (finding,) = check(RULE, sql)
    assert finding.severity.value == "warning" and "unusable" not in finding.message


def test_create_type_and_rename_value_are_fine() -> None:
    assert not flagged(RULE, "CREATE TYPE \"public\".\"wishlist_store\" AS ENUM('LEGO', 'Other');")
    assert not flagged(RULE, "ALTER TYPE \"s\" RENAME VALUE 'a' TO 'b';")


def test_use_in_a_later_transaction_of_the_same_file_is_only_a_warning() -> None:
    sql = 'BEGIN;\nALTER TYPE "s" ADD VALUE \'x\';\nCOMMIT;\nBEGIN;\nUPDATE "t" SET "st" = \'x\';\nCOMMIT;'
    (finding,) = check(RULE, sql)
    assert finding.severity.value == "warning"


def test_use_after_a_rollback_is_no_use_in_the_same_transaction() -> None:
    sql = 'BEGIN;\nALTER TYPE "s" ADD VALUE \'x\';\nROLLBACK;\nUPDATE "t" SET "st" = \'x\';'
    (finding,) = check(RULE, sql)
    assert finding.severity.value == "warning"


def test_use_in_the_same_explicit_transaction_is_an_error() -> None:
    sql = (
        "-- drizzle-ops: no-transaction\nBEGIN;\nALTER TYPE \"s\" ADD VALUE 'x';\n"
        "INSERT INTO \"t\" VALUES ('x');\nCOMMIT;"
    )
    (finding,) = check(RULE, sql)
    assert finding.severity.value == "error"
