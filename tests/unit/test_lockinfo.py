"""What each statement locks, rewrites and scans, from the parse tree."""

from __future__ import annotations

import pytest
from pglast import parse_sql

from drizzle_ops.analysis.lockinfo import (
    ACCESS_EXCLUSIVE,
    SHARE,
    SHARE_ROW_EXCLUSIVE,
    SHARE_UPDATE_EXCLUSIVE,
    StatementEffect,
    analyse,
)


def effect(sql: str) -> StatementEffect:
    (raw,) = parse_sql(sql)
    return analyse(raw.stmt)


@pytest.mark.parametrize(
    ("sql", "table", "lock", "rewrite", "scan"),
    [
        ('CREATE INDEX "i" ON "users" USING btree ("email")', "users", SHARE, False, True),
        ('CREATE INDEX CONCURRENTLY "i" ON "users" ("email")', "users", SHARE_UPDATE_EXCLUSIVE, False, True),
        ('ALTER TABLE "users" ADD COLUMN "bio" text', "users", ACCESS_EXCLUSIVE, False, False),
        ('ALTER TABLE "users" ADD COLUMN "n" boolean DEFAULT false NOT NULL', "users", ACCESS_EXCLUSIVE, False, False),
        ('ALTER TABLE "users" ADD COLUMN "r" float8 DEFAULT random()', "users", ACCESS_EXCLUSIVE, True, False),
        ('ALTER TABLE "users" ALTER COLUMN "email" SET DATA TYPE varchar(200)', "users", ACCESS_EXCLUSIVE, True, False),
        ('ALTER TABLE "users" ALTER COLUMN "bio" SET NOT NULL', "users", ACCESS_EXCLUSIVE, False, True),
        ('ALTER TABLE "sets" ADD CONSTRAINT "c" CHECK ("year" > 1900)', "sets", ACCESS_EXCLUSIVE, False, True),
        (
            'ALTER TABLE "sets" ADD CONSTRAINT "c" CHECK ("year" > 1900) NOT VALID',
            "sets",
            ACCESS_EXCLUSIVE,
            False,
            False,
        ),
        ('ALTER TABLE "sets" VALIDATE CONSTRAINT "c"', "sets", SHARE_UPDATE_EXCLUSIVE, False, True),
        ('ALTER TABLE "users" DROP COLUMN "bio"', "users", ACCESS_EXCLUSIVE, False, False),
        ('DROP TABLE "users"', "users", ACCESS_EXCLUSIVE, False, False),
    ],
)
def test_table_effects(sql: str, table: str, lock: str, rewrite: bool, scan: bool) -> None:
    result = effect(sql)
    first = result.tables[0]
    assert (first.table, first.lock, first.rewrite, first.scan) == (("public", table), lock, rewrite, scan)


def test_foreign_key_locks_both_tables_and_scans_the_referencing_one() -> None:
    result = effect('ALTER TABLE "w" ADD CONSTRAINT "fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id")')
    by_table = {t.table: t for t in result.tables}
    assert by_table[("public", "w")].lock == SHARE_ROW_EXCLUSIVE and by_table[("public", "w")].scan
    assert by_table[("public", "users")].lock == SHARE_ROW_EXCLUSIVE and not by_table[("public", "users")].scan
    not_valid = effect('ALTER TABLE "w" ADD CONSTRAINT "fk" FOREIGN KEY ("u") REFERENCES "users"("id") NOT VALID')
    assert not not_valid.tables[0].scan


def test_create_table_creates_and_locks_nothing_existing() -> None:
    result = effect('CREATE TABLE "s"."t" ("id" integer PRIMARY KEY)')
    assert result.tables == [] and result.creates == [("s", "t")]


@pytest.mark.parametrize(
    "sql",
    [
        'CREATE INDEX CONCURRENTLY "i" ON "t" ("a")',
        'DROP INDEX CONCURRENTLY "i"',
        "VACUUM t",
        "REINDEX INDEX CONCURRENTLY i",
    ],
)
def test_statements_that_refuse_a_transaction(sql: str) -> None:
    assert effect(sql).transactional is False


def test_unknown_statements_are_marked_unknown_not_guessed() -> None:
    assert effect("CREATE POLICY p ON t USING (true)").known is False
    assert effect("CREATE TYPE \"e\" AS ENUM ('a')").kind == "create type"


# -- found by tracing the lint corpus (`inv plan --trace`): each was a mismatch or a trace-only lock ----------


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ('ALTER TABLE "recipe" ADD COLUMN "total" integer GENERATED ALWAYS AS ("a" + "b") STORED', "stored generated"),
        ('ALTER TABLE "account" ADD COLUMN "id" bigint NOT NULL GENERATED ALWAYS AS IDENTITY', "identity"),
        ('ALTER TABLE "account" ADD COLUMN "id" bigserial NOT NULL PRIMARY KEY', "serial: nextval() default"),
        ('ALTER TABLE "account" ADD COLUMN "seq" serial NOT NULL', "serial: nextval() default"),
        ('ALTER TABLE "account" ADD COLUMN "n" bigint DEFAULT nextval(\'s\')', "volatile default"),
    ],
)
def test_added_columns_that_rewrite_the_table(sql: str, why: str) -> None:
    (table,) = effect(sql).tables
    assert table.rewrite and table.lock == ACCESS_EXCLUSIVE and any(why in w for w in table.why)


