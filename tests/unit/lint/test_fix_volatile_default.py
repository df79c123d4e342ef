"""`lint --fix` of `ADD COLUMN … DEFAULT <volatile>`: the rewritten file and the migrations that follow it, exactly.

The SQL in is what drizzle-kit 0.31 writes for `.defaultRandom()` (and `.notNull()`) on a new column of a table
the history creates; the fixed file, each follow-up and the whole history after the fix must lint clean.
"""

from __future__ import annotations

import pytest

from drizzle_ops.lint.fix import FIXES, NO_FIX, FileFix, fix_analysis
from drizzle_ops.lint.fix.steps import Boundary
from drizzle_ops.lint.linter import analyse_migrations

HISTORY = (
    'CREATE TABLE "users" (\n\t"id" serial PRIMARY KEY NOT NULL,\n\t"email" text NOT NULL\n);\n'
    "--> statement-breakpoint\n"
    'CREATE TABLE "devices" (\n\t"id" serial PRIMARY KEY NOT NULL,\n\t"label" text\n);\n--> statement-breakpoint\n'
    'CREATE TABLE "events" (\n\t"at" timestamp,\n\t"kind" text\n);\n'
)
BP = "--> statement-breakpoint"
TOKEN = 'ALTER TABLE "users" ADD COLUMN "token" uuid DEFAULT gen_random_uuid() NOT NULL;'
PUBLIC_ID = 'ALTER TABLE "devices" ADD COLUMN "public_id" uuid DEFAULT gen_random_uuid();'
COMMIT_BEFORE_BACKFILL = Boundary.COMMIT_BEFORE_BACKFILL.sql
BEGIN_RECORD = Boundary.BEGIN_RECORD.sql
RULE = "adding-field-with-default"


def fixed(text: str, *, history: str = HISTORY, pg_version: int = 14, refusal: str | None = None) -> FileFix:
    sources = [("drizzle/0000_init.sql", history), ("drizzle/0001_tokens.sql", text)]
    analysis = analyse_migrations(sources, pg_version=pg_version)[-1]
    return fix_analysis(analysis, follow_up_refusal=refusal)


def chunks(*statements: str) -> str:
    return f";{BP}\n".join(statements) + ";"


def findings_after(fix: FileFix, history: str = HISTORY) -> dict[str, list[str]]:
    """lint's findings in the history as it is after the fix: the fixed file, then each follow-up."""
    sources = [
        ("0000_init.sql", history),
        ("0001_tokens.sql", fix.after),
        *((f"{n:04d}_{f.name}.sql", f.sql) for n, f in enumerate(fix.follow_ups, 2)),
    ]
    return {a.path or "": [f.rule for f in a.findings] for a in analyse_migrations(sources)}


def test_a_not_null_column_becomes_add_set_default_commit_then_backfill_then_not_null() -> None:
    fix = fixed(TOKEN)
    assert fix.after == chunks(
        "ALTER TABLE users ADD COLUMN token uuid",
        "ALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid()",
        COMMIT_BEFORE_BACKFILL,
        BEGIN_RECORD,
    )
    assert [(c.line, c.rules) for c in fix.changes] == [(1, (RULE,))]
    assert fix.unfixed == [] and fix.relaxed == [("public", "users", "token")]
    backfill, not_null = fix.follow_ups
    assert (backfill.name, backfill.purpose, backfill.down) == (
        "backfill_users_token",
        "fills users.token in batches",
        "",
    )
    assert backfill.sql == (
        "-- lint --fix: users.token in the rows that were there before 0001_tokens added it "
        "(new rows get its DEFAULT)\n"
        "-- drizzle-ops: batch rows=1000\n"
        "UPDATE users SET token = gen_random_uuid() WHERE token IS NULL;\n"
    )
    assert (not_null.name, not_null.not_null) == ("not_null_users_token", (("public", "users", "token"),))
    assert not_null.sql == (
        "-- lint --fix: users.token NOT NULL, as 0001_tokens declared, now that the backfill has filled it\n"
        + chunks(
            "ALTER TABLE users ADD CONSTRAINT users_token_not_null_check CHECK (token IS NOT NULL) NOT VALID",
            Boundary.COMMIT_ADDED.sql,
            Boundary.BEGIN_VALIDATE.sql,
            "ALTER TABLE users VALIDATE CONSTRAINT users_token_not_null_check",
            "ALTER TABLE users ALTER COLUMN token SET NOT NULL",
            "ALTER TABLE users DROP CONSTRAINT users_token_not_null_check",
        )
        + "\n"
    )
    assert not_null.down == "ALTER TABLE users ALTER COLUMN token DROP NOT NULL;\n"
    assert findings_after(fix) == {
        "0000_init.sql": [],
        "0001_tokens.sql": [],
        "0002_backfill_users_token.sql": [],
        "0003_not_null_users_token.sql": [],
    }


