import pytest

from .util import check, flagged

RULE = "require-concurrent-index-creation"


@pytest.mark.parametrize(
    "sql",
    [
        'CREATE INDEX "users_email_idx" ON "users" USING btree ("email");',
        'CREATE UNIQUE INDEX "users_email_key" ON "users" ("email");',
        'CREATE INDEX ON "public"."users" (lower("email"));',
        # same table name, other schema: not the table created above
        'CREATE TABLE "audit"."users" ("id" uuid);\nCREATE INDEX "i" ON "public"."users" ("id");',
    ],
)
def test_plain_index_on_existing_table_is_flagged(sql: str) -> None:
    assert flagged(RULE, sql)


@pytest.mark.parametrize(
    "sql",
    [
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_email_idx" ON "users" ("email");',
        # drizzle-kit's own shape: the table is created a few lines above, in the same migration
        'CREATE TABLE "wishlist_items" ("id" uuid PRIMARY KEY, "user_id" uuid NOT NULL);\n'
        "--> statement-breakpoint\n"
        'CREATE INDEX "wishlist_items_user_id_idx" ON "wishlist_items" USING btree ("user_id");',
        'CREATE TABLE "public"."t" ("a" int);\nCREATE INDEX "t_a" ON "t" ("a");',
        'CREATE TABLE "t" AS SELECT 1 AS "a";\nCREATE INDEX "t_a" ON "t" ("a");',
    ],
)
def test_concurrent_or_new_table_is_fine(sql: str) -> None:
    assert not flagged(RULE, sql)


def test_index_created_before_its_table_is_flagged() -> None:
    # order matters: the table only counts as new after its CREATE TABLE
    findings = check(RULE, 'CREATE INDEX "t_a" ON "t" ("a");\nCREATE TABLE "t" ("a" int);')
    assert [f.line for f in findings] == [1]


def test_message_names_index_and_table() -> None:
    (finding,) = check(RULE, 'CREATE INDEX "users_email_idx" ON "users" ("email");')
    assert "users_email_idx" in finding.message and "users" in finding.message
    assert finding.severity.value == "warning"
    assert "CONCURRENTLY" in finding.help