def test_create_trigger_blocks_writes_on_its_table() -> None:
    result = effect(
        'CREATE TRIGGER "users_set_updated_at" BEFORE UPDATE ON "users" '
        'FOR EACH ROW EXECUTE FUNCTION "public"."set_updated_at"()'
    )
    assert [(t.table, t.lock) for t in result.tables] == [(("public", "users"), SHARE_ROW_EXCLUSIVE)]


def test_a_new_table_locks_the_tables_it_references() -> None:
    result = effect(
        'CREATE TABLE "reviews" ("id" uuid PRIMARY KEY, "user_id" uuid REFERENCES "users" ("id"), '
        '"set_id" integer, "parent" uuid REFERENCES "reviews" ("id"), '
        'CONSTRAINT "fk" FOREIGN KEY ("set_id") REFERENCES "public"."sets" ("id"))'
    )
    assert result.creates == [("public", "reviews")]
    assert [(t.table, t.lock) for t in result.tables] == [
        (("public", "users"), SHARE_ROW_EXCLUSIVE),
        (("public", "sets"), SHARE_ROW_EXCLUSIVE),
    ]


def test_a_created_index_names_its_table() -> None:
    assert effect('CREATE INDEX "i" ON "s"."t" ("a")').indexes == {("s", "i"): ("s", "t")}
    assert effect('CREATE INDEX CONCURRENTLY "i" ON "t" ("a")').indexes == {("public", "i"): ("public", "t")}


# drizzle-kit up to 0.20 wrapped foreign keys and enums in DO blocks: the block does what its body does
OLD_DRIZZLE_FK = """DO $$ BEGIN
 ALTER TABLE "application" ADD CONSTRAINT "application_projectId_project_projectId_fk"
 FOREIGN KEY ("projectId") REFERENCES "public"."project"("projectId") ON DELETE cascade ON UPDATE no action;
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;"""


def test_a_do_block_takes_the_locks_of_the_statements_in_its_body() -> None:
    found = effect(OLD_DRIZZLE_FK)
    assert found.known and found.kind == "do block"
    locks = {t.table: t.lock for t in found.tables}
    assert locks == {("public", "application"): SHARE_ROW_EXCLUSIVE, ("public", "project"): SHARE_ROW_EXCLUSIVE}


def test_a_do_block_merges_what_several_statements_do_to_one_table() -> None:
    found = effect(
        'DO $$ BEGIN ALTER TABLE "t" ADD CONSTRAINT "c" CHECK (x > 0) NOT VALID; '
        'ALTER TABLE "t" ALTER COLUMN "x" SET DATA TYPE bigint; END $$;'
    )
    (table,) = found.tables
    assert (table.table, table.lock, table.rewrite) == (("public", "t"), ACCESS_EXCLUSIVE, True)


def test_a_do_block_creating_a_type_touches_no_table() -> None:
    found = effect("DO $$ BEGIN CREATE TYPE \"s\" AS ENUM('a'); EXCEPTION WHEN duplicate_object THEN null; END $$;")
    assert found.known and found.tables == []


@pytest.mark.parametrize(
    "sql",
    [
        "DO $$ BEGIN EXECUTE 'ALTER TABLE t ADD COLUMN c int'; END $$;",  # dynamic: cannot be known
        "DO LANGUAGE plperl $$ print 1 $$;",
        "DO $$ BEGIN ALTER TABLE; END $$;",  # a body the parser rejects
    ],
)
def test_a_do_block_that_cannot_be_read_is_unknown_not_guessed(sql: str) -> None:
    found = effect(sql)
    assert not found.known and found.tables == []


def test_a_query_reads_the_tables_of_its_with_clauses_and_subqueries() -> None:
    # dokploy's 0066: a data-modifying WITH moves users between tables; CTE names are no tables
    found = effect(
        'WITH moved AS (INSERT INTO user_temp (id) SELECT u.id FROM "user" u JOIN admin a ON a.uid = u.id '
        "RETURNING id) INSERT INTO account (user_id) SELECT id FROM moved WHERE id IN (SELECT uid FROM auth)"
    )
    locks = {t.table[1]: t.lock for t in found.tables}
    assert locks == {
        "user_temp": "ROW EXCLUSIVE",
        "account": "ROW EXCLUSIVE",
        "user": "ACCESS SHARE",
        "admin": "ACCESS SHARE",
        "auth": "ACCESS SHARE",
    }


def test_an_update_backfill_writes_its_table_and_reads_the_others() -> None:
    found = effect('UPDATE "users" SET "org" = o.id FROM "organization" o WHERE o.owner = "users".id')
    assert {(t.table[1], t.lock, t.scan) for t in found.tables} == {
        ("users", "ROW EXCLUSIVE", True),
        ("organization", "ACCESS SHARE", False),
    }
