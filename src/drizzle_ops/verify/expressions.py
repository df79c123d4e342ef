"""Compare SQL expression texts without a server: the snapshot's SQL against PostgreSQL's deparsed form.

``loose`` erases only differences that cannot change meaning: case and spacing
outside literals, quotes around plain identifiers, casts, parentheses around a
single atom or the whole expression, quotes around a numeric literal. When two
texts still differ, compare.py asks the server (canonical.py) before it reports.
"""

from __future__ import annotations

import re

_NAME = r'(?:"(?:[^"]|"")*"|[a-z_][a-z0-9_$]*)'
_CAST = re.compile(
    rf"::\s*{_NAME}(?:\s*\.\s*{_NAME})?(?:\s+varying|\s+precision)?"
    r"(?:\s*\([^()]*\))?(?:\s+with(?:out)?\s+time\s+zone)?(?:\s*\[\d*\])*"
)
_ATOM_IN_PARENS = re.compile(r"(?<![\w$\]\"])\((-?[\w.$\x00]+)\)")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_PLAIN = re.compile(r"^[a-z_][a-z0-9_$]*$")


def _split(text: str) -> list[tuple[str, str]]:
    """(kind, text) pieces: 'lit' for string literals, 'ident' for quoted identifiers, 'code' for the rest."""
    pieces: list[tuple[str, str]] = []
    i = start = 0
    while i < len(text):
        ch = text[i]
        if ch in "'\"":
            if i > start:
                pieces.append(("code", text[start:i]))
            j = i + 1
            while j < len(text):
                if text[j] == ch:
                    if j + 1 < len(text) and text[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            pieces.append(("lit" if ch == "'" else "ident", text[i : j + 1]))
            i = start = j + 1
            continue
        if ch == "$":
            match = re.match(r"\$([a-zA-Z_]\w*)?\$", text[i:])
            if match and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
                end = text.find(match.group(0), i + len(match.group(0)))
                if end != -1:
                    if i > start:
                        pieces.append(("code", text[start:i]))
                    stop = end + len(match.group(0))
                    pieces.append(("lit", text[i:stop]))
                    i = start = stop
                    continue
        i += 1
    if start < len(text):
        pieces.append(("code", text[start:]))
    return pieces


def strip_qualifiers(expression: str, schema: str, table: str) -> str:
    """Drop ``"schema"."table".`` and ``"table".`` before column names: drizzle-kit qualifies, the catalog doesn't."""
    quoted_schema = '"' + schema.replace('"', '""') + '"'
    quoted_table = '"' + table.replace('"', '""') + '"'
    names_schema = [re.escape(quoted_schema)] + ([re.escape(schema)] if _PLAIN.match(schema) else [])
    names_table = [re.escape(quoted_table)] + ([re.escape(table)] if _PLAIN.match(table) else [])
    pattern = re.compile(
        rf"(?<![\w$\".])(?:(?:{'|'.join(names_schema)})\s*\.\s*)?(?:{'|'.join(names_table)})\s*\.\s*(?=[\"a-zA-Z_])"
    )
    # qualifiers span quoted identifiers, so work on the text with only string literals held back
    held: list[str] = []
    masked = "".join(text if kind != "lit" else _hold(held, text) for kind, text in _split(expression))
    stripped = pattern.sub("", masked)
    return re.sub(r"\x00(\d+)\x00", lambda m: held[int(m.group(1))], stripped)


def _hold(held: list[str], text: str) -> str:
    held.append(text)
    return f"\x00{len(held) - 1}\x00"


def _unwrap(text: str) -> str:
    """Remove parentheses that wrap the whole expression."""
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        for position, ch in enumerate(text):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and position < len(text) - 1:
                return text
        text = text[1:-1]
    return text


def loose(expression: str) -> str:
    """A form two texts share when they can only differ in spelling, not in meaning."""
    held: list[str] = []
    parts: list[str] = []
    for kind, text in _split(expression.strip()):
        if kind == "lit":
            inner = text[1:-1]
            parts.append(_hold(held, inner if _NUMBER.match(inner) else text))
        elif kind == "ident":
            inner = text[1:-1].replace('""', '"')
            parts.append(inner if _PLAIN.match(inner) else text)
        else:
            parts.append(text.lower())
    code = "".join(parts)
    code = _CAST.sub("", code)
    code = re.sub(r"\s+", "", code)
    previous = None
    while previous != code:
        previous = code
        code = _ATOM_IN_PARENS.sub(r"\1", code)
        code = _unwrap(code)
    return re.sub(r"\x00(\d+)\x00", lambda m: held[int(m.group(1))], code)


def check_body(definition: str) -> str:
    """'CHECK ((a > 0)) NOT VALID' -> '(a > 0)': what pg_get_constraintdef wraps around the expression."""
    body = re.sub(r"^\s*CHECK\s*", "", definition.strip(), flags=re.IGNORECASE)
    body = re.sub(r"\s+NOT\s+VALID\s*$", "", body, flags=re.IGNORECASE)
    return re.sub(r"\s+NO\s+INHERIT\s*$", "", body, flags=re.IGNORECASE)