def test_a_nullable_column_gets_its_backfill_and_nothing_after_it() -> None:
    fix = fixed(PUBLIC_ID)
    assert fix.after == chunks(
        "ALTER TABLE devices ADD COLUMN public_id uuid",
        "ALTER TABLE devices ALTER COLUMN public_id SET DEFAULT gen_random_uuid()",
        COMMIT_BEFORE_BACKFILL,
        BEGIN_RECORD,
    )
    assert [f.name for f in fix.follow_ups] == ["backfill_devices_public_id"] and fix.relaxed == []
    assert all(not found for found in findings_after(fix).values())


def test_two_columns_get_a_backfill_each_and_one_not_null_migration() -> None:
    fix = fixed(
        chunks(PUBLIC_ID[:-1], TOKEN[:-1], 'ALTER TABLE "events" ADD COLUMN "n" uuid DEFAULT uuidv7() NOT NULL')
    )
    assert [f.name for f in fix.follow_ups] == [
        "backfill_devices_public_id",
        "backfill_users_token",
        "not_null_users_token",
    ]
    assert "events" in fix.unfixed[0].reason and "primary key" in fix.unfixed[0].reason  # events has none
    assert fix.after.count("COMMIT") == 1 and fix.after.endswith(f"{COMMIT_BEFORE_BACKFILL};{BP}\n{BEGIN_RECORD};")
    two = fixed(chunks(TOKEN[:-1], 'ALTER TABLE "devices" ADD COLUMN "serial_no" uuid DEFAULT uuidv7() NOT NULL'))
    assert [f.name for f in two.follow_ups] == [
        "backfill_users_token",
        "backfill_devices_serial_no",
        "not_null_users_token_devices_serial_no",
    ]
    assert two.follow_ups[-1].not_null == (("public", "users", "token"), ("public", "devices", "serial_no"))
    assert two.follow_ups[-1].down == (
        "ALTER TABLE users ALTER COLUMN token DROP NOT NULL;\n"
        "ALTER TABLE devices ALTER COLUMN serial_no DROP NOT NULL;\n"
    )
    assert all(not found for found in findings_after(two).values())


