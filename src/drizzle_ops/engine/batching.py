"""Several statements in one round trip: how many the server will run, and every answer it gives.

A chunk of a migration is sent as one simple query. Several chunks can travel as ONE simple
query, joined by a newline, ";" and a newline, when that cannot change what the server runs: each chunk must end
outside any quote or comment, and we must know how many statements (so how many results) each
chunk gives, to name the one that failed. ``simple_query_statements`` answers that, or None when
it is not sure; None sends the chunks one by one.
"""

from __future__ import annotations

import re
import select
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass

import psycopg
from psycopg import pq
from psycopg.errors import error_from_result
from psycopg.pq.abc import PGconn, PGresult

# statements that end or start transactions, or switch the protocol: never sent together
_UNBATCHABLE = frozenset(
    {"begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release", "prepare", "copy"}
)
# ';' inside one statement: a rule's action list, a BEGIN ATOMIC function body
_INNER_SEMICOLON_WORDS = ("rule", "atomic")
_INNER_SEMICOLONS = re.compile(r"\b(?:rule|atomic)\b")  # in lower-cased text
_INNER_SEMICOLON_WORD = re.compile(r"rule|atomic", re.IGNORECASE | re.ASCII)
_WORD_CHARACTER = re.compile(r"\w")
_PIECE = 1 << 20  # characters lower-cased at a time (see lowered_pieces)
# ordinary text with double-quoted names and single-quoted strings that have no backslash:
# it stops at ';', '$', a comment, a backslash, or a quote it cannot close. A bounded repeat, run
# again until it stops: sre keeps state for every repetition of a group until its match ends
# (about 150 bytes each: 100 MB for one 13 MB INSERT), so an unbounded `*` costs memory by the text
_PLAIN = re.compile(r"""(?:[^'"$;/\\-]+|/(?!\*)|-(?!-)|"[^"]*"|'[^'\\]*'){0,1024}""")
_SPACE = re.compile(r"[ \t\n\r\f\v]*")  # PostgreSQL's whitespace (a no-break space is an identifier character)
_WORD = re.compile(r"[A-Za-z_]+")
_BLOCK_COMMENT = re.compile(r"/\*|\*/")
_PARAMETER = re.compile(r"\$[0-9]+")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$")


def _skip_plain(text: str, i: int) -> int:
    """The index where ordinary text starting at ``i`` stops (see ``_PLAIN``)."""
    while True:
        end = _PLAIN.match(text, i).end()  # type: ignore[union-attr]
        if end == i:
            return i
        i = end


def lowered_pieces(text: str, overlap: int) -> Iterator[tuple[int, int, str]]:
    """``text`` lower-cased a piece at a time, with where each piece starts and stops in ``text``.

    Pieces overlap by ``overlap`` characters. An ASCII word of up to ``overlap + 1`` letters is in
    ``text.lower()`` exactly when it is in one of the pieces: only ASCII letters lower to ASCII
    letters, apart from 'İ' (to 'i' and a combining dot) and the Kelvin sign (to 'k'), each one
    character of ``text``. Never a whole lower-cased copy, which would double a large seed.
    """
    for start in range(0, len(text), _PIECE):
        stop = min(start + _PIECE + overlap, len(text))
        yield start, stop, text[start:stop].lower()


def contains_lowered(text: str, words: tuple[str, ...]) -> bool:
    """``any(word in text.lower() for word in words)`` for lower-case ASCII ``words``, in pieces."""
    if len(text) <= _PIECE:  # one piece: lowered whole
        lowered = text.lower()
        return any(word in lowered for word in words)
    overlap = max(len(word) for word in words) - 1
    return any(word in piece for _, _, piece in lowered_pieces(text, overlap) for word in words)


def _has_inner_semicolon_words(text: str) -> bool:
    """Whether ``text.lower()`` has the word rule or atomic (``\\b(?:rule|atomic)\\b``), in pieces.

    Where a piece has one of them, each is checked where it stands in ``text``: the characters
    beside it, lower-cased as the whole text would have them, must not be word characters.
    """
    if len(text) <= _PIECE:  # one piece: lowered whole
        lowered = text.lower()
        return any(word in lowered for word in _INNER_SEMICOLON_WORDS) and _INNER_SEMICOLONS.search(lowered) is not None
    overlap = max(len(word) for word in _INNER_SEMICOLON_WORDS) - 1
    for start, stop, piece in lowered_pieces(text, overlap):
        if not any(word in piece for word in _INNER_SEMICOLON_WORDS):
            continue
        for found in _INNER_SEMICOLON_WORD.finditer(text, start, stop):
            before = text[found.start() - 1].lower()[-1] if found.start() else " "
            after = text[found.end()].lower()[0] if found.end() < len(text) else " "
            if not _WORD_CHARACTER.match(before) and not _WORD_CHARACTER.match(after):
                return True
    return False


def _identifier_char(c: str) -> bool:
    return not c.isascii() or c.isalnum() or c in "_$"


