"""Plain output off a terminal: byte for byte what rich prints there, and rich is never imported for it.

Every comparison prints the same thing twice into a pipe-like stream (not a terminal): once through
drizzle-ops' own output (cli/console.py, cli/tables.py) and once through a real rich Console set up as the
tasks' consoles are. A difference is a change users would see in a CI log.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable

import pytest
from rich.console import Console
from rich.text import Text

from drizzle_ops.cli import console as output
from drizzle_ops.cli import render, tables
from drizzle_ops.engine.states import AppliedRow, Entry, MigrationState

RICH_ENV = ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR", "COLUMNS")


Printed = Callable[[], str]


@pytest.fixture
def pipe(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Printed:
    """What was printed on stdout, then stderr, both pipes; none of the variables that make rich see a terminal."""
    for name in RICH_ENV:
        monkeypatch.delenv(name, raising=False)

    def printed() -> str:
        captured = capsys.readouterr()
        return captured.out + captured.err

    return printed


def rich_console(width: int = 80) -> tuple[Console, io.StringIO]:
    stream = io.StringIO()
    return Console(file=stream, width=width, soft_wrap=True, emoji=False), stream


LINES = [
    "Nothing to migrate on postgres@127.0.0.1:5432/postgres: all 8 migrations are applied.",
    "Applied 8 migration(s) to postgres@db.internal:5432/app in 0.03s.",
    "x" * 300,  # longer than any width: soft wrap, never cut or folded
    "trailing spaces   ",
    "  leading spaces",
    "two\nlines",
    "ends with a newline\n",
    "",
    "émigré · 名前 — ✓",
    "a :smile: code and :x: stay as written",
    "3 applied, 1 pending: 20261201093015_BackfillTenantBillingAccountsFromStripe",
]


@pytest.mark.parametrize("text", LINES)
@pytest.mark.parametrize("options", [{}, {"highlight": False}, {"markup": False}, {"style": "bold"}])
def test_a_plain_line_is_printed_as_rich_prints_it(pipe: Printed, text: str, options: dict[str, object]) -> None:
    render.out.print(text, **options)  # type: ignore[arg-type]
    console, expected = rich_console()
    console.print(text, **options)  # type: ignore[arg-type]
    assert pipe() == expected.getvalue()


@pytest.mark.parametrize(
    ("objects", "options"),
    [
        ((), {}),
        (("a", "b", "c"), {}),
        (("a", "b"), {"sep": ", ", "end": "!\n"}),
        (("no end",), {"end": ""}),
        (("[bold]markup[/] is rich's",), {}),
        (("[bold]markup off[/]",), {"markup": False}),
        (("a\ttab",), {}),
        (("a carriage\rreturn",), {"markup": False}),
        ((Text("a Text", style="red"),), {}),
        (("narrow",), {"soft_wrap": False}),
    ],
)
def test_what_is_not_plain_text_is_printed_by_rich_the_same(
    pipe: Printed, objects: tuple[object, ...], options: dict[str, object]
) -> None:
    render.out.print(*objects, **options)  # type: ignore[arg-type]
    console, expected = rich_console()
    console.print(*objects, **options)  # type: ignore[arg-type]
    assert pipe() == expected.getvalue()


def test_progress_lines_are_the_words_rich_would_print(pipe: Printed) -> None:
    progress = render.ConsoleProgress()
    progress._label = "0001_[red]odd[/] (2 statements)"  # a tag is printed as written, brackets and all
    progress.migration_finished(None, 0.0042)  # type: ignore[arg-type]
    progress.warning("column [unique] is ignored")
    console, expected = rich_console()
    console.print(Text.assemble(("✓", "green"), " 0001_[red]odd[/] (2 statements) 4 ms"))
    console.print(Text.assemble(("warning:", "yellow"), " column [unique] is ignored"))
    printed = pipe()
    assert printed == expected.getvalue()
    assert printed.startswith("✓ 0001_[red]odd[/] (2 statements) 4 ms\n")


def entries(tags: list[str]) -> list[Entry]:
    states = list(MigrationState)
    return [
        Entry(
            states[i % len(states)],
            tag if i % 7 else None,
            1795529005000 + i if i % 5 else None,
            f"{i:x}" * 64,
            AppliedRow(i + 1, f"{i}" * 64, i, name=None if i % 3 else f"v1_{tag}"),
        )
        for i, tag in enumerate(tags)
    ]


def table_cases() -> list[tables.Table]:
    status = render.status_table(entries([f"{n:04d}_m{'x' * n}" for n in range(24)]), "postgres@h:5432/db · d.t")
    wide = render.status_table(entries(["0000_a", "0001_" + "w" * 100]), "db")  # 160 columns or more
    empty = render.status_table([], "db")
    lined = tables.Table(title="checks", show_lines=True)
    lined.add_column("check", no_wrap=True)
    lined.add_column("n", justify="right")
    lined.add_column("detail")
    lined.add_row("a.check", "1", ("passed", "green"))
    lined.add_row("b", "12345", "")
    lined.add_row("c.much.longer.check.id", "", "— nothing —")
    untitled = tables.Table()
    untitled.add_column("only")
    untitled.add_row("x")
    return [status, wide, empty, lined, untitled]


@pytest.mark.parametrize("columns", [None, "80", "200", "20"])
@pytest.mark.parametrize("case", range(len(table_cases())))
def test_a_table_in_a_pipe_is_laid_out_as_rich_lays_it_out(
    pipe: Printed, monkeypatch: pytest.MonkeyPatch, case: int, columns: str | None
) -> None:
    if columns:
        monkeypatch.setenv("COLUMNS", columns)
    tables.show(table_cases()[case])
    printed = pipe()
    expected = Console(file=io.StringIO(), width=max(Console().width, 160), soft_wrap=True, emoji=False)
    tables.show(table_cases()[case], expected)
    assert expected.file.getvalue() == printed  # type: ignore[attr-defined]


def test_a_table_too_wide_or_with_wide_characters_is_laid_out_by_rich(
    pipe: Printed, monkeypatch: pytest.MonkeyPatch
) -> None:
    long = "0002_" + "l" * 150
    for tags in (["0000_a", long], ["0000_名前"]):
        table = render.status_table(entries(tags), "db")
        assert tables.plain_lines(table, 160) is None
        tables.show(table)
        printed = pipe()
        assert all(tag in printed for tag in tags[1:])
        # the long tag did not fit beside the other columns: its rows are lines, its name whole on one
        assert long not in tags or long in printed.splitlines()


@pytest.mark.parametrize(
    ("environ", "terminal"),
    [({}, False), ({"FORCE_COLOR": "1"}, True), ({"FORCE_COLOR": ""}, False), ({"TTY_COMPATIBLE": "1"}, True)],
)
def test_plain_exactly_where_rich_sees_no_terminal(
    pipe: Printed, monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], terminal: bool
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert Console(file=sys.stdout).is_terminal is terminal
    assert render.out.plain is not terminal and render.err.plain is not terminal
    assert render.out.is_terminal is terminal


@pytest.mark.parametrize("columns", [None, "0", "120", "240", "wide"])
def test_the_width_is_the_one_rich_gives(monkeypatch: pytest.MonkeyPatch, columns: str | None) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    if columns is not None:
        monkeypatch.setenv("COLUMNS", columns)
    assert output.rich_width() == Console(file=io.StringIO()).width


def test_the_few_characters_counted_as_one_column_are_one_column_to_rich() -> None:
    from rich.cells import cell_len

    assert all(cell_len(c) == 1 for c in tables.NARROW)


def test_a_status_table_and_progress_in_a_pipe_do_not_import_rich() -> None:
    program = textwrap.dedent(
        """
        import sys
        from drizzle_ops.cli import render, tables
        from drizzle_ops.engine.states import Entry, MigrationState
        entries = [Entry(MigrationState.APPLIED, "0000_init", 1795529005000, "ab" * 32, None)]
        tables.show(render.status_table(entries, "db"))
        render.out.print(render.counts_line(entries), highlight=False, markup=False)
        with render.ConsoleProgress() as progress:
            progress.warning("a warning")
        render.log("waited 1.0s for the migration lock")
        loaded = sorted(name for name in sys.modules if name == "rich" or name.startswith("rich."))
        print("rich modules:", loaded, file=sys.stderr)
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in RICH_ENV}
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, check=True)
    assert "│ 0000_init │ applied │" in done.stdout and "1 applied" in done.stdout
    assert done.stderr.splitlines() == ["warning: a warning", "waited 1.0s for the migration lock", "rich modules: []"]


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Printed:
    """stdout and stderr that rich takes for a terminal (its own TTY_COMPATIBLE=1), colour and all."""
    for name in RICH_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TERM", "xterm-256color")

    def printed() -> str:
        captured = capsys.readouterr()
        return captured.out + captured.err

    return printed


