"""The scans that read a migration in place (no lower-cased or stripped copy of a large seed, and a migration's
chunks as the UTF-8 bytes read from its file) answer exactly what the whole-text expressions they replace
answer; those expressions are written out here as the definition.

Random texts from an alphabet of the characters that make lower-casing and whitespace tricky ('İ' lowers to
two characters, the Kelvin sign to 'k', a no-break space and U+2028 are whitespace to str.strip but not to
PostgreSQL), cut into pieces far smaller than a real run's, so that words fall across the cuts.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from drizzle_ops.engine import scan, transactionality
from drizzle_ops.engine.scan import contains_lowered, simple_query_statements
from drizzle_ops.engine.transactionality import MARKER, has_marker, marked
from drizzle_ops.engine.workspace import BOM, BREAKPOINT, Migration, Statement, line_of, split_statements

ALPHABET = ["r", "U", "l", "E", "a", "T", "o", "M", "i", "C", "İ", "\u212a", "_", " ", "\n", "\t", "é", "Σ", "1", ";"]
ALPHABET += ["\u00a0", "\u2028", "\u0307", "x", "rule", "RULE", "atomic", "Atomic", "vacuum", "concurrently"]
ALPHABET += ["CONCURRENTLY", "VACUUM", "'", '"']


def random_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 60))) for _ in range(count)]


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "_PIECE", 7)


def test_inner_semicolon_words_are_found_as_in_the_lower_cased_text() -> None:
    old = re.compile(r"\b(?:rule|atomic)\b")
    texts = [*random_texts(4000, 1), "İrule", "rulei\u0307", "x-rule;", "atomİc", "ATOMIC", "rules", "_rule"]
    texts += ["é rule ", "érule", "ruleé", "ruleİ", "\u212arule", "x\U0001f986rule\U0001f986", "a rule"]
    for text in texts:
        expected = old.search(text.lower()) is not None
        assert scan._has_inner_semicolon_words(text) == expected, text
        assert scan._has_inner_semicolon_words(text.encode()) == expected, text


def test_words_are_found_as_in_the_lower_cased_text() -> None:
    for text in random_texts(4000, 2):
        for words in (("concurrently", "vacuum"), ("concurrently",), ("rule", "atomic")):
            expected = any(w in text.lower() for w in words)
            assert contains_lowered(text, words) == contains_lowered(text.encode(), words) == expected, (text, words)


SQL = ["SELECT", " 1", ";", "'", '"', "$", "$$", "$a$", "$1", "--", "\n", "/*", "*/", "\\", "-", "/", "é", "ü", "🦆"]
SQL += ["BEGIN", "commit", " rule ", "Atomic", "copy", "x", "_", "€", "İ", "a$", "1$", "E'", " ", "\t", "\u00a0"]


def test_the_bytes_of_a_chunk_are_counted_as_its_text() -> None:
    rng = random.Random(5)
    texts = ["".join(rng.choice(SQL) for _ in range(rng.randint(0, 30))) for _ in range(20000)]
    texts += ["SELECT 1 AS é$b, 2 AS c$;", "SELECT $é$ a; b $é$;", "SELECT 'é' FROM t; SELECT 1;", "SELECT 1é$"]
    counted = 0
    for text in texts:
        expected = simple_query_statements(text)
        counted += expected is not None
        assert simple_query_statements(text.encode()) == expected, text
    assert counted > 2000  # both answers are well represented


def test_counts_are_the_same_whatever_the_pieces() -> None:
    chunk = "INSERT INTO t VALUES " + ",".join(f"({n}, 'a rule; {n}', \"c;{n}\")" for n in range(3000)) + ";"
    for text in (chunk, chunk.encode()):
        assert simple_query_statements(text) is None  # 'rule' stands alone in the data
    assert simple_query_statements(chunk.replace("a rule", "rules")) == 1
    assert simple_query_statements(chunk.replace("a rule", "rulé").encode()) == 1
    assert simple_query_statements("SELECT 1;" * 5000) == simple_query_statements(b"SELECT 1;" * 5000) == 5000


def old_has_marker(text: str) -> bool:
    first = text.removeprefix(BOM).lstrip().split("\n", 1)[0]
    return first.strip().lower() == MARKER


def test_the_marker_line_is_read_as_before() -> None:
    rng = random.Random(3)
    pieces = [MARKER, MARKER.upper(), MARKER.replace("i", "İ"), " ", "\n", "\u00a0", "\u2028", "\r", BOM, "x", "--"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 6))) for _ in range(4000)]
    texts += [f"{MARKER}\nSELECT 1;", f"{BOM}\n  {MARKER.upper()} \r\nSELECT 1;", f"{MARKER}x", f"x\n{MARKER}"]
    texts += [f"{MARKER}{BREAKPOINT}\nSELECT 1;", f"\n{BREAKPOINT}\n{MARKER}\n", f"{MARKER} \u00a0", BOM + BOM + MARKER]
    for text in texts:
        assert has_marker(text) == old_has_marker(text), repr(text)
        # a migration's file, read from its first chunk
        assert marked(Migration(0, "0000_x", 1, True, Path("x.sql"), None, text)) == old_has_marker(text), repr(text)


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


VALID = [
    "SELECT 1",
    "select 'a; b' AS \"c;d\"",
    "SELECT 'back\\slash; COMMIT'",  # a backslash in a string: standard_conforming_strings, as the parser reads it
    "SELECT E'it\\'s; COMMIT'",
    "SELECT 'a\\'",  # the string ends at the quote after the backslash: what follows is a statement
    "SELECT e'a''b\\\\'",
    "SELECT U&'d\\0061t; BEGIN'",
    "INSERT INTO t VALUES (1, 'rule; COMMIT', 'vacuum')",
    "COMMIT",
    "begin",
    "START TRANSACTION",
    "END",
    "ROLLBACK",
    "SAVEPOINT s",
    "RELEASE SAVEPOINT s",
    "PREPARE TRANSACTION 'x'",
    "PREPARE p AS SELECT 1",
    "CREATE INDEX CONCURRENTLY i ON t (a)",
    "CREATE INDEX i ON t (a)",
    "DROP INDEX CONCURRENTLY i",
    "REINDEX INDEX CONCURRENTLY i",
    "VACUUM t",
    "ANALYZE t",
    "analyse t",
    "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END",
    "DO $$ BEGIN COMMIT; END $$",
    "/* a comment; COMMIT */ SELECT 1",
    "-- VACUUM t\nSELECT 'concurrently'",
    "COPY t FROM STDIN",
]
GLUE = [";", ";\n", "; -- note; COMMIT\n", ";/* x; */", " ;\t"]


def old_chunk_controls(sql: str) -> tuple[list[object], bool]:
    nodes = transactionality._parse(sql)
    controls = [control for node in nodes if (control := transactionality.control_of(node)) is not None]
    return controls, len(controls) < len(nodes) or not nodes


def test_transaction_control_and_outside_work_are_found_as_a_parse_finds_them() -> None:
    rng = random.Random(6)
    chunks = [rng.choice(GLUE).join(rng.sample(VALID, rng.randint(1, 4))) for _ in range(600)]
    chunks += [f"SELECT '{'x' * 40}\\' ; {word} x" for word in ("COMMIT", "SELECT")]  # long strings, backslashes
    # E'' strings read as plain ones would hide the COMMIT between them (each one's quotes still pair up)
    chunks += ["SELECT E'a\\'b'; COMMIT; SELECT E'c\\'d'", "SELECT xE'a\\'; COMMIT; SELECT xE'b\\'"]
    assert sum(scan.first_words(chunk) is not None for chunk in chunks) > 400  # mostly no parse needed
    for chunk in chunks:
        for source in (chunk, chunk.encode()):
            statement = Statement(1, source, 1)
            assert transactionality.chunk_controls(statement) == old_chunk_controls(chunk), chunk
            expected = any(w in chunk.lower() for w in ("concurrently", "vacuum")) and any(
                transactionality.needs_no_transaction(node) for node in transactionality._parse(chunk)
            )
            assert transactionality.needs_outside(statement) == expected, chunk