def _skip_comment(text: str, i: int) -> int:
    """The index after the comment starting at ``i`` ('--' or a nested '/*'), or -1 when it never ends."""
    if text.startswith("--", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end + 1
    depth, i = 1, i + 2
    while depth:
        found = _BLOCK_COMMENT.search(text, i)
        if found is None:
            return -1
        depth += 1 if found.group() == "/*" else -1
        i = found.end()
    return i


def _skip_dollar(text: str, i: int) -> int:
    """At a '$' outside quotes: the index to go on from, or -1 when unsure how PostgreSQL reads it."""
    start = i
    while start > 0 and _identifier_char(text[start - 1]):
        start -= 1
    if start < i:  # right after a name: part of it (PostgreSQL allows '$' in names); after a number: unsure
        first = text[start]
        return i + 1 if first.isalpha() or first == "_" or not first.isascii() else -1
    parameter = _PARAMETER.match(text, i)
    if parameter is not None:
        end = parameter.end()
    else:
        tag = _DOLLAR_TAG.match(text, i)
        if tag is None:
            return -1
        close = text.find(tag.group(), tag.end())
        if close < 0:
            return -1
        end = close + len(tag.group())
    # a quote or parameter that ends where a name would go on: unusual enough not to guess
    return -1 if end < len(text) and _identifier_char(text[end]) else end


def simple_query_statements(text: str) -> int | None:
    """How many statements (so results) the server runs when ``text`` is sent as a simple query.

    None when unsure: a quote or comment left open (text joined after it would be read
    differently), a backslash in a string (its meaning depends on settings), an unusual
    '$', transaction control or COPY, or ';' that may belong inside one statement. Only
    text with a definite answer is ever joined with other text.
    """
    if _has_inner_semicolon_words(text):
        return None
    n, i, count, starting = len(text), 0, 0, True
    while i < n:
        if starting:
            i = _SPACE.match(text, i).end()  # type: ignore[union-attr]
            if i >= n:
                break
            if text.startswith(("--", "/*"), i):
                i = _skip_comment(text, i)
                if i < 0:
                    return None
                continue
            if text[i] == ";":  # an empty statement gives no result
                i += 1
                continue
            word = _WORD.match(text, i)
            if word and word.group().lower() in _UNBATCHABLE:
                return None
            count += 1
            starting = False
        i = _skip_plain(text, i)
        if i >= n:
            break
        if text[i] == ";":
            starting = True
            i += 1
        elif text.startswith(("--", "/*"), i):
            i = _skip_comment(text, i)
        elif text[i] == "$":
            i = _skip_dollar(text, i)
        else:  # a backslash, or a quote that does not close
            return None
        if i < 0:
            return None
    return count


@dataclass
class Exchange:
    """What came back for one simple query: a result per statement the server ran, up to the failed one."""

    results: list[PGresult]
    lost: psycopg.OperationalError | None = None  # the connection broke before the server was done

    def failed_at(self) -> int | None:
        """Index of the failed statement's result; with a lost connection and no error, the first unanswered one."""
        for index, result in enumerate(self.results):
            if result.status == pq.ExecStatus.FATAL_ERROR:
                return index
        return len(self.results) if self.lost is not None else None

    def error(self, conn: psycopg.Connection) -> psycopg.Error | None:
        """The failure as psycopg raises it from ``conn.execute``."""
        for result in self.results:
            if result.status == pq.ExecStatus.FATAL_ERROR:
                return error_from_result(result, encoding=conn.info.encoding)
        return self.lost


def exchange(conn: psycopg.Connection, query: bytes) -> Exchange:
    """Send ``query`` (any number of statements) as ONE simple-protocol message; keep every result.

    ``conn.execute`` would raise at an error and drop the results before it; their count is what
    names the failed statement. Like psycopg, a Ctrl-C cancels the query in the server first.
    """
    pgconn = conn.pgconn
    results: list[PGresult] = []
    try:
        pgconn.send_query(query)
        while pgconn.flush():  # non-blocking: the rest goes out as the socket takes it
            if _wait(pgconn.socket, write=True):
                pgconn.consume_input()
        _collect(pgconn, results)
    except psycopg.OperationalError as exc:
        return Exchange(results, exc)
    except KeyboardInterrupt:
        with suppress(psycopg.Error, OSError):
            conn.cancel()
            _collect(pgconn, results)
        raise
    return Exchange(results)


def command(conn: psycopg.Connection, query: str) -> None:
    """A plain command (COMMIT, ROLLBACK) in one round trip, never prepared; its error raised as psycopg raises it."""
    error = exchange(conn, query.encode()).error(conn)
    if error is not None:
        raise error


def _wait(fd: int, *, write: bool = False) -> bool:
    """Block until the socket can be read (or, with ``write``, written); True when it can be read.

    poll where there is one: select() refuses descriptors above 1023, which a fleet run's process may hold.
    """
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | (select.POLLOUT if write else 0))
        events = poller.poll()
        return any(event & (select.POLLIN | select.POLLERR | select.POLLHUP) for _, event in events)
    readable, _, _ = select.select([fd], [fd] if write else [], [])
    return bool(readable)


def _collect(pgconn: PGconn, results: list[PGresult]) -> None:
    while True:
        while pgconn.is_busy():
            _wait(pgconn.socket)
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:
            return
        results.append(result)


def rollback_open(conn: psycopg.Connection, *, quietly: bool = False) -> None:
    """Roll back the transaction left open, if any (``quietly``: an error doing so is ignored)."""
    if conn.broken or conn.info.transaction_status == pq.TransactionStatus.IDLE:
        return
    if not quietly:
        command(conn, "ROLLBACK")
        return
    with suppress(psycopg.Error):
        command(conn, "ROLLBACK")


def commit_confirming(conn: psycopg.Connection, confirm: str) -> bool:
    """COMMIT, then ``confirm`` (a query answering true or false) in the same round trip; its answer.

    A COMMIT that fails (a deferred constraint) raises as psycopg raises it, and nothing is confirmed.
    """
    outcome = exchange(conn, f"COMMIT;\n{confirm}".encode(conn.info.encoding))
    error = outcome.error(conn)
    if error is not None:
        raise error
    return bool(outcome.results) and outcome.results[-1].get_value(0, 0) == b"t"
