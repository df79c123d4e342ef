"""batching.simple_query_statements: how many statements the server runs for a chunk, or None when it cannot be sure.

A count lets the runner send a migration's chunks in one query and still name the one that
failed; None sends them one by one. So every uncertain case must say None, and a count must
be exactly the server's (tests/integration/test_round_trips.py checks the counts against a
real server).
"""

from __future__ import annotations

import re

import pytest

from drizzle_ops.engine.batching import simple_query_statements
from drizzle_ops.engine.one_transaction import _statement_at


@pytest.mark.parametrize(
    ("chunk", "count"),
    [
        ('CREATE TABLE "users" (\n\t"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL\n);\n', 1),
        ('\nALTER TABLE "a" ADD CONSTRAINT "a_b_fk" FOREIGN KEY ("b") REFERENCES "public"."b"("id");', 1),
        ("CREATE TABLE a (id int)", 1),  # no ';': the end of the text ends it
        ("CREATE TABLE a (id int); CREATE TABLE b (id int);", 2),  # a chunk may hold several
        ("SELECT 1;;  ;\n;", 1),  # empty statements give no result
        ("-- only a comment", 0),
        ("/* only\n a comment */\n", 0),
        ("SELECT 1; -- and a comment at the end", 1),
        ("SELECT 1 /* a /* nested */ comment ; */;", 1),
        ("SELECT 1 AS \"semi;colon\", 'semi;colon';", 1),
        ('SELECT \'it\'\'s; fine\', "a ""b"";";', 1),
        ("SELECT 1 - -1; SELECT 4 / 2;", 2),  # '-' and '/' that start no comment
        ("DO $$ BEGIN\n  CREATE TYPE t AS ENUM('a');\nEXCEPTION WHEN duplicate_object THEN null;\nEND $$;", 1),
        ("CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql; SELECT 2;", 2),
        ("SELECT 1 AS a$b, 2 AS c$;", 1),  # '$' inside names
        ('SELECT "café" FROM t; SELECT 1;', 2),
        ("START_DATE_TABLE", 1),  # a word that only begins like a keyword
    ],
)
def test_counts_the_statements_the_server_runs(chunk: str, count: int) -> None:
    assert simple_query_statements(chunk) == count


@pytest.mark.parametrize(
    "chunk",
    [
        "SELECT 'never closed",
        'SELECT "never closed',
        "SELECT 1 /* never closed",
        "SELECT 1 /* nested /* once */ but not twice",
        "DO $$ BEGIN never closed",
        "SELECT $tag$ body $other$",
        "SELECT E'it\\'s'",  # backslash escapes depend on the string's kind and on standard_conforming_strings
        "SELECT 'a\\'",
        "SELECT $ 1",
        "SELECT 1$$",  # after a number: not guessed
        "SELECT $$a$$b",  # a quote that ends where a name goes on
        "SELECT \\ 1",
    ],
)
def test_open_quotes_comments_and_odd_text_are_not_guessed(chunk: str) -> None:
    assert simple_query_statements(chunk) is None


@pytest.mark.parametrize(
    "chunk",
    [
        "BEGIN;",
        "COMMIT",
        "end;",
        "SELECT 1; ROLLBACK;",
        "SAVEPOINT a; SELECT 1; RELEASE SAVEPOINT a;",
        "START TRANSACTION;",
        "ABORT",
        "PREPARE TRANSACTION 'x'",
        "/* a comment first */ COMMIT",
        "COPY t FROM STDIN;",
        "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC\n  SELECT 1",  # split inside the body
    ],
)
def test_transaction_control_copy_and_inner_semicolons_are_never_joined(chunk: str) -> None:
    assert simple_query_statements(chunk) is None


def test_a_chunk_joined_after_an_open_one_could_change_meaning_so_none_is_answered() -> None:
    # drizzle splits on the breakpoint text even inside a function body: each half alone is an error, and
    # joined they would succeed; the count refuses the halves, so they go one by one as drizzle sends them
    halves = "CREATE FUNCTION f() RETURNS void AS $$\nBEGIN\n--> statement-breakpoint\nEND $$ LANGUAGE plpgsql;"
    first, second = halves.split("--> statement-breakpoint")
    assert simple_query_statements(first) is None
    assert simple_query_statements(second) is None


def test_a_failed_result_is_traced_back_to_its_statement() -> None:
    counts = [1, 0, 2, 1]  # the second chunk is a comment: it gives no result
    assert [_statement_at(i, counts) for i in range(4)] == [0, 2, 2, 3]
    assert _statement_at(4, counts) is None  # past the statements: the bookkeeping row
    assert _statement_at(-1, counts) is None  # before them: BEGIN, the timeouts, or the text did not parse


def test_a_dollar_tag_is_what_postgresql_reads_as_one_at_every_character() -> None:
    """A tag starts with a letter, "_" or any non-ASCII character, and goes on with those and digits."""
    from drizzle_ops.engine.scan import _NAME_CHARACTER, _TEXT

    _DOLLAR_TAG = _TEXT.dollar_tag

    def starts(c: str) -> bool:
        return not c.isascii() or c.isalpha() or c == "_"

    wrong = [
        c
        for c in map(chr, range(0x110000))
        if bool(_DOLLAR_TAG.fullmatch(f"${c}$")) != starts(c)
        or bool(_DOLLAR_TAG.fullmatch(f"$a{c}$")) != (starts(c) or c.isdigit())
    ]
    assert not wrong, [hex(ord(c)) for c in wrong[:10]]
    assert _DOLLAR_TAG.fullmatch("$$") and _DOLLAR_TAG.fullmatch("$_tag_1$") and not _DOLLAR_TAG.fullmatch("$1a$")
    name = re.compile(_NAME_CHARACTER)
    wrong_name = [
        c for c in map(chr, range(0x110000)) if bool(name.fullmatch(c)) != (starts(c) or c.isdigit() or c == "$")
    ]
    assert not wrong_name, [hex(ord(c)) for c in wrong_name[:10]]