def terminal_console() -> tuple[Console, io.StringIO]:
    stream = io.StringIO()
    return Console(file=stream, force_terminal=True, soft_wrap=True, emoji=False), stream


@pytest.mark.parametrize("text", LINES)
def test_at_a_terminal_a_line_with_no_style_is_written_as_rich_writes_it_without_rich(
    terminal: Printed, text: str
) -> None:
    stdout = output.Output(stderr=False)
    stdout.print(text, highlight=False)
    stdout.line(text.rstrip("\n"))
    assert stdout._console is None  # rich was not needed
    console, expected = terminal_console()
    console.print(text, highlight=False)
    console.print(Text(text.rstrip("\n")), highlight=False)
    assert terminal() == expected.getvalue()


def test_at_a_terminal_colour_and_highlighting_are_rich_s(terminal: Printed) -> None:
    stdout = output.Output(stderr=False)
    stdout.print("Applied 8 migration(s) in 0.03s.")  # highlighted: the numbers are coloured
    stdout.line(("✓", "green"), " 0000_init_users (2 statements) 5 ms")
    console, expected = terminal_console()
    console.print("Applied 8 migration(s) in 0.03s.")
    console.print(Text.assemble(("✓", "green"), " 0000_init_users (2 statements) 5 ms"), highlight=False)
    printed = terminal()
    assert printed == expected.getvalue() and "\x1b[" in printed


