"""The accepted-differences file: conformance differences a team has reviewed and lives with.

One difference per line, exactly as conformance prints it (``str(Difference)``),
e.g. ``index users_display_name_idx: not in snapshot (on users)``. A reason goes
on ``#`` comment lines right above it, or after it as ``  # reason`` (two
spaces first). Blank lines and comments are kept when ``--accept`` rewrites
the file; the comment lines right above a line it removes go with that line.

Whitespace inside a difference is compared collapsed (runs of spaces and line
breaks count as one space), so a multi-line expression still fits on one line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from drizzle_ops.errors import UserError

REASON = "  #"  # separates a difference from a trailing reason
TODO = "# TODO: say why this difference is accepted"
HEADER = (
    "# Accepted differences between the live schema and the Drizzle snapshot of the applied head.",
    "# `inv verify`, `inv drift` and `inv status --schema` do not fail on the lines below; any other",
    "# difference still fails. `inv verify --accept` rewrites this file from the database it checks.",
    "# One difference per line, exactly as `inv verify` prints it. Give each line a reason: a `#`",
    "# comment line right above it, or `  # reason` after it. Review changes to this file like code.",
)


def line_for(difference: str) -> str:
    """The one-line form of a difference, as it is written to and matched in the file."""
    return " ".join(difference.split())


@dataclass(frozen=True)
class AcceptedFile:
    path: Path
    shown: str  # the path as messages name it (relative to the project root when inside it)
    exists: bool
    raw: tuple[str, ...] = ()  # the file's lines, comments and blanks included
    entries: tuple[str, ...] = field(default=())  # the accepted differences, in file order

    @property
    def lines(self) -> frozenset[str]:
        return frozenset(self.entries)

    def accepts(self, difference: str) -> bool:
        return line_for(difference) in self.lines

    def stale(self, seen: Iterable[str]) -> list[str]:
        """Accepted lines that match none of the differences ``seen``."""
        current = {line_for(d) for d in seen}
        return [e for e in self.entries if e not in current]


def _entry(raw: str) -> str | None:
    """The difference a line holds, or None for a comment or blank line."""
    text = raw.strip()
    if not text or text.startswith("#"):
        return None
    return line_for(text.split(REASON, 1)[0])


def load(path: Path, shown: str | None = None) -> AcceptedFile:
    """Read the file; a missing file accepts nothing, an unreadable one is bad input (exit 2)."""
    shown = shown or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return AcceptedFile(path, shown, exists=False)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UserError(
            f"cannot read the accepted differences file {shown}: {reason}; fix it or pass --accepted PATH"
        ) from None
    raw = tuple(text.splitlines())
    entries = tuple(dict.fromkeys(e for e in (_entry(line) for line in raw) if e is not None))
    return AcceptedFile(path, shown, exists=True, raw=raw, entries=entries)


@dataclass(frozen=True)
class Rewrite:
    text: str | None  # the new file's text; None: leave the file absent
    added: list[str]
    removed: list[str]
    kept: list[str]


def rewrite(current: AcceptedFile, differences: Iterable[str]) -> Rewrite:
    """The file that accepts exactly ``differences``: kept lines stay where they are, new ones go last."""
    wanted = list(dict.fromkeys(line_for(d) for d in differences))
    removed = [e for e in current.entries if e not in wanted]
    kept = [e for e in current.entries if e in wanted]
    added = [d for d in wanted if d not in current.entries]
    if not current.exists and not wanted:
        return Rewrite(None, [], [], [])
    lines: list[str] = [] if current.exists else [*HEADER, ""]
    pending: list[str] = []  # comment lines waiting to see whether the line they describe stays
    written: set[str] = set()
    for raw in current.raw:
        entry = _entry(raw)
        if entry is None:
            if raw.strip().startswith("#") and raw.strip() not in HEADER:
                pending.append(raw)
            else:
                lines += [*pending, raw]
                pending = []
            continue
        if entry in wanted and entry not in written:
            lines += [*pending, raw]
            written.add(entry)
        pending = []  # a removed line takes its reason with it
    lines += pending
    for difference in added:
        if lines and lines[-1].strip():
            lines.append("")
        lines += [TODO, difference]
    while lines and not lines[-1].strip():
        lines.pop()
    return Rewrite("\n".join(lines) + "\n", added, removed, kept)


def save(current: AcceptedFile, differences: Iterable[str]) -> Rewrite:
    """Rewrite the file on disk (see ``rewrite``); an unwritable path is bad input (exit 2)."""
    result = rewrite(current, differences)
    if result.text is not None:
        try:
            current.path.parent.mkdir(parents=True, exist_ok=True)
            current.path.write_text(result.text, encoding="utf-8")
        except OSError as exc:
            raise UserError(
                f"cannot write the accepted differences file {current.shown}: {exc.strerror}; "
                "fix its permissions or pass --accepted PATH"
            ) from None
    return result
