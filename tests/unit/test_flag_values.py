"""Each kind of flag value, read once at the edge: what it takes, and the one line for what it does not."""

from __future__ import annotations

import pytest

from drizzle_ops.cli import flag_values as value
from drizzle_ops.context.fleet.build import Shard
from drizzle_ops.errors import UserError


def refused(parse: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(UserError) as raised:
        parse(*args, **kwargs)  # type: ignore[operator]
    assert raised.value.exit_code == 2 and "\n" not in raised.value.message
    return raised.value.message


def test_an_absent_flag_is_none_for_every_kind() -> None:
    assert value.whole_number("--steps", None, least=1, of="migrations") is None
    assert value.seconds("--lock-wait", None) is None
    assert value.choice("--format", None, ("table",)) is None
    assert value.pg_major("--pg", None) is None
    assert value.shard(None) is None
    assert value.lock_mode("--explain-lock", None) is None
    assert value.rule_ids("--exclude", None) == ()


@pytest.mark.parametrize(("text", "number"), [("2", 2), (" 7 ", 7), ("0", 0), ("100000", 100000), ("+3", 3)])
def test_whole_numbers(text: str, number: int) -> None:
    assert value.whole_number("--large-rows", text, least=0, of="rows") == number


@pytest.mark.parametrize("text", ["abc", "", "1.5", "1e3", "1_000", "٣", "-1", "0x10", "2 3"])
def test_a_whole_number_names_the_flag_and_the_least_it_takes(text: str) -> None:
    message = refused(value.whole_number, "--large-rows", text, least=0, of="rows")
    assert message == f"--large-rows {text!r}: give a whole number of rows, 0 or more"


def test_the_least_is_part_of_the_kind() -> None:
    assert value.whole_number("--steps", "1", least=1, of="migrations") == 1
    assert refused(value.whole_number, "--steps", "0", least=1, of="migrations").endswith("1 or more")


@pytest.mark.parametrize(("text", "number"), [("30", 30.0), ("2.5", 2.5), ("0", 0.0), (".5", 0.5), ("3.", 3.0)])
def test_seconds(text: str, number: float) -> None:
    assert value.seconds("--lock-wait", text) == number


@pytest.mark.parametrize("text", ["abc", "-1", "inf", "nan", "1e3", "1_0", "", "5s"])
def test_seconds_refuse_what_is_no_plain_number(text: str) -> None:
    message = refused(value.seconds, "--lock-wait", text)
    assert message == f"--lock-wait {text!r}: give a number of seconds, 0 or more, such as 30 or 2.5"


def test_a_choice_lists_what_it_takes() -> None:
    assert value.choice("--format", "json", ("table", "json")) == "json"
    assert refused(value.choice, "--format", "JSON", ("table", "json")) == "--format 'JSON': choose one of table, json"


@pytest.mark.parametrize("text", ["16", "9", "99", " 14 "])
def test_pg_majors(text: str) -> None:
    assert value.pg_major("--pg-version", text) == int(text)


@pytest.mark.parametrize("text", ["sixteen", "16.4", "160004", "8", "100", ""])
def test_a_pg_major_is_a_major(text: str) -> None:
    assert refused(value.pg_major, "--pg", text).startswith(
        f"--pg {text!r}: give a PostgreSQL major version such as 16"
    )


def test_shards() -> None:
    assert value.shard("2/4") == Shard(2, 4) and value.shard(" 1/1 ") == Shard(1, 1)


@pytest.mark.parametrize("text", ["0/4", "5/4", "2", "a/b", "2/0", "1/2/3", "-1/4", "", "½/2"])
def test_a_bad_shard_says_what_k_and_n_may_be(text: str) -> None:
    message = refused(value.shard, text)
    assert message == f"--shard {text!r}: give K/N with 1 ≤ K ≤ N, such as 2/4 (the second of four shards)"


def test_lock_modes_in_either_spelling() -> None:
    assert value.lock_mode("--explain-lock", "ShareLock") == value.lock_mode("--explain-lock", "share") == "SHARE"
    message = refused(value.lock_mode, "--explain-lock", "Shared")
    assert message.startswith("--explain-lock 'Shared': choose a table lock mode: ACCESS SHARE (AccessShareLock), ")


def test_rule_ids() -> None:
    assert value.rule_ids("--exclude", "ban-drop-column, renaming-column,") == ("ban-drop-column", "renaming-column")
    message = refused(value.rule_ids, "--exclude", "ban-drop-column,nope")
    assert message.startswith("--exclude 'ban-drop-column,nope': no rule nope; give rule ids, comma-separated")
