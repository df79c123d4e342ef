"""The accepted-differences file: reading, matching, and rewriting it with its comments kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from drizzle_ops.errors import UserError
from drizzle_ops.verify.accepted import HEADER, TODO, line_for, load, rewrite, save

INDEX = "index users_display_name_idx: not in snapshot (on users)"
COLUMN = "column users.nickname: not in snapshot"
TABLE = "table scratch: not in snapshot"


def test_a_missing_file_accepts_nothing(tmp_path: Path) -> None:
    accepted = load(tmp_path / "accepted.txt")
    assert not accepted.exists
    assert accepted.entries == ()
    assert not accepted.accepts(INDEX)


def test_comments_blank_lines_and_trailing_reasons_are_not_differences(tmp_path: Path) -> None:
    path = tmp_path / "accepted.txt"
    path.write_text(
        "# header\n\n# added by hand in 0004 for the admin search\n"
        f"{INDEX}\n{COLUMN}  # kept for the old mobile app\n   \n{INDEX}\n"
    )
    accepted = load(path)
    assert accepted.entries == (INDEX, COLUMN)
    assert accepted.accepts(INDEX) and accepted.accepts(COLUMN)
    assert accepted.stale([INDEX]) == [COLUMN]


def test_whitespace_inside_a_difference_is_compared_collapsed() -> None:
    assert line_for("check constraint c: a > 0,\n  snapshot says   a >= 0") == (
        "check constraint c: a > 0, snapshot says a >= 0"
    )


def test_an_unreadable_file_is_bad_input(tmp_path: Path) -> None:
    folder = tmp_path / "accepted.txt"
    folder.mkdir()
    with pytest.raises(UserError, match=r"cannot read the accepted differences file .*accepted\.txt") as raised:
        load(folder)
    assert raised.value.exit_code == 2
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe index")
    with pytest.raises(UserError, match="cannot read the accepted differences file"):
        load(binary)


def test_a_new_file_has_the_header_and_a_reason_to_fill_in_above_each_line(tmp_path: Path) -> None:
    path = tmp_path / "checks" / "accepted.txt"
    result = save(load(path), [INDEX, COLUMN])
    assert result.added == [INDEX, COLUMN] and result.removed == []
    assert path.read_text() == "\n".join([*HEADER, "", TODO, INDEX, "", TODO, COLUMN]) + "\n"
    assert load(path).entries == (INDEX, COLUMN)


def test_nothing_to_accept_and_no_file_leaves_it_absent(tmp_path: Path) -> None:
    path = tmp_path / "accepted.txt"
    result = save(load(path), [])
    assert result.text is None
    assert not path.exists()


def test_a_rewrite_keeps_comments_and_reasons_and_drops_stale_lines_with_their_reason(tmp_path: Path) -> None:
    path = tmp_path / "accepted.txt"
    path.write_text(
        "# our accepted differences\n"
        "\n"
        "# the admin search index, added by hand in 0004\n"
        f"{INDEX}\n"
        "\n"
        "# a table the reporting job creates\n"
        f"{TABLE}\n"
        f"{COLUMN}  # the old mobile app still writes it\n"
    )
    result = rewrite(load(path), [COLUMN, INDEX, "schema reporting: not in snapshot"])
    assert result.removed == [TABLE]
    assert result.kept == [INDEX, COLUMN]
    assert result.added == ["schema reporting: not in snapshot"]
    assert result.text == (
        "# our accepted differences\n"
        "\n"
        "# the admin search index, added by hand in 0004\n"
        f"{INDEX}\n"
        "\n"
        f"{COLUMN}  # the old mobile app still writes it\n"
        "\n"
        f"{TODO}\n"
        "schema reporting: not in snapshot\n"
    )


def test_removing_every_line_keeps_the_header(tmp_path: Path) -> None:
    path = tmp_path / "accepted.txt"
    save(load(path), [INDEX])
    result = save(load(path), [])
    assert result.removed == [INDEX]
    assert path.read_text() == "\n".join(HEADER) + "\n"
    assert load(path).entries == ()
