import pytest

from .util import check, flagged

RULE = "prefer-robust-stmts"
NO_TX = "-- drizzle-ops: no-transaction\n"
FILLER = "SELECT 1;\n"  # a lone statement is atomic, so most cases need a second one


@pytest.mark.parametrize(
    "statement",
    [
        'CREATE TABLE "foo" ("id" bigint);',
        'CREATE INDEX CONCURRENTLY "i" ON "users" ("email");',
        'DROP TABLE "foo";',
        'DROP INDEX CONCURRENTLY "i";',
        'ALTER TABLE "users" ADD COLUMN "billing_email" text;',
        'ALTER TABLE "users" DROP COLUMN "billing_email";',
        'ALTER TABLE "users" DROP CONSTRAINT "c";',
        'ALTER TABLE "users" ADD CONSTRAINT "c" CHECK ("a" > 0) NOT VALID;',
        'ALTER TABLE "users" RENAME COLUMN "a" TO "b";',
        "ALTER TYPE \"s\" ADD VALUE 'x';",
    ],
)
def test_unguarded_statement_in_no_transaction_migration_is_flagged(statement: str) -> None:
    assert flagged(RULE, NO_TX + FILLER + statement)


@pytest.mark.parametrize(
    "statement",
    [
        'CREATE TABLE IF NOT EXISTS "foo" ("id" bigint);',
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "i" ON "users" ("email");',
        'DROP TABLE IF EXISTS "foo";',
        'ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "billing_email" text;',
        'ALTER TABLE "users" DROP COLUMN IF EXISTS "billing_email";',
        'ALTER TABLE "users" DROP CONSTRAINT IF EXISTS "c";\nALTER TABLE "users" ADD CONSTRAINT "c" CHECK ("a" > 0);',
        'ALTER TABLE "users" ALTER COLUMN "role" SET DEFAULT \'member\';',
        "ALTER TYPE \"s\" ADD VALUE IF NOT EXISTS 'x';",
        "CREATE TYPE \"e\" AS ENUM ('a');",  # cannot be guarded: not flagged
    ],
)
def test_guarded_or_idempotent_statement_is_fine(statement: str) -> None:
    assert not flagged(RULE, NO_TX + FILLER + statement)


def test_transactional_migration_is_never_flagged() -> None:
    assert not flagged(RULE, FILLER + 'CREATE TABLE "foo" ("id" bigint);')


def test_a_lone_statement_is_atomic_except_a_concurrent_build() -> None:
    assert not flagged(RULE, NO_TX + 'CREATE TABLE "foo" ("id" bigint);')
    (finding,) = check(RULE, NO_TX + 'CREATE INDEX CONCURRENTLY ON "users" ("email");')
    assert "unnamed index" in finding.message


def test_dropping_a_different_constraint_does_not_guard_the_add() -> None:
    sql = NO_TX + 'ALTER TABLE "u" DROP CONSTRAINT IF EXISTS "d";\nALTER TABLE "u" ADD CONSTRAINT "c" CHECK ("a" > 0);'
    assert [f.line for f in check(RULE, sql)] == [3]


def test_a_migration_holding_concurrently_runs_without_transaction_so_it_is_checked() -> None:
    # no marker, but the runner detects CONCURRENTLY and runs the file statement by statement
    sql = 'ALTER TABLE "u" ADD COLUMN "a" text;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "i" ON "u" ("a");'
    assert [f.line for f in check(RULE, sql)] == [1]
