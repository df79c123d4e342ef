"""The scans that read a migration in place (no lower-cased or stripped copy of a large seed) answer exactly
what the whole-text expressions they replace answer; those expressions are written out here as the definition.

Random texts from an alphabet of the characters that make lower-casing and whitespace tricky ('İ' lowers to
two characters, the Kelvin sign to 'k', a no-break space and U+2028 are whitespace to str.strip but not to
PostgreSQL), cut into pieces far smaller than a real run's, so that words fall across the cuts.
"""

from __future__ import annotations

import random
import re

import pytest

from drizzle_ops.engine import batching
from drizzle_ops.engine.batching import contains_lowered, simple_query_statements
from drizzle_ops.engine.transactionality import MARKER, has_marker
from drizzle_ops.engine.workspace import BOM, BREAKPOINT, Statement, line_of, split_statements

ALPHABET = ["r", "U", "l", "E", "a", "T", "o", "M", "i", "C", "İ", "\u212a", "_", " ", "\n", "\t", "é", "Σ", "1", ";"]
ALPHABET += ["\u00a0", "\u2028", "\u0307", "x", "rule", "RULE", "atomic", "Atomic", "vacuum", "concurrently"]
ALPHABET += ["CONCURRENTLY", "VACUUM", "'", '"']


def random_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 60))) for _ in range(count)]


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batching, "_PIECE", 7)


def test_inner_semicolon_words_are_found_as_in_the_lower_cased_text() -> None:
    old = re.compile(r"\b(?:rule|atomic)\b")
    texts = [*random_texts(4000, 1), "İrule", "rulei\u0307", "x-rule;", "atomİc", "ATOMIC", "rules", "_rule"]
    for text in texts:
        assert batching._has_inner_semicolon_words(text) == (old.search(text.lower()) is not None), text


def test_words_are_found_as_in_the_lower_cased_text() -> None:
    for text in random_texts(4000, 2):
        for words in (("concurrently", "vacuum"), ("concurrently",), ("rule", "atomic")):
            assert contains_lowered(text, words) == any(w in text.lower() for w in words), (text, words)


def test_counts_are_the_same_whatever_the_pieces() -> None:
    chunk = "INSERT INTO t VALUES " + ",".join(f"({n}, 'a rule; {n}', \"c;{n}\")" for n in range(3000)) + ";"
    assert simple_query_statements(chunk) is None  # 'rule' stands alone in the data
    assert simple_query_statements(chunk.replace("a rule", "rules")) == 1
    assert simple_query_statements("SELECT 1;" * 5000) == 5000


def old_has_marker(text: str) -> bool:
    first = text.removeprefix(BOM).lstrip().split("\n", 1)[0]
    return first.strip().lower() == MARKER


def test_the_marker_line_is_read_as_before() -> None:
    rng = random.Random(3)
    pieces = [MARKER, MARKER.upper(), MARKER.replace("i", "İ"), " ", "\n", "\u00a0", "\u2028", "\r", BOM, "x", "--"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 6))) for _ in range(4000)]
    texts += [f"{MARKER}\nSELECT 1;", f"{BOM}\n  {MARKER.upper()} \r\nSELECT 1;", f"{MARKER}x", f"x\n{MARKER}"]
    for text in texts:
        assert has_marker(text) == old_has_marker(text), repr(text)


def old_split(text: str) -> list[Statement]:
    result: list[Statement] = []
    line = 1
    for chunk in text.removeprefix(BOM).split(BREAKPOINT):
        if chunk.strip():
            leading = chunk[: len(chunk) - len(chunk.lstrip())]
            result.append(Statement(len(result) + 1, chunk, line + leading.count("\n")))
        line += chunk.count("\n")
    return result


def old_line_of(statement: Statement, position: int | None) -> int:
    if not position:
        return statement.line
    before = statement.sql[: position - 1]
    leading = statement.sql[: len(statement.sql) - len(statement.sql.lstrip())]
    return statement.line - leading.count("\n") + before.count("\n")


def test_statements_and_their_lines_are_split_as_before() -> None:
    rng = random.Random(4)
    pieces = [BREAKPOINT, "\n", " ", "\u00a0", "\u2028", "\x1c", "SELECT 1;", "x", BOM, "\r\n"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(4000)]
    for text in texts:
        statements = split_statements(text)
        assert statements == old_split(text), repr(text)
        for statement in statements:
            for position in (None, 1, 2, len(statement.sql) // 2 + 1, len(statement.sql), len(statement.sql) + 3):
                assert line_of(statement, position) == old_line_of(statement, position), (repr(text), position)


def test_a_file_without_breakpoints_is_its_own_statement_not_a_copy() -> None:
    text = "\n  INSERT INTO t VALUES " + ",".join(f"({n})" for n in range(1000)) + ";\n"
    (statement,) = split_statements(text)
    assert statement.sql is text
