"""What a status table shows: every row of a short history; of a long one, what needs attention and the newest."""

from __future__ import annotations

from rich.console import Console

from drizzle_ops.cli import tables
from drizzle_ops.cli.render import RECENT_APPLIED, SHORT_STATUS_OVER, shown_entries, status_table
from drizzle_ops.engine.states import AppliedRow, Entry, MigrationState


def entry(n: int, state: MigrationState) -> Entry:
    row = AppliedRow(n + 1, f"h{n}", n) if state in (MigrationState.APPLIED, MigrationState.MODIFIED) else None
    return Entry(state, f"{n:04d}_m", n, f"h{n}", row)


def test_a_short_history_shows_every_row() -> None:
    entries = [entry(n, MigrationState.APPLIED) for n in range(SHORT_STATUS_OVER)]
    assert shown_entries(entries) == (entries, 0)


def test_a_long_history_shows_what_needs_attention_and_the_newest_applied() -> None:
    entries = [entry(n, MigrationState.APPLIED) for n in range(40)]
    entries[3] = entry(3, MigrationState.MODIFIED)
    entries += [
        entry(40, MigrationState.PENDING),
        Entry(MigrationState.MISSING_FILE, None, 99, None, AppliedRow(99, "x", 99)),
    ]
    shown, hidden = shown_entries(entries)
    newest_applied = [f"{n:04d}_m" for n in range(40 - RECENT_APPLIED, 40)]
    assert [e.tag for e in shown] == ["0003_m", *newest_applied, "0040_m", None]
    assert hidden == len(entries) - len(shown) == 39 - RECENT_APPLIED
    assert shown_entries(entries, show_all=True) == (entries, 0)


def test_the_table_says_how_many_rows_it_left_out() -> None:
    entries = [entry(n, MigrationState.APPLIED) for n in range(30)]
    console = Console(record=True, width=160)
    tables.show(status_table(entries, "db"), console)
    text = console.export_text()
    assert f"… {30 - RECENT_APPLIED} older applied migration(s) not shown (--all lists every one)" in text
    assert "0029_m" in text and "0000_m" not in text
    tables.show(status_table(entries, "db", show_all=True), console)
    assert "0000_m" in console.export_text()
