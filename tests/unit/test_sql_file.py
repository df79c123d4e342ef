"""A migration file kept as its bytes: the same statements, lines, text and hash as from its text, and no copies.

What drizzle hashes is the file's text as Node decoded it; a valid UTF-8 file encodes back to exactly
the bytes read, so the sha256 of the bytes is that hash (a byte-order mark included).
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from drizzle_ops.engine import one_transaction, workspace
from drizzle_ops.engine.one_transaction import _queries
from drizzle_ops.engine.workspace import BOM, BREAKPOINT, Migration, SqlFile, Statement, _read_sql, split_statements
from drizzle_ops.errors import UserError

PIECES = [BREAKPOINT, "\n", " ", "\u00a0", "\u2028", "\x1c", "SELECT 1;", "x", "é", "✓", "🦆", BOM, "\r\n", "--"]


def random_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    texts = ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 12))) for _ in range(count)]
    # leading blanks longer than the first bytes decoded, a character cut where they end
    return [*texts, " " * 300 + "SELECT 1;", "\u00a0" * 200 + "x", " " * 255 + "é" * 10, "\n" * 5000 + "🦆"]


def test_statements_lines_and_text_are_those_of_the_text() -> None:
    for text in random_texts(3000, 1):
        file = SqlFile.of(text.encode())
        expected = split_statements(text)
        statements = file.statements()
        assert [(s.number, s.sql, s.line) for s in statements] == [(s.number, s.sql, s.line) for s in expected]
        assert file.text == text
        assert all(isinstance(s.source, bytes) and s.size == len(s.sql.encode()) for s in statements)


@pytest.mark.parametrize(
    "text", ["SELECT 1;", f"{BOM}SELECT 'é';\r\n", f"CREATE TABLE t (id int);\n{BREAKPOINT}\nSELECT '🦆';", ""]
)
def test_the_hash_is_the_sha256_of_the_bytes_and_of_the_text_encoded(text: str, tmp_path: Path) -> None:
    path = tmp_path / "0000_x.sql"
    path.write_bytes(text.encode())
    file = _read_sql(path)
    assert file.digest == hashlib.sha256(path.read_bytes()).hexdigest() == hashlib.sha256(text.encode()).hexdigest()
    migration = Migration(0, "0000_x", 1, True, path, None, file=file)
    assert migration.hash == Migration(0, "0000_x", 1, True, path, None, text).hash == file.digest
    assert migration.text == text and migration.file.bom == text.startswith(BOM)


def test_a_file_that_is_not_utf8_is_refused_at_the_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "0000_x.sql"
    path.write_bytes(b"SELECT 'caf\xc3\xa9';\nSELECT '\xe9t\xe9';")
    with pytest.raises(UserError, match=r"is not valid UTF-8 \(byte 24\); re-save it as UTF-8"):
        _read_sql(path)


def test_a_file_without_breakpoints_is_held_once_and_sent_as_read() -> None:
    raw = ("INSERT INTO t VALUES " + ",".join(f"({n}, 'row {n}')" for n in range(5000)) + ";\n").encode()
    file = SqlFile.of(raw)
    (statement,) = file.statements()
    assert file.chunks[0] is raw and statement.source is raw  # no copy of the bytes read
    assert statement.encoded("utf-8") is raw and statement.encoded("UTF8") is raw
    assert statement.encoded("latin-1") == raw.decode().encode("latin-1")  # another encoding: converted


def test_text_statements_keep_their_text() -> None:
    statement = Statement(1, "SELECT 'é';", 1)
    assert (
        statement.sql == "SELECT 'é';" and statement.size == 12 and statement.encoded("utf-8") == "SELECT 'é';".encode()
    )


def chunks(sizes: list[int]) -> list[Statement]:
    return [
        Statement(n + 1, ("x" * (size - 1) + ";").encode() if size else b"-- nothing", 1)
        for n, size in enumerate(sizes)
    ]


def plan(sizes: list[int], counts: list[int] | None = None) -> list[tuple[str, list[int], str]]:
    statements = chunks(sizes)
    counts = counts if counts is not None else [1 if size else 0 for size in sizes]
    return [(q.head, q.statements, q.tail) for q in _queries("HEAD", statements, counts, "ROW")]


def test_a_migration_under_query_bytes_is_one_query(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(one_transaction, "QUERY_BYTES", 100)
    assert plan([10, 20, 30]) == [("HEAD", [0, 1, 2], "ROW")]
    assert plan([]) == [("HEAD", [], "ROW")]


def test_a_large_chunk_travels_alone_and_the_others_fill_queries_up_to_query_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(one_transaction, "QUERY_BYTES", 100)
    assert plan([10, 100, 20]) == [("HEAD", [0], ""), ("", [1], ""), ("", [2], "ROW")]
    assert plan([100]) == [("HEAD", [], ""), ("", [0], ""), ("", [], "ROW")]
    assert plan([60, 60, 60, 10]) == [("HEAD", [0, 1], ""), ("", [2, 3], "ROW")]
    # a query that would run nothing (only comments, no prelude, no row) is not sent: the server would
    # answer it with an empty result that no count foresees
    assert plan([100, 0, 100, 5]) == [("HEAD", [], ""), ("", [0], ""), ("", [2], ""), ("", [3], "ROW")]
    assert plan([10, 150], counts=[1, 0]) == [("HEAD", [0], ""), ("", [], "ROW")]


def test_one_query_is_the_text_sent_before(monkeypatch: pytest.MonkeyPatch) -> None:
    statements = chunks([10, 20])
    (query,) = _queries("HEAD;\n", statements, [1, 1], "ROW")
    expected = "HEAD;\n" + "".join(s.sql + one_transaction.SEPARATOR for s in statements) + "ROW"
    assert query.encoded(statements, "utf-8") == expected.encode()
    assert query.offset(statements, 1) == len("HEAD;\n") + 10 + len(one_transaction.SEPARATOR)


def test_utf8_is_checked_in_pieces_and_refused_at_the_byte_a_whole_decode_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(workspace, "_CHECKED_AT_ONCE", 5)
    rng = random.Random(7)
    alphabet = [b"a", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\xa6\x86", b"\xff", b"\xc3", b"\x80", b"\xed\xa0\x80"]
    for _ in range(5000):
        raw = b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        try:
            raw.decode("utf-8")
            expected = None
        except UnicodeDecodeError as exc:
            expected = (exc.start, exc.end)
        try:
            workspace.check_utf8(raw)
            found = None
        except UnicodeDecodeError as exc:
            found = (exc.start, exc.end)
        assert found == expected, raw
