"""Tables and headings whose names are never cut: migration tags, target labels, check ids, table names, paths.

A table marks its name columns ``no_wrap``. ``show`` prints it on stdout, wide (160 columns or more) when
stdout is not a terminal, and keeps every name whole: when the table is too wide, the other columns wrap
at their words to make room, and when even that cannot hold every name and the longest word of each other
column, the rows become plain lines instead, one record per row (table_fit.py). A cut tag in a CI log is a
tag nobody can copy into `--to` or `repair --tag`.

The tasks describe their tables with ``Table`` here, not rich's: in a pipe or a CI log a table that fits
is laid out here as plain text, exactly as rich would draw it there, and rich is not even imported; at a
terminal, or for a table that needs wrapping, rich draws it (``Table.to_rich``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, NamedTuple

from drizzle_ops.cli.console import PIPE_WIDTH, Part, out, table_console

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text

# characters besides printable ASCII whose width (one column) is certain: what our own cells hold
NARROW = frozenset("—…·")


class Column(NamedTuple):
    header: str
    justify: Literal["left", "right"] = "left"
    no_wrap: bool = False  # a name: printed whole on one line, never wrapped or cut


class Table:
    """Columns and rows of literal text (never markup), each cell with the style it has at a terminal.

    A plain class, not a dataclass: making a dataclass costs more at start-up than a short run's table.
    """

    def __init__(self, title: str | None = None, *, caption: Part | None = None, show_lines: bool = False) -> None:
        self.title = title
        self.caption = caption  # a line under the table
        self.show_lines = show_lines  # a rule between rows
        self.columns: list[Column] = []
        self.rows: list[list[Part]] = []

    def add_column(self, header: str, *, justify: Literal["left", "right"] = "left", no_wrap: bool = False) -> None:
        self.columns.append(Column(header, justify, no_wrap))

    def add_row(self, *cells: Part) -> None:
        self.rows.append(list(cells))

    def to_rich(self) -> RichTable:
        from rich.table import Table as RichTable

        table = RichTable(
            title=self.title,
            title_justify="left",
            caption=_rich_text(self.caption) if self.caption else None,
            caption_justify="left",
            show_lines=self.show_lines,
        )
        for column in self.columns:
            table.add_column(column.header, justify=column.justify, no_wrap=column.no_wrap)
        for row in self.rows:
            table.add_row(*(_rich_text(cell) for cell in row))
        return table


def show(table: Table | RichTable, console: Console | None = None) -> None:
    """Print ``table`` with every cell of its ``no_wrap`` columns whole, its title and caption as lines."""
    if console is None and isinstance(table, Table) and out.plain:
        lines = plain_lines(table, max(out.width, PIPE_WIDTH))
        if lines is not None:
            if table.title:
                out.print(table.title, markup=False)
            out.lines(lines)
            if table.caption:
                out.line(table.caption)
            return
    from drizzle_ops.cli.table_fit import print_fitted

    console = console or table_console()
    rich_table = table.to_rich() if isinstance(table, Table) else table
    title, caption = rich_table.title, rich_table.caption
    rich_table.title = rich_table.caption = None  # rich wraps them to the table's width: a long tag in a title folds
    if title:
        console.print(title, style="table.title", highlight=False, markup=False, soft_wrap=True)
    print_fitted(console, rich_table)
    if caption:
        console.print(caption, style="table.caption", highlight=False, markup=False, soft_wrap=True)


def heading(title: str, console: Console | None = None) -> None:
    """A rule with ``title`` in it, or the title alone on a line when the width cannot hold it (a rule cuts it)."""
    from drizzle_ops.cli.table_fit import heading as rich_heading

    rich_heading(title, console or out.console)


def plain_lines(table: Table, width: int) -> list[str] | None:
    """``table`` as rich draws it off a terminal at ``width``, title and caption aside; None when rich must lay
    it out: a cell of several lines or of characters whose width is not plain to count, or a table too wide."""
    grid = [[column.header, *(_plain(row[i]) for row in table.rows)] for i, column in enumerate(table.columns)]
    if not all(_countable(text) for texts in grid for text in texts):
        return None
    widths = [max(len(text) for text in texts) for texts in grid]
    # each cell has a space either side, between the cells and at both edges a line
    if sum(widths) + 3 * len(widths) + 1 > width:
        return None

    def rule(left: str, line: str, between: str, right: str) -> str:
        return left + between.join(line * (w + 2) for w in widths) + right

    def cells(texts: Sequence[str], edge: str) -> str:
        padded = [
            text.rjust(w) if column.justify == "right" else text.ljust(w)
            for text, w, column in zip(texts, widths, table.columns, strict=True)
        ]
        return edge + edge.join(f" {text} " for text in padded) + edge

    lines = [rule("┏", "━", "┳", "┓"), cells([c.header for c in table.columns], "┃"), rule("┡", "━", "╇", "┩")]
    for i, row in enumerate(table.rows):
        if i and table.show_lines:
            lines.append(rule("├", "─", "┼", "┤"))
        lines.append(cells([_plain(cell) for cell in row], "│"))
    lines.append(rule("└", "─", "┴", "┘"))
    return lines


def _plain(cell: Part) -> str:
    return cell if isinstance(cell, str) else cell[0]


def _countable(text: str) -> bool:
    """One line whose width is its length: printable ASCII, and the few wider characters of NARROW."""
    return all((" " <= c <= "~") or c in NARROW for c in text)


def _rich_text(part: Part) -> Text:
    from rich.text import Text

    return Text(part) if isinstance(part, str) else Text(part[0], style=part[1])
