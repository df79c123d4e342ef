"""The behaviours squawk's own rule tests exercise, for the rules we share, in our own SQL.

Each case names the behaviour. Where drizzle-ops decides differently on purpose, the
case says so and the rule's "Differences from squawk" (docs/lint-rules.md) says why.
"""

from __future__ import annotations

import pytest

from drizzle_ops.lint import lint_migrations, lint_sql, rule_by_id

NO_TX = "-- drizzle-ops: no-transaction\n"


def verdict(rule_id: str, sql: str, *, transactional: bool = True, pg_version: int = 14) -> int:
    """How many findings of that rule."""
    rules = [rule_by_id(rule_id)]
    findings = lint_sql(sql, rules=rules, migration_is_transactional=transactional, pg_version=pg_version)
    return len(findings)


CASES = [
    # constraint-missing-not-valid
    ("constraint-missing-not-valid", 'ALTER TABLE "loans" ADD CONSTRAINT "loans_rate" CHECK ("rate" < 100);', 1),
    (
        "constraint-missing-not-valid",
        'ALTER TABLE "loans" ADD CONSTRAINT "loans_book" FOREIGN KEY ("book_id") REFERENCES "books" ("id");',
        1,
    ),
    (
        "constraint-missing-not-valid",
        'BEGIN;\nALTER TABLE "loans" ADD CONSTRAINT "f" FOREIGN KEY ("b") REFERENCES "books" ("id") NOT VALID;\n'
        'ALTER TABLE "loans" VALIDATE CONSTRAINT "f";\nCOMMIT;',
        1,
    ),
    (
        "constraint-missing-not-valid",
        'ALTER TABLE "loans" ADD CONSTRAINT "f" FOREIGN KEY ("b") REFERENCES "books" ("id") NOT VALID;\n'
        'ALTER TABLE "loans" VALIDATE CONSTRAINT "f";\nCOMMIT;',
        1,  # the wrapped migration's transaction ends only at that COMMIT
    ),
    ("constraint-missing-not-valid", 'ALTER TABLE "loans" ADD CONSTRAINT "pk" PRIMARY KEY USING INDEX "loans_i";', 0),
    ("constraint-missing-not-valid", 'ALTER TABLE "loans" ADD CONSTRAINT "u" UNIQUE USING INDEX "loans_u";', 0),
    (
        "constraint-missing-not-valid",
        'BEGIN;\nCREATE TABLE "shelves" ("id" serial PRIMARY KEY, "slots" int NOT NULL);\n'
        'ALTER TABLE "shelves" ADD CONSTRAINT "slots_positive" CHECK ("slots" > 0);\nCOMMIT;',
        0,
    ),
    # adding-not-nullable-field
    ("adding-not-nullable-field", 'ALTER TABLE "books" ALTER COLUMN "isbn" SET NOT NULL;', 1),
    (
        "adding-not-nullable-field",
        'ALTER TABLE "books" ADD COLUMN "copies" int DEFAULT 1 NOT NULL;\n'
        'ALTER TABLE "books" ALTER COLUMN "copies" DROP DEFAULT;',
        0,  # a new column with a default: no scan, and not this rule's concern
    ),
    ("adding-not-nullable-field", 'ALTER TABLE "books" ADD COLUMN "copies" int NOT NULL;', 0),
    (
        "adding-not-nullable-field",
        'BEGIN;\nALTER TABLE "books" ALTER COLUMN "isbn" SET NOT NULL;\nUPDATE "schema_version" SET "v" = 8;\nCOMMIT;',
        1,
    ),
    (
        "adding-not-nullable-field",
        'ALTER TABLE "books" ADD CONSTRAINT "isbn_nn" CHECK ("isbn" IS NOT NULL) NOT VALID;\n'
        'ALTER TABLE "books" ALTER COLUMN "isbn" SET NOT NULL;',
        1,  # the check is not validated yet
    ),
    (
        "adding-not-nullable-field",
        'ALTER TABLE "books" ADD CONSTRAINT "title_nn" CHECK ("title" IS NOT NULL) NOT VALID;\n'
        'ALTER TABLE "books" VALIDATE CONSTRAINT "title_nn";\nALTER TABLE "books" ALTER COLUMN "isbn" SET NOT NULL;',
        1,  # validated, but for another column
    ),
    # adding-required-field
    ("adding-required-field", 'ALTER TABLE "books" ADD COLUMN "blurb" text;', 0),
    ("adding-required-field", 'ALTER TABLE "books" ADD COLUMN "lendable" boolean NOT NULL DEFAULT true;', 0),
    ("adding-required-field", 'ALTER TABLE "books" ADD COLUMN "lendable" boolean NOT NULL;', 1),
    (
        "adding-required-field",
        'ALTER TABLE "books" ADD COLUMN "len" int GENERATED ALWAYS AS (length("title")) STORED NOT NULL;',
        0,
    ),
    # ban-concurrent-index-creation-in-transaction
    (
        "ban-concurrent-index-creation-in-transaction",
        'BEGIN;\nCREATE INDEX CONCURRENTLY "books_title_idx" ON "books" ("title");\nCOMMIT;',
        1,
    ),
    ("ban-concurrent-index-creation-in-transaction", 'CREATE INDEX CONCURRENTLY "b_t" ON "books" ("title");', 0),
    (
        "ban-concurrent-index-creation-in-transaction",
        'CREATE UNIQUE INDEX CONCURRENTLY "b_isbn" ON "books" ("isbn");\n'
        'ALTER TABLE "books" ADD CONSTRAINT "b_isbn_key" UNIQUE USING INDEX "b_isbn";',
        1,
    ),
    (
        "ban-concurrent-index-creation-in-transaction",
        NO_TX + 'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "b_isbn" ON "books" ("isbn");\n'
        'ALTER TABLE "books" ADD CONSTRAINT "b_isbn_key" UNIQUE USING INDEX "b_isbn";',
        0,  # the marker is what squawk's disable-assume-in-transaction comment is
    ),
    (
        "ban-concurrent-index-creation-in-transaction",
        'COMMIT;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "b_t" ON "books" ("title");\nBEGIN;\n'
        'ALTER TABLE "books" ADD CONSTRAINT "b_t_key" UNIQUE USING INDEX "b_t";',
        0,  # as squawk: both tools honour the file's own boundaries (transaction-nesting warns about the file)
    ),
    (
        "ban-concurrent-index-creation-in-transaction",
        'UPDATE "books" SET "title" = trim("title");\nCREATE INDEX CONCURRENTLY "b_t" ON "books" ("title");\nCOMMIT;',
        1,  # before the file's first COMMIT, drizzle-kit's own transaction is still open
    ),
    # require-concurrent-index-creation
    ("require-concurrent-index-creation", 'CREATE INDEX "books_title_idx" ON "books" ("title");', 1),
    ("require-concurrent-index-creation", 'CREATE INDEX ON "books" ("title");', 1),
    ("require-concurrent-index-creation", 'CREATE INDEX CONCURRENTLY "b_t" ON "books" ("title");', 0),
    (
        "require-concurrent-index-creation",
        'BEGIN;\nCREATE TABLE "readers" ("id" serial PRIMARY KEY, "club_id" int);\n'
        'CREATE INDEX "readers_club_idx" ON "readers" ("club_id");\nCOMMIT;',
        0,
    ),
    # require-concurrent-index-deletion
    ("require-concurrent-index-deletion", 'DROP INDEX IF EXISTS "books_title_idx";', 1),
    ("require-concurrent-index-deletion", 'DROP INDEX "books_title_idx", "books_isbn_idx";', 2),
    ("require-concurrent-index-deletion", 'DROP INDEX CONCURRENTLY IF EXISTS "books_title_idx";', 0),
    ("require-concurrent-index-deletion", 'DROP TABLE IF EXISTS "old_books";', 0),
    ("require-concurrent-index-deletion", 'DROP TRIGGER IF EXISTS "touch" ON "books";', 0),
    # adding-foreign-key-constraint
    (
        "adding-foreign-key-constraint",
        'BEGIN;\nCREATE TABLE "loans" ("id" bigint GENERATED ALWAYS AS IDENTITY, "book_id" bigint,\n'
        '  CONSTRAINT "loans_book_fk" FOREIGN KEY ("book_id") REFERENCES "books" ("id"));\nCOMMIT;',
        0,
    ),
    ("adding-foreign-key-constraint", 'CREATE TABLE "loans" ("book_id" int REFERENCES "books" ("id"));', 0),
    (
        "adding-foreign-key-constraint",
        'CREATE TABLE "loans" ("book_id" int);\n'
        'ALTER TABLE "loans" ADD CONSTRAINT "fk" FOREIGN KEY ("book_id") REFERENCES "books" ("id");',
        0,
    ),
    (
        "adding-foreign-key-constraint",
        'ALTER TABLE "loans" ADD COLUMN "reader_id" int;\n'
        'ALTER TABLE "loans" ADD CONSTRAINT "fk" FOREIGN KEY ("reader_id") REFERENCES "readers" ("id") NOT VALID;\n'
        'ALTER TABLE "loans" VALIDATE CONSTRAINT "fk";',
        0,
    ),
    (
        "adding-foreign-key-constraint",
        'ALTER TABLE "loans" ADD CONSTRAINT "fk" FOREIGN KEY ("reader_id") REFERENCES "readers" ("id");',
        1,
    ),
    ("adding-foreign-key-constraint", 'ALTER TABLE "loans" ADD COLUMN "r" int REFERENCES "readers" ("id");', 1),
    # disallowed-unique-constraint
    ("disallowed-unique-constraint", 'ALTER TABLE "books" ADD CONSTRAINT "books_isbn_key" UNIQUE ("isbn");', 1),
    ("disallowed-unique-constraint", 'ALTER TABLE "books" DROP CONSTRAINT "books_isbn_key";', 0),
    (
        "disallowed-unique-constraint",
        'ALTER TABLE "books" DROP CONSTRAINT "books_pkey", ADD CONSTRAINT "books_pkey" PRIMARY KEY USING INDEX "b";',
        0,
    ),
    (
        "disallowed-unique-constraint",
        'CREATE TABLE "tags" ("id" int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "slug" text NOT NULL);\n'
        'ALTER TABLE "tags" ADD CONSTRAINT "tags_slug_key" UNIQUE ("slug");',
        0,
    ),
    ("disallowed-unique-constraint", 'ALTER TABLE "books" ADD COLUMN "ean" text CONSTRAINT "ean_key" UNIQUE;', 1),
    ("disallowed-unique-constraint", 'ALTER TABLE "books" ADD COLUMN "ean" text UNIQUE;', 1),
    # adding-serial-primary-key-field
    ("adding-serial-primary-key-field", 'ALTER TABLE "tags" ADD COLUMN "id" serial PRIMARY KEY;', 1),
    ("adding-serial-primary-key-field", 'ALTER TABLE "tags" ADD PRIMARY KEY ("slug");', 1),
    ("adding-serial-primary-key-field", 'ALTER TABLE "tags" ADD CONSTRAINT "pk" PRIMARY KEY USING INDEX "t";', 0),
    # changing-column-type
    ("changing-column-type", 'ALTER TABLE "books" ALTER COLUMN "pages" TYPE bigint USING "pages"::bigint;', 1),
    (
        "changing-column-type",
        'BEGIN;\nALTER TABLE "books" ALTER COLUMN "title" TYPE varchar(300);\n'
        'ALTER TABLE "books" ALTER COLUMN "title" TYPE text;\nCOMMIT;',
        2,
    ),
    # ban-drop-column, ban-drop-table, renaming-column, renaming-table
    ("ban-drop-column", 'ALTER TABLE "books" DROP COLUMN "blurb" CASCADE;', 1),
    ("ban-drop-table", 'DROP TABLE IF EXISTS "old_books";', 1),
    ("ban-drop-table", 'DROP TABLE "old_books", "older_books";', 2),
    ("renaming-column", 'ALTER TABLE "books" RENAME COLUMN "blurb" TO "summary";', 1),
    ("renaming-table", 'ALTER TABLE "books" RENAME TO "titles";', 1),
]


