"""The batch marker and the statement it marks: options, the refusals, and the SQL of one batch."""

from __future__ import annotations

import pytest
from pglast import parse_sql

from drizzle_ops.engine.batch_statement import (
    BatchOptions,
    BatchProblem,
    KeyColumn,
    batch_statement,
    find_markers,
    key_of,
    parse_options,
)
from drizzle_ops.engine.transactionality import Mode, mode_of
from drizzle_ops.engine.workspace import split_statements

HEADER = "-- Custom SQL migration file, put your code below! --\n"
BACKFILL = HEADER + (
    "-- drizzle-ops: batch rows=1000 pause=50ms max-lag=10s\n"
    'UPDATE "users" SET "display_name" = split_part("email", \'@\', 1)\n'
    'WHERE "display_name" IS NULL OR btrim("display_name") = \'\';\n'
)


class _Source:
    def __init__(self, text: str) -> None:
        self.text = text
        self.statements = split_statements(text)


def parsed(text: str):  # type: ignore[no-untyped-def]
    return batch_statement(text, split_statements(text))


def problem(text: str) -> BatchProblem:
    with pytest.raises(BatchProblem) as raised:
        parsed(text)
    return raised.value


def test_options() -> None:
    assert parse_options(" rows=1000 pause=50ms max-lag=10s") == BatchOptions(1000, 0.05, 10.0)
    assert parse_options("rows=5") == BatchOptions(5, 0.0, None)
    assert parse_options("ROWS=7 pause=1.5s max-lag=2min") == BatchOptions(7, 1.5, 120.0)
    assert parse_options("rows=7 pause=0") == BatchOptions(7, 0.0, None)
    assert BatchOptions(1000, 0.05, 10.0).describe() == "rows=1000 pause=50ms max-lag=10s"


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ("", "needs rows=N"),
        ("rows=0", "from 1 to 1,000,000"),
        ("rows=1e3", "from 1 to 1,000,000"),
        ("rows=10 pause=50", "write it with a unit"),
        ("rows=10 pause=fast", "is not a duration"),
        ("rows=10 max-lag=0s", "more than 0"),
        ("rows=10 pause=2h", "is not a duration"),
        ("rows=10 rows=20", "given twice"),
        ("rows=10 size=3", "unknown batch option `size`"),
        ("rows 10", "not name=value"),
    ],
)
def test_bad_options_say_what_is_wrong(options: str, says: str) -> None:
    with pytest.raises(BatchProblem, match=says):
        parse_options(options)


def test_the_marked_statement() -> None:
    spec = parsed(BACKFILL)
    assert (spec.kind, spec.schema, spec.table, spec.qualifier, spec.only) == (
        "UPDATE",
        None,
        "users",
        ("users",),
        False,
    )
    assert spec.assigned == ("display_name",) and spec.marker_line == 2
    assert spec.options == BatchOptions(1000, 0.05, 10.0)
    # the statement's first word, for file:line in a failure: line 3 of the file
    assert spec.statement.sql[: spec.position - 1].count("\n") == 2
    aliased = parsed('-- drizzle-ops: batch rows=10\nDELETE FROM ONLY "audit"."events" AS e WHERE e.at < now();')
    assert (aliased.kind, aliased.schema, aliased.table, aliased.qualifier, aliased.only) == (
        "DELETE",
        "audit",
        "events",
        ("e",),
        True,
    )


def test_a_batch_is_the_statement_with_a_key_range_anded_to_its_where() -> None:
    spec = parsed(BACKFILL)
    key = [KeyColumn("id", "uuid")]
    first = spec.batch_sql(None, key, None, ["9f3e0000-0000-0000-0000-000000000000"])  # type: ignore[arg-type]
    assert first == (
        "UPDATE users SET display_name = split_part(email, '@', 1) "
        "WHERE (display_name IS NULL OR btrim(display_name) = '') "
        'AND ("users"."id" <= \'9f3e0000-0000-0000-0000-000000000000\'::uuid)'
    )
    middle = spec.batch_sql(None, key, ["a"], ["b"])  # type: ignore[arg-type]
    assert middle.endswith('AND ("users"."id" > \'a\'::uuid AND "users"."id" <= \'b\'::uuid)')
    last = spec.batch_sql(None, key, ["b"], None)  # type: ignore[arg-type]
    assert last.endswith('AND ("users"."id" > \'b\'::uuid)')
    whole = spec.batch_sql(None, key, None, None)  # type: ignore[arg-type]
    assert whole.endswith("AND true")
    for text in (first, middle, last, whole):  # each parses, as one UPDATE
        [raw] = parse_sql(text)
        assert type(raw.stmt).__name__ == "UpdateStmt"


