import pytest

from .util import check, flagged

RULE = "ban-concurrent-index-creation-in-transaction"
CONCURRENT = 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_billing_email_idx" ON "users" ("billing_email");'
OTHER = 'ALTER TABLE "users" ADD COLUMN "billing_email" text;'


def test_concurrently_with_other_statements_in_an_unmarked_migration_is_an_error() -> None:
    (finding,) = check(RULE, f"{OTHER}\n--> statement-breakpoint\n{CONCURRENT}")
    assert finding.severity.value == "error" and finding.line == 3
    assert "without a transaction" in finding.message and "drizzle-kit" in finding.message


@pytest.mark.parametrize(
    "sql",
    [
        'DROP INDEX CONCURRENTLY IF EXISTS "i";',
        'REINDEX INDEX CONCURRENTLY "i";',
    ],
)
def test_drop_and_reindex_concurrently_fail_in_a_transaction_too(sql: str) -> None:
    assert flagged(RULE, f"{OTHER}\n{sql}")


def test_explicit_begin_is_a_transaction_even_in_a_no_transaction_migration() -> None:
    sql = f"-- drizzle-ops: no-transaction\nBEGIN;\n{CONCURRENT}\nCOMMIT;"
    assert flagged(RULE, sql)


@pytest.mark.parametrize(
    "sql",
    [
        f"-- drizzle-ops: no-transaction\n{OTHER}\n--> statement-breakpoint\n{CONCURRENT}",
        CONCURRENT,  # alone in its file: run outside a transaction, as squawk assumes
        f"{OTHER}\n{CONCURRENT.replace('CONCURRENTLY ', '')}",
    ],
)
def test_not_flagged(sql: str) -> None:
    assert not flagged(RULE, sql)


def test_caller_can_say_the_migration_is_not_transactional() -> None:
    assert not flagged(RULE, f"{OTHER}\n{CONCURRENT}", transactional=False)


def test_marker_must_be_the_first_line() -> None:
    assert flagged(RULE, f"{OTHER}\n-- drizzle-ops: no-transaction\n{CONCURRENT}")