@pytest.mark.parametrize(("rule_id", "sql", "count"), CASES, ids=[f"{c[0]}-{n}" for n, c in enumerate(CASES)])
def test_peer_behaviour(rule_id: str, sql: str, count: int) -> None:
    assert verdict(rule_id, sql) == count


# A migration that squawk would lint without --assume-in-transaction: no wrapping transaction.
UNWRAPPED = [
    (
        "constraint-missing-not-valid",
        'ALTER TABLE "loans" ADD CONSTRAINT "f" FOREIGN KEY ("b") REFERENCES "books" ("id") NOT VALID;\n'
        'ALTER TABLE "loans" VALIDATE CONSTRAINT "f";',
        0,
    ),
    (
        "constraint-missing-not-valid",
        'CREATE TABLE "shelves" ("slots" int);\nALTER TABLE "shelves" ADD CONSTRAINT "c" CHECK ("slots" > 0);',
        0,  # differs from squawk: a table created earlier in the same migration is exempt anyway
    ),
]


@pytest.mark.parametrize(("rule_id", "sql", "count"), UNWRAPPED)
def test_peer_behaviour_without_a_wrapping_transaction(rule_id: str, sql: str, count: int) -> None:
    assert verdict(rule_id, sql, transactional=False) == count


# prefer-robust-stmts only speaks about migrations that run statement by statement.
ROBUST = [
    ('ALTER TABLE "t" DROP CONSTRAINT IF EXISTS "u";\nALTER TABLE "t" ADD CONSTRAINT "u" UNIQUE USING INDEX "i";', 0),
    (
        'ALTER TABLE "t" DROP CONSTRAINT IF EXISTS "fk";\n'
        'ALTER TABLE "t" ADD CONSTRAINT "fk" FOREIGN KEY ("a") REFERENCES "p" ("id") DEFERRABLE INITIALLY DEFERRED '
        'NOT VALID;\nALTER TABLE "t" VALIDATE CONSTRAINT "fk";',
        0,
    ),
    (
        'ALTER TABLE "t" DROP CONSTRAINT IF EXISTS "u";\nALTER TABLE "t" ADD CONSTRAINT "u" UNIQUE USING INDEX "i";\n'
        'ALTER TABLE "t" ADD CONSTRAINT "u" UNIQUE USING INDEX "i";',
        1,  # the drop covers the first add only
    ),
    ('ALTER TABLE "t" DROP CONSTRAINT IF EXISTS "u", ADD CONSTRAINT "u" UNIQUE USING INDEX "i";\nSELECT 1;', 0),
    ('BEGIN;\nALTER TABLE "t" ADD COLUMN "a" int;\nCOMMIT;', 0),
    ('SELECT 1;\nALTER TABLE "t" ADD COLUMN IF NOT EXISTS "a" int;', 0),
    ('SELECT 1;\nALTER TABLE "t" ADD COLUMN "a" int;', 1),
    ('SELECT 1;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "t_a" ON "t" ("a");', 0),
    ('SELECT 1;\nCREATE INDEX CONCURRENTLY "t_a" ON "t" ("a");', 1),
    ('BEGIN;\nCREATE TABLE "t" ("id" serial PRIMARY KEY);\nCOMMIT;', 0),
    ('SELECT 1;\nCREATE TABLE IF NOT EXISTS "t" ("id" serial PRIMARY KEY);', 0),
    ('SELECT 1;\nCREATE TABLE "t" ("id" serial PRIMARY KEY);', 1),
    ('BEGIN;\nDROP INDEX "t_a";\nDROP TABLE "t";\nDROP TYPE "mood";\nCOMMIT;', 0),
    ('START TRANSACTION;\nALTER TABLE "t" DROP CONSTRAINT "u1";\nALTER TABLE "t" DROP CONSTRAINT "u2";\nCOMMIT;', 0),
    ("SELECT 1;\nSELECT 2;", 0),
    ('SELECT 1;\nINSERT INTO "t" VALUES (1);', 0),
    ('SELECT 1;\nALTER TABLE "t" DROP CONSTRAINT IF EXISTS "u";', 0),
    ('SELECT 1;\nALTER TABLE "t" DROP COLUMN "a" CASCADE;', 1),
    ('SELECT 1;\nALTER TABLE "t" DROP COLUMN IF EXISTS "a" CASCADE;', 0),
    ('SELECT 1;\nALTER TABLE "t" DROP CONSTRAINT "u";', 1),
    ('SELECT 1;\nDROP INDEX CONCURRENTLY "t_a";', 1),
    ('SELECT 1;\nDROP INDEX CONCURRENTLY IF EXISTS "t_a";', 0),
    ('SELECT 1;\nCREATE TEMP TABLE "scratch" ("id" int) ON COMMIT DROP;', 0),
    ('SELECT 1;\nCREATE TEMPORARY TABLE "scratch" ("id" int);', 0),  # differs from squawk: dies with the session
    ('CREATE TABLE IF NOT EXISTS "t" ();\nALTER TABLE "t" ENABLE ROW LEVEL SECURITY;', 0),  # differs: idempotent
    ('SELECT 1;\nALTER TABLE "t" ALTER COLUMN "a" SET NOT NULL;', 0),  # differs from squawk: idempotent
]


@pytest.mark.parametrize(("sql", "count"), ROBUST)
def test_prefer_robust_stmts_peer_behaviour(sql: str, count: int) -> None:
    assert verdict("prefer-robust-stmts", NO_TX + sql) == count


def test_cross_migration_validate_then_set_not_null() -> None:
    """squawk trusts a VALIDATE whose ADD it cannot see; we look for the ADD in the earlier migrations."""
    add = 'ALTER TABLE "books" ADD CONSTRAINT "isbn_nn" CHECK ("isbn" IS NOT NULL) NOT VALID;'
    later = 'ALTER TABLE "books" VALIDATE CONSTRAINT "isbn_nn";\nALTER TABLE "books" ALTER COLUMN "isbn" SET NOT NULL;'
    rules = [rule_by_id("adding-not-nullable-field")]
    assert verdict("adding-not-nullable-field", later) == 1
    assert lint_migrations([("0001.sql", add), ("0002.sql", later)], rules=rules) == []
    assert len(lint_migrations([("0001.sql", add), ("0002.sql", later)], rules=rules, pg_version=11)) == 1