def test_at_a_terminal_once_rich_drew_on_a_stream_it_writes_everything_there(terminal: Printed) -> None:
    stderr = output.Output(stderr=True)
    stderr.line(("✓", "green"), " a styled line: rich")  # a spinner could be live on this stream from now on
    stderr.print("a plain line", highlight=False)
    console, expected = terminal_console()
    console.print(Text.assemble(("✓", "green"), " a styled line: rich"), highlight=False)
    console.print("a plain line", highlight=False)
    assert stderr._console is not None and terminal() == expected.getvalue()


def test_at_a_terminal_plain_lines_do_not_import_rich_and_a_table_does() -> None:
    program = textwrap.dedent(
        """
        import sys
        from drizzle_ops.cli import render, tables
        from drizzle_ops.engine.states import Entry, MigrationState
        render.out.print("Nothing to migrate on db: all 8 migrations are applied.", highlight=False)
        render.log("waited 1.0s for the migration lock")
        print("rich before the table:", "rich" in sys.modules, file=sys.stderr)
        entries = [Entry(MigrationState.APPLIED, "0000_init", 1795529005000, "ab" * 32, None)]
        tables.show(render.status_table(entries, "db"))
        print("rich after the table:", "rich" in sys.modules, file=sys.stderr)
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in RICH_ENV} | {"TTY_COMPATIBLE": "1", "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.startswith("Nothing to migrate on db: all 8 migrations are applied.\n")
    assert "│ 0000_init │ applied │" in done.stdout
    assert done.stderr.splitlines() == [
        "waited 1.0s for the migration lock",
        "rich before the table: False",
        "rich after the table: True",
    ]
