"""How PostgreSQL will split a chunk into statements, read in place: from its text, or from the bytes of its file.

``simple_query_statements`` counts the statements (so the results) the server runs for a chunk
sent as a simple query, or answers None when it is not sure. ``first_words`` gives the first word
of every statement the parser would find (a cheap answer to "could this chunk hold transaction
control, or CREATE INDEX CONCURRENTLY?", which otherwise costs a parse of the whole chunk: about
twelve times its size for a seed INSERT). ``contains_lowered`` finds words as they are in the
lower-cased text. A migration's chunk is scanned as the UTF-8 bytes read from its
file, so a large seed is never decoded, lower-cased or copied to be scanned: UTF-8 keeps every
ASCII character as itself and every other one as bytes of 0x80 and above, and the scan only ever
asks whether a character is one particular ASCII character, an ASCII letter or digit, or not ASCII.
Text and its UTF-8 bytes get the same answers (tests/unit/test_in_place_scans.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import AnyStr, Generic

# statements that end or start transactions, or switch the protocol: never sent together
_UNBATCHABLE = frozenset(
    {"begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release", "prepare", "copy"}
)
# ';' inside one statement: a rule's action list, a BEGIN ATOMIC function body
_INNER_SEMICOLON_WORDS = ("rule", "atomic")
_INNER_SEMICOLONS = re.compile(r"\b(?:rule|atomic)\b")  # in lower-cased text
_WORD_CHARACTER = re.compile(r"\w")
_PIECE = 1 << 16  # characters lower-cased at a time: str.lower() takes 12 bytes a character meanwhile
_UTF8_CONTINUATION = range(0x80, 0xC0)


@dataclass(frozen=True)
class _Lexicon(Generic[AnyStr]):
    """The patterns and characters the scan looks for, as text or as bytes."""

    # ordinary text with double-quoted names and single-quoted strings that have no backslash:
    # it stops at ';', '$', a comment, a backslash, or a quote it cannot close. A bounded repeat, run
    # again until it stops: sre keeps state for every repetition of a group until its match ends
    # (about 150 bytes each: 100 MB for one 13 MB INSERT), so an unbounded `*` costs memory by the text
    plain: re.Pattern[AnyStr]
    space: re.Pattern[AnyStr]  # PostgreSQL's whitespace (a no-break space is an identifier character)
    word: re.Pattern[AnyStr]
    block_comment: re.Pattern[AnyStr]
    parameter: re.Pattern[AnyStr]
    dollar_tag: re.Pattern[AnyStr]  # a non-ASCII character is a letter of a tag, in text as in UTF-8
    inner_semicolon_word: re.Pattern[AnyStr]
    semicolon: AnyStr
    dollar: AnyStr
    line_comment: AnyStr
    block_open: AnyStr
    newline: AnyStr
    underscore: AnyStr
    name_marks: AnyStr  # besides letters and digits, what a name may hold
    as_text: Callable[[AnyStr], str]  # for a word of ASCII letters

    @property
    def comments(self) -> tuple[AnyStr, AnyStr]:
        return self.line_comment, self.block_open


_PLAIN = r"""(?:[^'"$;/\\-]+|/(?!\*)|-(?!-)|"[^"]*"|'[^'\\]*'){0,1024}"""
# the same text as the parser reads it (pglast: standard_conforming_strings on): a backslash is itself in
# a string, and escapes the next character only in an E'' string, whose E starts a word (else it ends a name)
_PARSED_PLAIN = (
    r"""(?:[^'"$;/\-eE]+|(?<!{name})[eE]'[^'\\]*(?:(?:\\.|'')[^'\\]*)*'|[eE]"""
    r"""|/(?!\*)|-(?!-)|"[^"]*"|'[^']*'){{0,1024}}"""
)
# Classes of "a letter, '_' or any non-ASCII character" (then digits, then '$') written as the ASCII they
# exclude: a class spelling out \x80-\U0010ffff takes about 16 ms to compile, at every start.
_TAG_START = r"[^\x00-@\[-^`{-\x7f]"  # A-Z, _, a-z, non-ASCII
_TAG_REST = r"[^\x00-/:-@\[-^`{-\x7f]"  # and 0-9
_NAME_CHARACTER = r"[^\x00-#%-/:-@\[-^`{-\x7f]"  # and $
_TEXT = _Lexicon[str](
    plain=re.compile(_PLAIN),
    space=re.compile(r"[ \t\n\r\f\v]*"),
    word=re.compile(r"[A-Za-z_]+"),
    block_comment=re.compile(r"/\*|\*/"),
    parameter=re.compile(r"\$[0-9]+"),
    dollar_tag=re.compile(rf"\$(?:{_TAG_START}{_TAG_REST}*)?\$"),
    inner_semicolon_word=re.compile(r"rule|atomic", re.IGNORECASE | re.ASCII),
    semicolon=";",
    dollar="$",
    line_comment="--",
    block_open="/*",
    newline="\n",
    underscore="_",
    name_marks="_$",
    as_text=str,
)
_BYTES = _Lexicon[bytes](
    plain=re.compile(_PLAIN.encode()),
    space=re.compile(rb"[ \t\n\r\f\v]*"),
    word=re.compile(rb"[A-Za-z_]+"),
    block_comment=re.compile(rb"/\*|\*/"),
    parameter=re.compile(rb"\$[0-9]+"),
    dollar_tag=re.compile(rb"\$(?:[A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*)?\$"),
    inner_semicolon_word=re.compile(rb"rule|atomic", re.IGNORECASE),
    semicolon=b";",
    dollar=b"$",
    line_comment=b"--",
    block_open=b"/*",
    newline=b"\n",
    underscore=b"_",
    name_marks=b"_$",
    as_text=bytes.decode,
)


def _skip_plain(text: AnyStr, i: int, lexicon: _Lexicon[AnyStr]) -> int:
    """The index where ordinary text starting at ``i`` stops (see ``_Lexicon.plain``)."""
    while True:
        end = lexicon.plain.match(text, i).end()  # type: ignore[union-attr]
        if end == i:
            return i
        i = end


def _identifier_char(c: AnyStr, lexicon: _Lexicon[AnyStr]) -> bool:
    """For one character (or one byte of UTF-8: a non-ASCII character's bytes are all non-ASCII)."""
    return not c.isascii() or c.isalnum() or c in lexicon.name_marks


def _skip_comment(text: AnyStr, i: int, lexicon: _Lexicon[AnyStr]) -> int:
    """The index after the comment starting at ``i`` ('--' or a nested '/*'), or -1 when it never ends."""
    if text.startswith(lexicon.line_comment, i):
        end = text.find(lexicon.newline, i)
        return len(text) if end < 0 else end + 1
    depth, i = 1, i + 2
    while depth:
        found = lexicon.block_comment.search(text, i)
        if found is None:
            return -1
        depth += 1 if found.group() == lexicon.block_open else -1
        i = found.end()
    return i


def _skip_dollar(text: AnyStr, i: int, lexicon: _Lexicon[AnyStr]) -> int:
    """At a '$' outside quotes: the index to go on from, or -1 when unsure how PostgreSQL reads it."""
    start = i
    while start > 0 and _identifier_char(text[start - 1 : start], lexicon):
        start -= 1
    if start < i:  # right after a name: part of it (PostgreSQL allows '$' in names); after a number: unsure
        first = text[start : start + 1]
        return i + 1 if first.isalpha() or first == lexicon.underscore or not first.isascii() else -1
    parameter = lexicon.parameter.match(text, i)
    if parameter is not None:
        end = parameter.end()
    else:
        tag = lexicon.dollar_tag.match(text, i)
        if tag is None:
            return -1
        close = text.find(tag.group(), tag.end())
        if close < 0:
            return -1
        end = close + len(tag.group())
    # a quote or parameter that ends where a name would go on: unusual enough not to guess
    return -1 if end < len(text) and _identifier_char(text[end : end + 1], lexicon) else end


_TEXT_AS_PARSED = replace(_TEXT, plain=re.compile(_PARSED_PLAIN.format(name=_NAME_CHARACTER), re.DOTALL))
_BYTES_AS_PARSED = replace(
    _BYTES, plain=re.compile(_PARSED_PLAIN.format(name=r"[A-Za-z0-9_$\x80-\xff]").encode(), re.DOTALL)
)


def simple_query_statements(text: str | bytes) -> int | None:
    """How many statements (so results) the server runs when ``text`` is sent as a simple query.

    None when unsure: a quote or comment left open (text joined after it would be read
    differently), a backslash in a string (its meaning depends on settings), an unusual
    '$', transaction control or COPY, or ';' that may belong inside one statement. Only
    text with a definite answer is ever joined with other text. Bytes are read as UTF-8.
    """
    if _has_inner_semicolon_words(text):
        return None
    found = _statements(text, _TEXT) if isinstance(text, str) else _statements(text, _BYTES)
    if found is None or not found[1].isdisjoint(_UNBATCHABLE):
        return None
    return found[0]


def first_words(text: str | bytes) -> frozenset[str] | None:
    """The first word of every statement the parser finds in ``text``, lower-cased ("" for one that starts otherwise).

    Maybe more: a ';' in a rule's actions or a BEGIN ATOMIC body is taken for an end too, so the words
    after it are in (a statement is never missed). Strings are read as the parser reads them, so a
    backslash in one leaves nothing unsure; a quote or comment left open, or an unusual '$', does:
    None. Bytes are read as UTF-8.
    """
    found = _statements(text, _TEXT_AS_PARSED) if isinstance(text, str) else _statements(text, _BYTES_AS_PARSED)
    return None if found is None else found[1]


def _statements(text: AnyStr, lexicon: _Lexicon[AnyStr]) -> tuple[int, frozenset[str]] | None:
    """How many statements ``text`` holds, and their first words; None when unsure where one ends."""
    words: set[str] = set()
    n, i, count, starting = len(text), 0, 0, True
    while i < n:
        if starting:
            i = lexicon.space.match(text, i).end()  # type: ignore[union-attr]
            if i >= n:
                break
            if text.startswith(lexicon.comments, i):
                i = _skip_comment(text, i, lexicon)
                if i < 0:
                    return None
                continue
            if text.startswith(lexicon.semicolon, i):  # an empty statement gives no result
                i += 1
                continue
            word = lexicon.word.match(text, i)
            words.add(lexicon.as_text(word.group()).lower() if word else "")
            count += 1
            starting = False
        i = _skip_plain(text, i, lexicon)
        if i >= n:
            break
        if text.startswith(lexicon.semicolon, i):
            starting = True
            i += 1
        elif text.startswith(lexicon.comments, i):
            i = _skip_comment(text, i, lexicon)
        elif text.startswith(lexicon.dollar, i):
            i = _skip_dollar(text, i, lexicon)
        else:  # a backslash, or a quote that does not close
            return None
        if i < 0:
            return None
    return count, frozenset(words)


def _lowered_pieces(text: AnyStr, overlap: int) -> Iterator[tuple[int, int, AnyStr]]:
    """``text`` lower-cased a piece at a time (overlapping by ``overlap``), with where each piece starts and stops.

    An ASCII word of up to ``overlap + 1`` letters, with no 'k' and not ending in 'i', is in
    ``text.lower()`` exactly when it is in one of the pieces, lower-cased as text or, for UTF-8,
    as bytes (ASCII letters only): of all characters only ASCII letters lower to ASCII letters,
    but for 'İ' (to 'i' and a combining dot) and the Kelvin sign (to 'k').
    """
    for start in range(0, len(text), _PIECE):
        stop = min(start + _PIECE + overlap, len(text))
        yield start, stop, text[start:stop].lower()


def contains_lowered(text: str | bytes, words: tuple[str, ...]) -> bool:
    """``any(word in text.lower() for word in words)`` for lower-case ASCII ``words`` (see ``_lowered_pieces``).

    Bytes are read as UTF-8. Never a whole lower-cased copy, which would double a large seed.
    """
    if len(text) <= _PIECE:  # one piece: as text, lowered whole
        lowered = (text if isinstance(text, str) else text.decode("utf-8")).lower()
        return any(word in lowered for word in words)
    overlap = max(len(word) for word in words) - 1
    if isinstance(text, str):
        return any(word in piece for _, _, piece in _lowered_pieces(text, overlap) for word in words)
    encoded = [word.encode() for word in words]
    return any(word in piece for _, _, piece in _lowered_pieces(text, overlap) for word in encoded)


def _has_inner_semicolon_words(text: str | bytes) -> bool:
    """Whether ``text.lower()`` has the word rule or atomic (``\\b(?:rule|atomic)\\b``); bytes are read as UTF-8.

    A large text is read in lower-cased pieces; where one has either word, the word is checked
    where it stands in ``text``: the characters beside it, lower-cased as the whole text would
    have them, must not be word characters.
    """
    if len(text) <= _PIECE:  # one piece: as text, lowered whole
        lowered = (text if isinstance(text, str) else text.decode("utf-8")).lower()
        return any(word in lowered for word in _INNER_SEMICOLON_WORDS) and _INNER_SEMICOLONS.search(lowered) is not None
    if isinstance(text, str):
        return _inner_semicolon_words_in(text, _TEXT, tuple(_INNER_SEMICOLON_WORDS), _char_before, _char_after)
    words = tuple(word.encode() for word in _INNER_SEMICOLON_WORDS)
    return _inner_semicolon_words_in(text, _BYTES, words, _utf8_char_before, _utf8_char_after)


def _inner_semicolon_words_in(
    text: AnyStr,
    lexicon: _Lexicon[AnyStr],
    words: tuple[AnyStr, ...],
    before: Callable[[AnyStr, int], str],
    after: Callable[[AnyStr, int], str],
) -> bool:
    overlap = max(len(word) for word in words) - 1
    for start, stop, piece in _lowered_pieces(text, overlap):
        if not any(word in piece for word in words):
            continue
        for found in lexicon.inner_semicolon_word.finditer(text, start, stop):
            beside = (before(text, found.start()).lower()[-1:], after(text, found.end()).lower()[:1])
            if not any(_WORD_CHARACTER.match(c) for c in beside):
                return True
    return False


def _char_before(text: str, i: int) -> str:
    return text[i - 1] if i else ""


def _char_after(text: str, i: int) -> str:
    return text[i] if i < len(text) else ""


def _utf8_char_before(data: bytes, i: int) -> str:
    """The character whose UTF-8 bytes end at ``i``."""
    start = i
    while start > 0 and i - start < 4:
        start -= 1
        if data[start] not in _UTF8_CONTINUATION:
            break
    return data[start:i].decode("utf-8", errors="replace")


def _utf8_char_after(data: bytes, i: int) -> str:
    """The character whose UTF-8 bytes start at ``i``."""
    if i >= len(data):
        return ""
    lead = data[i]
    size = 1 if lead < 0xC0 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
    return data[i : i + size].decode("utf-8", errors="replace")
