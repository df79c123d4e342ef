"""A rich Table laid out with its names whole: the other columns wrap at their words, or the rows become lines.

rich alone would squeeze every column alike and cut names with "…": a cut tag in a CI log is a tag nobody
can copy into `--to` or `repair --tag`. Only tables.show imports this module, when rich draws a table.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text


def print_fitted(console: Console, table: Table) -> None:
    """Print ``table`` with every cell of its ``no_wrap`` columns whole: fitted, or as plain lines."""
    if fit(console, table):
        console.print(table)
        return
    for record in records(console, table):
        # names alone on a line and never wrapped; the rest wraps at words, indented under them
        console.print(record, soft_wrap=not isinstance(record, Padding))


def fit(console: Console, table: Table) -> bool:
    """Size the columns for the console's width with the names whole; False when the width cannot hold them.

    rich would squeeze every column alike, names too, and fold words anywhere. Here a name column keeps its
    width; the widest other columns give way first, down to their longest word (a detail may name a tag too),
    so a short column ("done (canary)") stays on one line while a long error wraps.
    """
    columns = table.columns
    cells = [[_text(console, cell) for cell in [column.header, *column.cells]] for column in columns]
    natural = [max(_width(text) for text in texts) for texts in cells]
    least = [
        width if column.no_wrap else max(_longest_word(text) for text in texts)
        for column, texts, width in zip(columns, cells, natural, strict=True)
    ]
    _, right, _, left = table.padding
    edges = 2 if table.box and table.show_edge else 0
    room = console.width - (left + right) * len(columns) - edges - (len(columns) - 1 if table.box else 0)
    if sum(natural) <= room:
        return True
    if sum(least) > room:
        return False
    sizes = list(zip(columns, natural, least, strict=True))

    def capped(cap: int) -> list[int]:
        return [most if column.no_wrap else max(fewest, min(most, cap)) for column, most, fewest in sizes]

    cap = max(natural)
    while sum(capped(cap)) > room:  # ends: at a cap of 0 every column is at its least, which fits
        cap -= 1
    for column, width in zip(columns, capped(cap), strict=True):
        column.width = width  # fixed: rich squeezes no further
    return True


def records(console: Console, table: Table) -> Iterator[RenderableType]:
    """The rows as plain lines: the first cell, each other name as ``header: name``, then the rest as one line."""
    columns = table.columns
    headers = [_text(console, column.header).plain for column in columns]
    grid = [[_text(console, cell) for cell in column.cells] for column in columns]
    for row in range(table.row_count):
        cells = [(column, header, texts[row]) for column, header, texts in zip(columns, headers, grid, strict=True)]
        (_, _, lead), rest = cells[0], cells[1:]
        if lead.plain:
            yield lead
        given = [(column.no_wrap, Text.assemble(f"{header}: ", cell)) for column, header, cell in rest if cell.plain]
        for is_name, text in given:
            if is_name:
                yield Text.assemble("  ", text)
        others = [text for is_name, text in given if not is_name]
        if others:
            yield Padding(Text("; ").join(others), (0, 0, 0, 2), expand=False)


def heading(title: str, console: Console) -> None:
    """A rule with ``title`` in it, or the title alone on a line when the width cannot hold it (a rule cuts it)."""
    if cell_len(title) + 4 <= console.width:
        console.rule(Text(title))
    else:
        console.print(Text(title, style="bold"), soft_wrap=True)


def _text(console: Console, cell: RenderableType) -> Text:
    if isinstance(cell, Text):
        return cell
    if isinstance(cell, str):
        return console.render_str(cell, highlight=False)
    return Text(str(cell))


def _width(text: Text) -> int:
    return max(cell_len(line) for line in text.plain.split("\n"))


def _longest_word(text: Text) -> int:
    return max((cell_len(word) for word in text.plain.split()), default=1)