def test_the_commit_goes_after_the_last_statement_which_stays_as_it_was() -> None:
    last = 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_email_idx" ON "users" ("email")'
    fix = fixed(chunks(TOKEN[:-1], 'ALTER TABLE "devices" ADD COLUMN "note" text'))
    assert fix.after.endswith(
        f'ALTER TABLE "devices" ADD COLUMN "note" text;{BP}\n{COMMIT_BEFORE_BACKFILL};{BP}\n{BEGIN_RECORD};'
    )
    after_outside = fixed(chunks(TOKEN[:-1], last))
    assert after_outside.after.endswith(f"{last};{BP}\n{Boundary.RETURN.sql};")  # the BEGIN after it holds nothing yet
    assert all(not found for found in findings_after(after_outside).values())


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('ALTER TABLE "events" ADD COLUMN "id" uuid DEFAULT gen_random_uuid() NOT NULL;', "leave it without one"),
        ('ALTER TABLE "elsewhere" ADD COLUMN "id" uuid DEFAULT gen_random_uuid();', "do not show whether it has one"),
        ('ALTER TABLE "users" ADD COLUMN "t" uuid DEFAULT gen_random_uuid() UNIQUE;', "a constraint besides DEFAULT"),
        (
            'ALTER TABLE "users" ADD COLUMN "t" uuid DEFAULT gen_random_uuid() REFERENCES "devices"("id");',
            "a constraint besides DEFAULT",
        ),
        ('ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "t" uuid DEFAULT gen_random_uuid();', "IF NOT EXISTS"),
        ('ALTER TABLE IF EXISTS "users" ADD COLUMN "t" uuid DEFAULT gen_random_uuid();', "IF EXISTS"),
        ('ALTER TABLE "users" ADD COLUMN "n" serial;', "serial, identity or stored generated"),
        ('ALTER TABLE "users" ADD COLUMN "n" integer GENERATED ALWAYS AS IDENTITY;', "serial, identity or stored"),
        (
            'ALTER TABLE "users" ADD COLUMN "n" integer GENERATED ALWAYS AS ("id" * 2) STORED;',
            "serial, identity or stored",
        ),
    ],
)
def test_what_cannot_move_into_a_backfill_says_why(text: str, why: str) -> None:
    fix = fixed(text)
    assert not fix.changed and fix.follow_ups == []
    assert [u.rule for u in fix.unfixed if u.rule == RULE] == [RULE]
    assert all(why in u.reason for u in fix.unfixed if u.rule == RULE)


def test_before_postgresql_12_a_not_null_column_is_left_and_a_nullable_one_fixed() -> None:
    fix = fixed(TOKEN, pg_version=11)
    assert not fix.changed and "before PostgreSQL 12" in fix.unfixed[0].reason
    assert fixed(PUBLIC_ID, pg_version=11).follow_ups  # ADD COLUMN without a default is a catalog update there too
    constant = fixed('ALTER TABLE "users" ADD COLUMN "state" text DEFAULT \'new\';', pg_version=10)
    assert not constant.changed and "only a volatile DEFAULT" in constant.unfixed[0].reason


def test_where_no_migration_may_follow_the_rest_of_the_file_is_still_fixed() -> None:
    text = chunks(TOKEN[:-1], 'CREATE INDEX "users_email_idx" ON "users" ("email")')
    fix = fixed(text, refusal="it is not the newest migration")
    assert fix.follow_ups == [] and fix.relaxed == []
    assert TOKEN[:-1] in fix.after and "CREATE INDEX CONCURRENTLY users_email_idx" in fix.after
    assert "SET DEFAULT" not in fix.after and "backfill" not in fix.after
    assert [(u.rule, u.reason) for u in fix.unfixed] == [(RULE, "it is not the newest migration")]


def test_a_file_the_fix_cannot_rewrite_gets_no_follow_ups() -> None:
    sources = [("0000_init.sql", HISTORY), ("0001_tokens.sql", TOKEN)]
    fix = fix_analysis(analyse_migrations(sources)[-1], breakpoints=False)
    assert not fix.changed and fix.follow_ups == [] and "breakpoints: false" in fix.unfixed[0].reason


def test_names_for_drizzle_kit_keep_to_letters_digits_and_underscores() -> None:
    history = 'CREATE TABLE "Sales Orders" ("id" serial PRIMARY KEY);'
    text = f'ALTER TABLE "Sales Orders" ADD COLUMN "{"ü" * 3}{"x" * 80}" uuid DEFAULT gen_random_uuid() NOT NULL;'
    fix = fixed(text, history=history)
    names = [f.name for f in fix.follow_ups]
    assert names[0].startswith("backfill_Sales_Orders_xxx") and names[1].startswith("not_null_Sales_Orders_xxx")
    assert all(len(n) <= 60 and n.replace("_", "").isalnum() and n.isascii() for n in names)
    assert 'UPDATE "Sales Orders" SET' in fix.follow_ups[0].sql


def test_the_rule_is_listed_with_its_fix() -> None:
    assert RULE in FIXES and RULE not in NO_FIX
    assert "generate --custom" in FIXES[RULE] and "batch rows=1000" in FIXES[RULE]
