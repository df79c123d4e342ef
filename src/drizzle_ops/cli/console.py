"""stdout and stderr as every task writes to them: plain lines as they are, rich only when it draws.

Importing rich costs more than a short run's whole work (a no-op migrate, a status), and in a pipe or a
CI log rich prints nothing that plain text cannot: no colour, no spinner, no width to fit. So an ``Output``
writes what it can as plain text, and makes its rich Console on first need: for colour, a spinner or a
table at a terminal (as rich judges one), and for anything that is not plain text (a rich Table, markup,
a tab, a control character). A line with no style is written as it is at a terminal too, until rich has
drawn on that stream. What it writes itself is byte for byte what rich would write (tests/unit/test_console.py
compares).
"""

from __future__ import annotations

import builtins
import os
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich loads when something is drawn with it, never on import
    from rich.console import Console
    from rich.status import Status

# a piece of a line: literal text, or literal text and the style it has at a terminal
Part = str | tuple[str, str]


def plain_ok(text: str) -> bool:
    """True when rich would print ``text`` as it is, markup aside: one or more lines of printable characters.

    rich drops some control characters and expands tabs: such text goes to rich itself.
    """
    return all(line.isprintable() for line in text.split("\n"))


def rich_width() -> int:
    """The width rich gives a console that is not a terminal: $COLUMNS, else a terminal on stdin, stdout or
    stderr, else 80 (rich's own rule, so a table laid out here is laid out as rich would)."""
    columns = os.environ.get("COLUMNS")
    if columns is not None and columns.isdigit():
        return int(columns)
    for descriptor in (0, 1, 2):
        try:
            return os.get_terminal_size(descriptor).columns or 80
        except (AttributeError, ValueError, OSError):  # not a terminal
            continue
    return 80


class Output:
    """One of the two streams. ``plain`` is True when rich would not treat it as a terminal."""

    def __init__(self, *, stderr: bool) -> None:
        self.stderr = stderr
        self._console: Console | None = None

    @property
    def file(self) -> IO[str]:
        file = sys.stderr if self.stderr else sys.stdout  # looked up on each write: tests swap them
        # under a rich spinner on the other stream, sys.stdout is rich's proxy; rich writes past it, so do we
        proxied: IO[str] = getattr(file, "rich_proxied_file", file)
        return proxied

    @property
    def rich_decides(self) -> bool:
        """Where rich has rules of its own (Windows, Jupyter, IDLE), or an encoding it draws ASCII boxes in."""
        if sys.platform == "win32" or hasattr(builtins, "get_ipython"):
            return True
        if getattr(sys.stdin, "__module__", "").startswith("idlelib"):
            return True
        return not (getattr(self.file, "encoding", None) or "utf-8").lower().startswith("utf")

    @property
    def plain(self) -> bool:
        """No terminal here, as rich sees one (its own rules, in its order)."""
        if self.rich_decides:
            return False
        compatible = os.environ.get("TTY_COMPATIBLE", "")
        if compatible in ("0", "1"):
            return compatible == "0"
        force = os.environ.get("FORCE_COLOR")
        if force is not None:
            return force == ""
        isatty = getattr(self.file, "isatty", None)
        try:
            return isatty is None or not isatty()
        except ValueError:  # a closed file
            return True

    def _straight(self, *, unstyled: bool) -> bool:
        """Whether text rich would write as it is goes straight out: off a terminal, always; at a terminal, text
        with no style to colour it, while nothing on this stream was drawn by rich (its spinner may be live)."""
        return self.plain or (unstyled and self._console is None and not self.rich_decides)

    @property
    def is_terminal(self) -> bool:
        return not self.plain and self.console.is_terminal

    @property
    def width(self) -> int:
        return rich_width() if self.plain else self.console.width

    @property
    def console(self) -> Console:
        """The rich Console of this stream, made (and rich imported) on first use."""
        if self._console is None:
            from rich.console import Console

            # emoji codes off: text is printed as written (":x:" in a tag stays ":x:")
            self._console = Console(stderr=self.stderr, soft_wrap=True, emoji=False)
        return self._console

    def print(
        self,
        *objects: Any,
        sep: str = " ",
        end: str = "\n",
        style: Any = None,
        highlight: bool | None = None,
        markup: bool | None = None,
        soft_wrap: bool | None = None,
        **options: Any,
    ) -> None:
        """``rich.console.Console.print``: plain text written as it is, anything else drawn by rich."""
        text = sep.join(objects) + end if all(isinstance(o, str) for o in objects) else None
        if (
            text is None
            or options
            or soft_wrap is False
            or (markup is not False and "[" in text)
            or not plain_ok(text)
            or not self._straight(unstyled=highlight is False and style is None)
        ):
            self.console.print(
                *objects,
                sep=sep,
                end=end,
                style=style,
                highlight=highlight,
                markup=markup,
                soft_wrap=soft_wrap,
                **options,
            )
            return
        self.write(text)

    def line(self, *parts: Part) -> None:
        """One line of literal text (never markup), each part with the style it has at a terminal."""
        texts = [part if isinstance(part, str) else part[0] for part in parts]
        if plain_ok("".join(texts)) and self._straight(unstyled=all(isinstance(part, str) for part in parts)):
            self.write("".join(texts) + "\n")
            return
        from rich.text import Text

        self.console.print(Text.assemble(*parts), highlight=False)

    def lines(self, lines: Sequence[str]) -> None:
        """Lines already laid out, written as they are (call only when ``plain``)."""
        self.write("".join(f"{line}\n" for line in lines))

    def status(self, text: str) -> Status:
        return self.console.status(text)

    def write(self, text: str) -> None:
        file = self.file
        try:
            file.write(text)
            file.flush()  # as rich does after each print: stdout and stderr stay in order in a shared log
        except BrokenPipeError:  # `drizzle-ops status | head -1`: stop quietly, exit 1, as rich does
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise SystemExit(1) from None


out = Output(stderr=False)
err = Output(stderr=True)

# a table off a terminal (a CI log, a file) is laid out this wide at least: rich's 80 would squeeze it
PIPE_WIDTH = 160


def table_console() -> Console:
    """A rich Console for a table on stdout: off a terminal a wide one, as tables.show lays out plain text."""
    if out.is_terminal:
        return out.console
    from rich.console import Console

    return Console(width=max(out.width, PIPE_WIDTH), soft_wrap=True, emoji=False)
