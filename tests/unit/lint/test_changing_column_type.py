from .util import check, flagged

RULE = "changing-column-type"


def test_set_data_type_on_existing_table_is_an_error() -> None:
    (finding,) = check(RULE, 'ALTER TABLE "wishlist_items" ALTER COLUMN "price" SET DATA TYPE numeric(12, 2);')
    assert finding.severity.value == "error" and "wishlist_items.price" in finding.message


def test_type_with_using_is_flagged() -> None:
    assert flagged(RULE, 'ALTER TABLE "r" ALTER COLUMN "c" TYPE bigint USING "c"::bigint;')


def test_new_table_and_other_alters_are_fine() -> None:
    assert not flagged(
        RULE, 'CREATE TABLE "r" ("c" varchar(10));\nALTER TABLE "r" ALTER COLUMN "c" SET DATA TYPE text;'
    )
    assert not flagged(RULE, 'ALTER TABLE "r" ALTER COLUMN "c" SET DEFAULT 1;')


def test_can_be_ignored_with_a_reason() -> None:
    sql = (
        "-- lint: ignore changing-column-type (varchar to text is binary coercible: no rewrite)\n"
        'ALTER TABLE "r" ALTER COLUMN "c" SET DATA TYPE text;'
    )
    assert not flagged(RULE, sql)
