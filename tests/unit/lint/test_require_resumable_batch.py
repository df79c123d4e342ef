"""require-resumable-batch: a marked statement batches cannot run safely is an error, with the reason."""

from drizzle_ops.lint import lint_migrations, rule_by_id

from .util import check, flagged

RULE = "require-resumable-batch"
HEADER = "-- Custom SQL migration file, put your code below! --\n"
GOOD = (
    HEADER
    + '-- drizzle-ops: batch rows=1000 pause=50ms\nUPDATE "users" SET "name" = lower("email") WHERE "name" IS NULL;'
)


def messages(sql: str) -> list[str]:
    return [f.message for f in check(RULE, sql)]


def test_an_update_whose_where_excludes_the_rows_it_did_passes() -> None:
    assert not flagged(RULE, GOOD)
    assert not flagged(
        RULE, "-- drizzle-ops: batch rows=10\nUPDATE t AS x SET a = 1, b = 2 WHERE x.b IS DISTINCT FROM 2;"
    )
    # every branch of an OR tests an assigned column; an AND needs one such condition
    assert not flagged(RULE, "-- drizzle-ops: batch rows=10\nUPDATE t SET a = 1 WHERE (a IS NULL OR a <> 1) AND b > 3;")
    assert not flagged(RULE, "-- drizzle-ops: batch rows=10\nUPDATE t SET (a, b) = (1, 2) WHERE b IS NULL;")


def test_a_delete_needs_no_where_a_deleted_row_cannot_match_again() -> None:
    assert not flagged(RULE, "-- drizzle-ops: batch rows=500\nDELETE FROM events WHERE created_at < '2020-01-01';")
    assert not flagged(RULE, "-- drizzle-ops: batch rows=500\nDELETE FROM events;")


def test_an_update_without_where_or_with_one_that_keeps_matching_done_rows_is_an_error() -> None:
    [no_where] = check(RULE, '-- drizzle-ops: batch rows=1000\nUPDATE "users" SET "name" = lower("email");')
    assert no_where.severity.value == "error" and no_where.line == 2
    assert "has no WHERE" in no_where.message
    [keeps] = messages("-- drizzle-ops: batch rows=10\nUPDATE t SET status = 'x' WHERE created_at < now();")
    assert "does not exclude the rows already done" in keeps and "(status)" in keeps
    [or_branch] = messages("-- drizzle-ops: batch rows=10\nUPDATE t SET a = 1 WHERE a IS NULL OR b = 2;")
    assert "does not exclude" in or_branch


def test_the_marker_must_be_right_before_an_update_or_delete_that_stands_alone() -> None:
    assert "directly before an UPDATE or a DELETE" in messages("-- drizzle-ops: batch rows=10\nSELECT 1;")[0]
    alone = messages(GOOD + '\n--> statement-breakpoint\nCREATE INDEX "i" ON "users" ("name");')
    assert any("stand alone in its migration" in m for m in alone)
    # another comment is no marker, nor is the text inside a string; a marker spelled wrong is never ignored
    assert not flagged(RULE, "-- drizzle-ops: batches are described in the README\nUPDATE t SET a = 1;")
    assert "not name=value" in messages("-- drizzle-ops: batch rows 1000\nDELETE FROM t;")[0]
    assert not flagged(RULE, "UPDATE t SET note = '-- drizzle-ops: batch rows=1';")


def test_bad_options_say_what_to_write() -> None:
    assert "needs rows=N" in messages('-- drizzle-ops: batch\nDELETE FROM "t";')[0]
    assert "write it with a unit" in messages('-- drizzle-ops: batch rows=10 pause=50\nDELETE FROM "t";')[0]
    assert "unknown batch option `size`" in messages('-- drizzle-ops: batch size=10\nDELETE FROM "t";')[0]
    assert "from 1 to 1,000,000" in messages('-- drizzle-ops: batch rows=0\nDELETE FROM "t";')[0]


def test_a_table_the_history_created_without_a_primary_key_is_an_error() -> None:
    rules = [rule_by_id(RULE)]
    batch = "-- drizzle-ops: batch rows=100\nUPDATE logs SET level = 'info' WHERE level IS NULL;"
    no_key = [("0000.sql", "CREATE TABLE logs (id bigint, level text);"), ("0001.sql", batch)]
    [finding] = lint_migrations(no_key, rules=rules)
    assert finding.file == "0001.sql" and "logs has no primary key" in finding.message
    keyed = [("0000.sql", "CREATE TABLE logs (id bigint PRIMARY KEY, level text);"), ("0001.sql", batch)]
    assert lint_migrations(keyed, rules=rules) == []
    # added later, dropped later, renamed: followed through the history
    added = [
        no_key[0],
        ("0001.sql", 'ALTER TABLE logs ADD CONSTRAINT "logs_pk" PRIMARY KEY (id);'),
        ("0002.sql", batch),
    ]
    assert lint_migrations(added, rules=rules) == []
    dropped = [*added[:2], ("0002.sql", 'ALTER TABLE logs DROP CONSTRAINT "logs_pk";'), ("0003.sql", batch)]
    assert len(lint_migrations(dropped, rules=rules)) == 1
    renamed = [
        ("0000.sql", "CREATE TABLE old_logs (id bigint, level text);"),
        ("0001.sql", "ALTER TABLE old_logs RENAME TO logs;"),
    ]
    assert len(lint_migrations([*renamed, ("0002.sql", batch)], rules=rules)) == 1
    # a table the history does not create: migrate checks the catalog before the first batch
    assert lint_migrations([("0001.sql", batch)], rules=rules) == []