def test_a_composite_key_compares_rows_and_quotes_values() -> None:
    spec = parsed('-- drizzle-ops: batch rows=10\nDELETE FROM "Line Items" li WHERE li.qty = 0;')
    keys = [KeyColumn("order_id", "bigint"), KeyColumn("sku", "character varying(20)")]
    text = spec.batch_sql(None, keys, ["5", "it's"], ["9", "z"])  # type: ignore[arg-type]
    assert text == (
        'DELETE FROM "Line Items" AS li WHERE li.qty = 0 AND (("li"."order_id", "li"."sku") > '
        '(\'5\'::bigint, \'it\'\'s\'::character varying(20)) AND ("li"."order_id", "li"."sku") <= '
        "('9'::bigint, 'z'::character varying(20)))"
    )
    assert parse_sql(text)


def test_a_delete_without_where_gets_the_range_alone() -> None:
    spec = parsed("-- drizzle-ops: batch rows=10\nDELETE FROM events;")
    assert spec.batch_sql(None, [KeyColumn("id", "int")], ["1"], ["2"]) == (  # type: ignore[arg-type]
        'DELETE FROM events WHERE ("events"."id" > \'1\'::int AND "events"."id" <= \'2\'::int)'
    )


def test_keys_read_back_exactly_as_the_server_wrote_them() -> None:
    assert key_of('[12345678901234567890, "x\\"y", 1.10, true]') == ["12345678901234567890", 'x"y', "1.10", "true"]


@pytest.mark.parametrize(
    ("text", "says", "line"),
    [
        ("-- drizzle-ops: batch rows=10\nUPDATE t SET a = 1;", "has no WHERE", 1),
        ("-- drizzle-ops: batch rows=10\nUPDATE t SET a = 1 WHERE b = 2;", "does not exclude the rows already done", 1),
        ("-- drizzle-ops: batch rows=10\nSELECT 1;", "directly before an UPDATE or a DELETE", 1),
        ("-- drizzle-ops: batch rows=10\nINSERT INTO t SELECT 1;", "directly before an UPDATE or a DELETE", 1),
        ("UPDATE t SET a = 1 WHERE a IS NULL;\n-- drizzle-ops: batch rows=10\n", "directly before", 2),
        ("-- drizzle-ops: batch rows=10\nSELECT 1;\nDELETE FROM t;", "stands alone in its migration", 1),
        (
            "-- drizzle-ops: batch rows=10\nDELETE FROM t;\n--> statement-breakpoint\nDELETE FROM u;",
            "stands alone in its migration",
            1,
        ),
        (
            "-- drizzle-ops: batch rows=10\nDELETE FROM t;\n-- drizzle-ops: batch rows=10\nDELETE FROM u;",
            "one batch statement",
            3,
        ),
        ("-- drizzle-ops: batch rows=ten\nDELETE FROM t;", "whole number", 1),
    ],
)
def test_what_cannot_run_in_batches_is_refused_with_the_reason_and_line(text: str, says: str, line: int) -> None:
    refused = problem(text)
    assert says in refused.reason and refused.line == line


def test_a_breakpoint_or_comments_between_marker_and_statement_are_fine() -> None:
    text = "-- drizzle-ops: batch rows=10\n--> statement-breakpoint\n/* why */ -- and more\nDELETE FROM t;"
    assert parsed(text).kind == "DELETE"


def test_the_marker_is_read_from_comments_only() -> None:
    assert find_markers("UPDATE t SET note = '-- drizzle-ops: batch rows=1' WHERE note IS NULL;") == []
    assert find_markers("/* -- drizzle-ops: batch rows=1 */ DELETE FROM t;") == []
    assert find_markers("-- drizzle-ops: batches happen elsewhere\nDELETE FROM t;") == []
    [marker] = find_markers(BACKFILL)
    assert marker.line == 2 and marker.options_text.split() == ["rows=1000", "pause=50ms", "max-lag=10s"]


def test_a_marked_file_runs_in_batches_whatever_else_it_holds() -> None:
    assert mode_of(_Source(BACKFILL)) is Mode.BATCH  # type: ignore[arg-type]
    # the runner then refuses a file that holds more (above); without the marker it is one transaction
    assert mode_of(_Source("UPDATE t SET a = 1 WHERE a IS NULL;")) is Mode.TRANSACTION  # type: ignore[arg-type]
    assert mode_of(_Source("-- drizzle-ops: batch rows=10\nBEGIN;\nDELETE FROM t;\nCOMMIT;")) is Mode.BATCH  # type: ignore[arg-type]
    assert Mode.BATCH.description == "in batches"
