"""`lint --fix`, one rewrite at a time: the SQL drizzle-kit 0.31 writes, in; the fixed file, out (exactly).

The history below is what the rules judge by (the tables exist before the migration, so the statements
are flagged); the fixed text must lint clean of what it fixed, and keep every other byte.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drizzle_ops.lint import ALL_RULES, lint_sql, select_rules
from drizzle_ops.lint.fix import FIXES, NO_FIX, FileFix, fix_analysis
from drizzle_ops.lint.fix.steps import Boundary, Step, place
from drizzle_ops.lint.linter import analyse_migrations

HISTORY = (
    'CREATE TABLE "users" (\n\t"id" serial PRIMARY KEY NOT NULL,\n\t"email" text\n);\n--> statement-breakpoint\n'
    'CREATE TABLE "posts" (\n\t"id" serial PRIMARY KEY NOT NULL,\n\t"user_id" integer,\n\t"title" text,\n'
    '\t"a" integer NOT NULL,\n\t"b" integer\n);\n'
)
LEAVE = Boundary.LEAVE.sql
RETURN = Boundary.RETURN.sql
COMMIT_ADDED = Boundary.COMMIT_ADDED.sql
BEGIN_VALIDATE = Boundary.BEGIN_VALIDATE.sql
BP = "--> statement-breakpoint"


def fixed(text: str, *, history: str = HISTORY, breakpoints: bool = True) -> FileFix:
    sources = [("0000_init.sql", history), ("0001_change.sql", text)] if history else [("0001_change.sql", text)]
    return fix_analysis(analyse_migrations(sources)[-1], breakpoints=breakpoints)


def chunks(*statements: str) -> str:
    """Statements as drizzle-kit writes them: `;--> statement-breakpoint` and a newline between."""
    return f";{BP}\n".join(statements) + ";"


def findings_after(fix: FileFix, history: str = HISTORY) -> list[str]:
    sources = [("0000_init.sql", history), ("0001_change.sql", fix.after)] if history else [("x.sql", fix.after)]
    return [f.rule for f in analyse_migrations(sources)[-1].findings]


def test_create_index_becomes_concurrent_between_commit_and_begin() -> None:
    fix = fixed('CREATE INDEX "posts_title_idx" ON "posts" USING btree ("title");')
    assert fix.after == chunks(
        LEAVE,
        "DROP INDEX CONCURRENTLY IF EXISTS posts_title_idx",
        "CREATE INDEX CONCURRENTLY posts_title_idx ON posts (title)",
        RETURN,
    )
    assert [(c.line, c.rules) for c in fix.changes] == [(1, ("require-concurrent-index-creation",))]
    assert findings_after(fix) == [] and fix.unfixed == []


def test_unique_index_keeps_its_columns_order_and_predicate() -> None:
    fix = fixed(
        'CREATE UNIQUE INDEX "p_idx" ON "posts" USING btree ("a" DESC NULLS LAST,lower("title")) WHERE "b" > 0;'
    )
    assert (
        "CREATE UNIQUE INDEX CONCURRENTLY p_idx ON posts (a DESC NULLS LAST, (lower(title))) WHERE b > 0" in fix.after
    )


def test_drop_index_becomes_concurrent_and_if_exists() -> None:
    fix = fixed('DROP INDEX "posts_title_idx";')
    assert fix.after == chunks(LEAVE, "DROP INDEX CONCURRENTLY IF EXISTS posts_title_idx", RETURN)
    assert findings_after(fix) == []


def test_drop_of_several_indexes_or_cascade_says_why_not() -> None:
    for sql in ('DROP INDEX "a_idx", "b_idx";', 'DROP INDEX "a_idx" CASCADE;'):
        fix = fixed(sql)
        assert not fix.changed and fix.unfixed
        assert all(u.rule == "require-concurrent-index-deletion" and "one index" in u.reason for u in fix.unfixed)


def test_foreign_key_becomes_not_valid_then_validated_in_a_later_transaction() -> None:
    fix = fixed(
        'ALTER TABLE "posts" ADD CONSTRAINT "posts_user_id_users_id_fk" FOREIGN KEY ("user_id") '
        'REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;'
    )
    assert fix.after == chunks(
        "ALTER TABLE posts ADD CONSTRAINT posts_user_id_users_id_fk FOREIGN KEY (user_id) REFERENCES public.users (id) "
        "ON DELETE CASCADE NOT VALID",
        COMMIT_ADDED,
        BEGIN_VALIDATE,
        "ALTER TABLE posts VALIDATE CONSTRAINT posts_user_id_users_id_fk",
    )
    assert set(fix.changes[0].rules) == {"adding-foreign-key-constraint", "constraint-missing-not-valid"}
    assert findings_after(fix) == []


def test_check_constraint_becomes_not_valid_then_validated() -> None:
    fix = fixed('ALTER TABLE "posts" ADD CONSTRAINT "posts_a_positive" CHECK ("posts"."a" > 0);')
    assert fix.after == chunks(
        "ALTER TABLE posts ADD CONSTRAINT posts_a_positive CHECK (posts.a > 0) NOT VALID",
        COMMIT_ADDED,
        BEGIN_VALIDATE,
        "ALTER TABLE posts VALIDATE CONSTRAINT posts_a_positive",
    )


def test_validate_in_the_transaction_of_its_add_gets_a_commit_before_it() -> None:
    text = chunks(
        'ALTER TABLE "posts" ADD CONSTRAINT "c" CHECK ("a" > 0) NOT VALID',
        'ALTER TABLE "posts" VALIDATE CONSTRAINT "c"',
    )
    fix = fixed(text)
    assert fix.after == chunks(
        'ALTER TABLE "posts" ADD CONSTRAINT "c" CHECK ("a" > 0) NOT VALID',
        COMMIT_ADDED,
        BEGIN_VALIDATE,
        "ALTER TABLE posts VALIDATE CONSTRAINT c",
    )
    assert findings_after(fix) == []


def test_set_not_null_is_proven_by_a_validated_check_first() -> None:
    fix = fixed('ALTER TABLE "posts" ALTER COLUMN "title" SET NOT NULL;')
    assert fix.after == chunks(
        "ALTER TABLE posts ADD CONSTRAINT posts_title_not_null_check CHECK (title IS NOT NULL) NOT VALID",
        COMMIT_ADDED,
        BEGIN_VALIDATE,
        "ALTER TABLE posts VALIDATE CONSTRAINT posts_title_not_null_check",
        "ALTER TABLE posts ALTER COLUMN title SET NOT NULL",
        "ALTER TABLE posts DROP CONSTRAINT posts_title_not_null_check",
    )
    assert findings_after(fix) == []


def test_set_not_null_before_postgresql_12_says_why_not() -> None:
    sources = [("0000_init.sql", HISTORY), ("0001.sql", 'ALTER TABLE "posts" ALTER COLUMN "title" SET NOT NULL;')]
    fix = fix_analysis(analyse_migrations(sources, pg_version=11)[-1])
    assert not fix.changed
    assert [(u.rule, u.reason) for u in fix.unfixed] == [
        ("adding-not-nullable-field", "before PostgreSQL 12 SET NOT NULL scans the table whatever proves it")
    ]


def test_long_check_names_are_cut_to_63_bytes() -> None:
    table = "t" * 40
    history = f'CREATE TABLE "{table}" ("é_column_with_a_long_name" text);'
    fix = fixed(f'ALTER TABLE "{table}" ALTER COLUMN "é_column_with_a_long_name" SET NOT NULL;', history=history)
    name = f"{table}_é_column_with_a_long_"
    assert len(name.encode()) == 63  # é is two bytes
    assert f"ADD CONSTRAINT {name} CHECK" in fix.after.replace(f'"{name}"', name)


def test_unique_constraint_becomes_a_concurrent_index_then_using_index() -> None:
    fix = fixed('ALTER TABLE "users" ADD CONSTRAINT "users_email_unique" UNIQUE("email");')
    assert fix.after == chunks(
        LEAVE,
        "DROP INDEX CONCURRENTLY IF EXISTS users_email_unique",
        "CREATE UNIQUE INDEX CONCURRENTLY users_email_unique ON users (email)",
        RETURN,
        "ALTER TABLE users ADD CONSTRAINT users_email_unique UNIQUE USING INDEX users_email_unique",
    )
    assert findings_after(fix) == []


def test_unique_keeps_nulls_not_distinct_include_and_deferrable() -> None:
    fix = fixed(
        'ALTER TABLE "posts" ADD CONSTRAINT "u" UNIQUE NULLS NOT DISTINCT("a","b") INCLUDE ("title") '
        "DEFERRABLE INITIALLY DEFERRED;"
    )
    assert "CREATE UNIQUE INDEX CONCURRENTLY u ON posts (a, b) INCLUDE (title) NULLS NOT DISTINCT" in fix.after
    assert "ALTER TABLE posts ADD CONSTRAINT u UNIQUE USING INDEX u DEFERRABLE INITIALLY DEFERRED" in fix.after


def test_primary_key_on_not_null_columns_needs_no_proof() -> None:
    history = 'CREATE TABLE "post_tags" (\n\t"post_id" integer NOT NULL,\n\t"tag" text NOT NULL\n);\n'
    fix = fixed(
        'ALTER TABLE "post_tags" ADD CONSTRAINT "post_tags_post_id_tag_pk" PRIMARY KEY("post_id","tag");',
        history=history,
    )
    assert fix.after == chunks(
        LEAVE,
        "DROP INDEX CONCURRENTLY IF EXISTS post_tags_post_id_tag_pk",
        "CREATE UNIQUE INDEX CONCURRENTLY post_tags_post_id_tag_pk ON post_tags (post_id, tag)",
        RETURN,
        "ALTER TABLE post_tags ADD CONSTRAINT post_tags_post_id_tag_pk PRIMARY KEY "
        "USING INDEX post_tags_post_id_tag_pk",
    )
    assert findings_after(fix, history) == []


def test_primary_key_on_a_nullable_column_proves_it_not_null_first() -> None:
    """posts.a is NOT NULL in the history, posts.b is not: only b gets the CHECK (ADD PRIMARY KEY would scan)."""
    fix = fixed('ALTER TABLE "posts" ADD PRIMARY KEY ("a","b");')  # drizzle-kit 1.0 leaves the key unnamed
    assert fix.after == chunks(
        "ALTER TABLE posts ADD CONSTRAINT posts_b_not_null_check CHECK (b IS NOT NULL) NOT VALID",
        LEAVE,
        "DROP INDEX CONCURRENTLY IF EXISTS posts_pkey",
        "CREATE UNIQUE INDEX CONCURRENTLY posts_pkey ON posts (a, b)",
        RETURN,
        "ALTER TABLE posts VALIDATE CONSTRAINT posts_b_not_null_check",
        "ALTER TABLE posts ALTER COLUMN b SET NOT NULL",
        "ALTER TABLE posts DROP CONSTRAINT posts_b_not_null_check",
        "ALTER TABLE posts ADD CONSTRAINT posts_pkey PRIMARY KEY USING INDEX posts_pkey",
    )
    assert findings_after(fix) == []


def test_two_concurrent_statements_in_a_row_share_one_commit_and_begin() -> None:
    fix = fixed(chunks('CREATE INDEX "i1" ON "posts" ("a")', 'CREATE INDEX "i2" ON "posts" ("b")'))
    assert fix.after == chunks(
        LEAVE,
        "DROP INDEX CONCURRENTLY IF EXISTS i1",
        "CREATE INDEX CONCURRENTLY i1 ON posts (a)",
        "DROP INDEX CONCURRENTLY IF EXISTS i2",
        "CREATE INDEX CONCURRENTLY i2 ON posts (b)",
        RETURN,
    )


def test_chunks_that_need_nothing_stay_byte_for_byte() -> None:
    untouched = (
        "-- Custom SQL migration file, put your code below! --\n"
        'UPDATE "posts" SET "title" = \'x\'  WHERE "title" IS NULL;'
    )
    text = f'{untouched}{BP}\n\tCREATE INDEX "i" ON "posts" ("a");{BP}\nALTER TABLE "posts" ADD COLUMN "c" text;\n'
    fix = fixed(text)
    assert fix.after.startswith(untouched + BP + "\n\t" + LEAVE)
    assert fix.after.endswith(f'{RETURN};{BP}\nALTER TABLE "posts" ADD COLUMN "c" text;\n')


def test_comments_and_line_ends_around_a_rewritten_statement_are_kept() -> None:
    text = '-- the title index\r\nCREATE INDEX "i" ON "posts" ("title"); -- for search\r\n'
    fix = fixed(text)
    assert fix.after == (
        f"{LEAVE.replace(chr(10), chr(13) + chr(10))};{BP}\r\n-- the title index\r\n"
        f"DROP INDEX CONCURRENTLY IF EXISTS i;{BP}\r\n"
        f"CREATE INDEX CONCURRENTLY i ON posts (title); -- for search\r\n{BP}\r\n"
        f"{RETURN.replace(chr(10), chr(13) + chr(10))};\r\n"
    )
    assert findings_after(fix) == []


def test_a_statement_flagged_and_ignored_is_left_alone() -> None:
    fix = fixed('-- lint: ignore require-concurrent-index-creation (posts is tiny)\nCREATE INDEX "i" ON "posts" ("a");')
    assert not fix.changed and fix.unfixed == []


def test_an_excluded_rule_is_not_fixed() -> None:
    rules = select_rules(["require-concurrent-index-creation"])
    sources = [("0000_init.sql", HISTORY), ("0001.sql", 'CREATE INDEX "i" ON "posts" ("a");')]
    assert not fix_analysis(analyse_migrations(sources, rules=rules)[-1]).changed


def test_statements_on_a_new_table_are_not_touched() -> None:
    text = chunks('CREATE TABLE "tags" ("id" integer, "name" text)', 'CREATE INDEX "tags_name_idx" ON "tags" ("name")')
    assert not fixed(text).changed


def test_a_fixed_file_is_fixed_again_to_itself() -> None:
    text = chunks(
        'DROP INDEX "old_idx"',
        'ALTER TABLE "posts" ALTER COLUMN "title" SET NOT NULL',
        'ALTER TABLE "users" ADD CONSTRAINT "users_email_unique" UNIQUE("email")',
        'ALTER TABLE "posts" ADD CONSTRAINT "fk" FOREIGN KEY ("user_id") REFERENCES "users"("id")',
    )
    once = fixed(text)
    again = fixed(once.after)
    assert once.changed and not again.changed and again.unfixed == []


@pytest.mark.parametrize(
    ("text", "breakpoints", "why"),
    [
        ('-- drizzle-ops: no-transaction\nCREATE INDEX "i" ON "posts" ("a");', True, "drizzle-ops: no-transaction"),
        (chunks("BEGIN", 'CREATE INDEX "i" ON "posts" ("a")', "COMMIT"), True, "its own BEGIN/COMMIT"),
        ('CREATE INDEX "i" ON "posts" ("a");', False, "breakpoints: false"),
        ('CREATE INDEX "i" ON "posts" ("a"); CREATE INDEX "j" ON "posts" ("b");', True, "shares its chunk"),
    ],
)
def test_what_the_fix_cannot_do_to_a_file_is_said(text: str, breakpoints: bool, why: str) -> None:
    fix = fixed(text, breakpoints=breakpoints)
    assert not fix.changed
    assert fix.unfixed and all(why in u.reason for u in fix.unfixed if u.rule == "require-concurrent-index-creation")


def test_an_unnamed_constraint_and_a_partitioned_table_say_why_not() -> None:
    unnamed = fixed('ALTER TABLE "posts" ADD FOREIGN KEY ("user_id") REFERENCES "users"("id");')
    assert not unnamed.changed and all("no name" in u.reason for u in unnamed.unfixed)
    history = 'CREATE TABLE "events" ("id" integer, "at" date) PARTITION BY RANGE ("at");'
    partitioned = fixed('CREATE INDEX "events_at_idx" ON "events" ("at");', history=history)
    assert not partitioned.changed and "partitioned" in partitioned.unfixed[0].reason


def test_an_enum_value_used_in_its_own_transaction_moves_out_of_it() -> None:
    history = "CREATE TYPE \"mood\" AS ENUM('ok');"
    text = chunks("ALTER TYPE \"mood\" ADD VALUE 'great'", "SELECT 'great'::mood")
    fix = fixed(text, history=history)
    assert fix.after == chunks(LEAVE, "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'great'", RETURN, "SELECT 'great'::mood")
    assert findings_after(fix, history) == ["adding-enum-value"]  # the warning that a value stays: no fix for that
    assert [(u.rule, u.line, u.reason) for u in fix.unfixed] == [
        ("adding-enum-value", 1, "a value added to an enum cannot be removed again: nothing to rewrite")
    ]


def test_existing_concurrent_statement_gets_its_boundaries() -> None:
    text = chunks(
        'ALTER TABLE "posts" ADD COLUMN "c" text', 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "i" ON "posts" ("c")'
    )
    fix = fixed(text)
    assert fix.after == chunks(
        'ALTER TABLE "posts" ADD COLUMN "c" text',
        LEAVE,
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "i" ON "posts" ("c")',
        RETURN,
    )
    assert findings_after(fix) == []


def test_rules_without_a_fix_say_why() -> None:
    fix = fixed('ALTER TABLE "posts" ALTER COLUMN "a" SET DATA TYPE bigint;')
    assert [(u.rule, u.reason) for u in fix.unfixed] == [("changing-column-type", NO_FIX["changing-column-type"])]


def test_every_rule_has_a_fix_or_a_reason_and_not_both() -> None:
    ids = {rule.id for rule in ALL_RULES}
    assert set(FIXES) | set(NO_FIX) == ids
    assert not set(FIXES) & set(NO_FIX)


def test_boundaries_commit_before_outside_steps_and_begin_after_them() -> None:
    steps = [Step("a"), Step("b", outside=True), Step("c", outside=True), Step("d", validates=True), Step("e")]
    placed = place(steps)
    assert [(p.before, p.after) for p in placed] == [
        ((), ()),
        ((Boundary.LEAVE,), ()),
        ((), (Boundary.RETURN,)),
        ((), ()),  # a fresh transaction holds nothing yet: the VALIDATE goes right in
        ((), ()),
    ]


def test_a_validate_never_follows_a_strong_lock_in_its_transaction() -> None:
    steps = [Step("add"), Step("validate 1", validates=True), Step("validate 2", validates=True), Step("set not null")]
    steps.append(Step("validate 3", validates=True))
    placed = place(steps)
    assert [p.before for p in placed] == [
        (),
        (Boundary.COMMIT_ADDED, Boundary.BEGIN_VALIDATE),
        (),
        (),
        (Boundary.COMMIT_ADDED, Boundary.BEGIN_VALIDATE),
    ]


CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.sql"))


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_after_the_fix_lint_reports_exactly_what_the_fix_said_it_left(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fix = fix_analysis(analyse_migrations([(path.name, text)])[0])
    after = sorted(f.rule for f in lint_sql(fix.after, path=path.name))
    assert after == sorted(u.rule for u in fix.unfixed)
    assert fix_analysis(analyse_migrations([(path.name, fix.after)])[0]).after == fix.after  # a second fix: no change
