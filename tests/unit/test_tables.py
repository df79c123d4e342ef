"""Tables whose names are never cut, at any width: the other columns fold, or the rows become plain lines."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.table import Table
from rich.text import Text

from drizzle_ops.cli import tables
from drizzle_ops.cli.render import counts_line, status_table
from drizzle_ops.engine.states import AppliedRow, Entry, MigrationState

OUT_OF_ORDER = "20260224105235_AddGitHubIntegrationSupport"
PENDING = "20261201093015_BackfillTenantBillingAccountsFromStripe"
APPLIED = ["20261124140325_init", "20261124140327_sets", "20261124140358_wishlist_items"]
DOWN = f"sql/rollback/{PENDING}.down.sql"


def entries() -> list[Entry]:
    applied = [
        Entry(MigrationState.APPLIED, tag, 1795529005000 + i, f"{i}" * 64, AppliedRow(i + 1, f"{i}" * 64, i))
        for i, tag in enumerate(APPLIED)
    ]
    return [
        Entry(MigrationState.OUT_OF_ORDER, OUT_OF_ORDER, 1771930355000, "a" * 64, None),
        *applied,
        Entry(MigrationState.PENDING, PENDING, 1796117415000, "b" * 64, None),
    ]


def two_names() -> Table:
    """Two name columns (a tag and a file) beside words and a long detail, as rollback --verify prints."""
    table = Table(title=f"{PENDING}: what was rolled back", title_justify="left")
    table.add_column("migration", no_wrap=True)
    table.add_column("down file", no_wrap=True)
    table.add_column("statements", justify="right")
    table.add_column("verified")
    table.add_row(PENDING, DOWN, "3", Text("matches the snapshot of 20261124140358_wishlist_items (7 table(s))"))
    table.add_row(APPLIED[0], f"sql/rollback/{APPLIED[0]}.down.sql", "1", "—")
    return table


def shown(table: Table, width: int) -> list[str]:
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    tables.show(table, console)
    return console.export_text().splitlines()


WIDTHS = [30, 60, 80, 100, 120, 160, 200]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_tag_of_a_status_table_is_whole_on_a_line(width: int) -> None:
    lines = shown(status_table(entries(), "postgres@db.internal:5432/app · drizzle.__drizzle_migrations"), width)
    text = "\n".join(lines)
    for tag in [OUT_OF_ORDER, *APPLIED, PENDING]:
        assert any(tag in line for line in lines), (tag, text)
    assert "…" not in text
    assert "postgres@db.internal:5432/app · drizzle.__drizzle_migrations" in lines[0]
    # the other columns keep their words whole: a state is never folded into "out-of-o" / "rder"
    assert "out-of-order" in text and "pending" in text


@pytest.mark.parametrize("width", WIDTHS)
def test_two_name_columns_and_a_long_detail(width: int) -> None:
    lines = shown(two_names(), width)
    text = "\n".join(lines)
    # a word of a detail stays whole as long as the width (less the indent of plain lines) can hold it
    in_detail = [APPLIED[2]] if width >= len(APPLIED[2]) + 2 else []
    for name in [PENDING, DOWN, APPLIED[0], f"sql/rollback/{APPLIED[0]}.down.sql", *in_detail]:
        assert any(name in line for line in lines), (name, text)
    assert "…" not in text and lines[0] == f"{PENDING}: what was rolled back"
    # only a name may run past the width (a terminal wraps it; nothing cuts it)
    names = [PENDING, DOWN, f"sql/rollback/{APPLIED[0]}.down.sql"]
    assert all(len(line.rstrip()) <= width or any(n in line for n in names) for line in lines), text


def test_wide_enough_it_is_a_table_and_too_narrow_plain_lines() -> None:
    wide = shown(status_table(entries(), "db"), 120)
    assert wide[1].startswith("┏") and any(f"│ {OUT_OF_ORDER}" in line for line in wide)
    narrow = shown(status_table(entries(), "db"), 80)
    assert not any(line.startswith(("┏", "│")) for line in narrow)
    at = narrow.index(OUT_OF_ORDER)
    assert (
        narrow[at + 1]
        .strip()
        .startswith("state: out-of-order; created (journal): 2026-02-24 10:52; hash: aaaaaaaaaaaa")
    )


def test_a_squeezed_table_wraps_the_other_columns_at_their_words() -> None:
    lines = shown(two_names(), 190)  # room for both names and the longest words, not for the detail on one line
    assert lines[1].startswith("┏") and all(len(line) <= 190 for line in lines)
    assert any(f"│ {PENDING} │ {DOWN} │" in line for line in lines)
    assert any("20261124140358_wishlist_items" in line for line in lines)  # a tag in a detail stays whole too
    assert not any("matches the snapshot of 20261124140358_wishlist_items" in line for line in lines)  # wrapped


def test_a_heading_too_long_for_a_rule_is_a_line() -> None:
    console = Console(file=io.StringIO(), width=60, record=True, color_system=None)
    tables.heading(f"{PENDING} (drizzle/{PENDING}/migration.sql)", console)
    tables.heading("short", console)
    first, second = console.export_text().splitlines()
    assert first == f"{PENDING} (drizzle/{PENDING}/migration.sql)"
    assert "short" in second and second.startswith("─") and len(second) == 60


def test_the_counts_name_what_needs_attention_when_it_is_few() -> None:
    assert counts_line(entries()) == f"3 applied, 1 pending: {PENDING}; 1 out-of-order: {OUT_OF_ORDER}"
    many = [Entry(MigrationState.PENDING, f"{n:04d}_m", n, "h", None) for n in range(4)]
    assert counts_line([*entries()[1:4], *many]) == "3 applied, 4 pending"
    orphan = Entry(MigrationState.MISSING_FILE, None, 5, None, AppliedRow(9, "h", 5, name="20200101000000_gone"))
    assert counts_line([orphan]) == "1 missing-file: 20200101000000_gone"
