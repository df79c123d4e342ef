"""Writing the fixed statements back into the file, chunk by chunk: what is not rewritten stays byte for byte.

A chunk is the text between two `--> statement-breakpoint`s, what drizzle-kit sends as one query. A
rewritten statement's chunk keeps its leading blank, its comments and what follows the statement (the
semicolon, a comment on the same line, the file's last newline); the new statements go where the old one
stood, each in a chunk of its own, in drizzle-kit's own format (`statement;--> statement-breakpoint`
then a newline). Chunks without a rewritten statement are copied as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drizzle_ops.engine.workspace import BREAKPOINT
from drizzle_ops.lint.fix.steps import Placed


@dataclass(frozen=True)
class Chunk:
    start: int
    end: int  # exclusive
    statements: tuple[int, ...]  # the indexes of the statements in it


def chunks(text: str, spans: Sequence[tuple[int, int]]) -> list[Chunk] | None:
    """The file's chunks and the statements in each; None when a breakpoint falls inside a statement."""
    bounds: list[tuple[int, int]] = []
    start = 0
    while (found := text.find(BREAKPOINT, start)) != -1:
        bounds.append((start, found))
        start = found + len(BREAKPOINT)
    bounds.append((start, len(text)))
    members: list[list[int]] = [[] for _ in bounds]
    for index, (begin, end) in enumerate(spans):
        holder = next((n for n, (low, high) in enumerate(bounds) if low <= begin < high), None)
        if holder is None or end > bounds[holder][1]:
            return None
        members[holder].append(index)
    return [Chunk(low, high, tuple(found)) for (low, high), found in zip(bounds, members, strict=True)]


def render(text: str, chunk: Chunk, span: tuple[int, int], placed: Sequence[Placed]) -> str:
    """The chunk of one statement, with that statement's placed steps instead of it."""
    piece = text[chunk.start : chunk.end]
    begin, end = span[0] - chunk.start, span[1] - chunk.start
    lead, trail = piece[:begin], piece[end:]
    lead_space = lead[: len(lead) - len(lead.lstrip())]
    lead_rest = lead[len(lead_space) :]
    trail_core = trail.rstrip()
    trail_space = trail[len(trail_core) :]

    newline = "\r\n" if "\r\n" in text else "\n"  # a file written on Windows keeps its line ends
    following = f";{BREAKPOINT}{newline}"
    items: list[tuple[str, bool]] = []  # (sql, is a boundary)
    for one in placed:
        items += [(b.sql.replace("\n", newline), True) for b in one.before]
        items.append((one.step.sql, False))
        items += [(b.sql.replace("\n", newline), True) for b in one.after]
    first = next(i for i, (_, boundary) in enumerate(items) if not boundary)
    last = max(i for i, (_, boundary) in enumerate(items) if not boundary)
    pre = [sql for sql, _ in items[:first]]
    body = [sql for sql, _ in items[first : last + 1]]
    post = [sql for sql, _ in items[last + 1 :]]

    out = [lead_space, *(sql + following for sql in pre), lead_rest, following.join(body)]
    if post:
        if not trail_core.startswith(";"):
            out.append(";")
        out.append(trail_core)
        # after a comment on the statement's line, the breakpoint goes on a line of its own
        out.append(("" if trail_core in ("", ";") else newline) + BREAKPOINT + newline)
        out.append(following.join(post) + ";")
    else:
        out.append(trail_core)
    out.append(trail_space)
    return "".join(out)
