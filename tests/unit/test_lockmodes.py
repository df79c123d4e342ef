"""The eight table lock modes as data, checked against PostgreSQL's documented conflict table."""

from __future__ import annotations

import pytest

from drizzle_ops.analysis import lockinfo, lockmodes
from drizzle_ops.analysis.lockmodes import LOCK_MODES, MODES

# Table 13.2 "Conflicting Lock Modes" of the PostgreSQL documentation ("Explicit Locking"), typed in
# as it is printed: one row per requested mode, an X under each mode it conflicts with, the columns in
# the order ACCESS SHARE, ROW SHARE, ROW EXCL., SHARE UPDATE EXCL., SHARE, SHARE ROW EXCL., EXCL., ACCESS EXCL.
DOCUMENTED = """
ACCESS SHARE           . . . . . . . X
ROW SHARE              . . . . . . X X
ROW EXCLUSIVE          . . . . X X X X
SHARE UPDATE EXCLUSIVE . . . X X X X X
SHARE                  . . X X . X X X
SHARE ROW EXCLUSIVE    . . X X X X X X
EXCLUSIVE              . X X X X X X X
ACCESS EXCLUSIVE       X X X X X X X X
"""


def documented() -> dict[str, set[str]]:
    table = {}
    for line in DOCUMENTED.strip().splitlines():
        (*words,) = line.split()
        marks, name = words[-8:], " ".join(words[:-8])
        table[name] = {mode for mode, mark in zip(MODES, marks, strict=True) if mark == "X"}
    return table


def test_the_conflicts_are_the_documented_ones() -> None:
    assert {name: set(mode.conflicts) for name, mode in LOCK_MODES.items()} == documented()


def test_conflicts_are_symmetric_and_the_modes_ordered() -> None:
    for a in MODES:
        for b in MODES:
            assert lockmodes.conflicts(a, b) == lockmodes.conflicts(b, a)
    assert [LOCK_MODES[m].level for m in MODES] == list(range(1, 9))
    assert lockmodes.strongest([lockmodes.SHARE, lockmodes.ROW_EXCLUSIVE]) == lockmodes.SHARE


@pytest.mark.parametrize(
    ("mode", "blocks"),
    [
        ("ACCESS SHARE", "nothing"),
        ("ROW SHARE", "nothing"),
        ("ROW EXCLUSIVE", "nothing"),
        ("SHARE UPDATE EXCLUSIVE", "nothing"),
        ("SHARE", "writes"),
        ("SHARE ROW EXCLUSIVE", "writes"),
        ("EXCLUSIVE", "writes"),
        ("ACCESS EXCLUSIVE", "reads and writes"),
    ],
)
def test_what_each_mode_blocks(mode: str, blocks: str) -> None:
    assert lockmodes.blocks(mode) == blocks


def test_blocked_queries_follow_from_the_conflicts() -> None:
    assert lockmodes.blocked_queries("SHARE UPDATE EXCLUSIVE") == [
        "VACUUM / ANALYZE / CREATE INDEX CONCURRENTLY",
        "CREATE INDEX",
        "CREATE TRIGGER / ADD FOREIGN KEY",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY",
        "ALTER TABLE / DROP TABLE / TRUNCATE",
    ]
    assert lockmodes.blocked_queries("ACCESS SHARE") == ["ALTER TABLE / DROP TABLE / TRUNCATE"]
    assert "SELECT" in lockmodes.blocked_queries("ACCESS EXCLUSIVE")


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("ShareLock", "SHARE"),
        ("SHARE", "SHARE"),
        ("share", "SHARE"),
        ("AccessExclusiveLock", "ACCESS EXCLUSIVE"),
        ("access exclusive", "ACCESS EXCLUSIVE"),
        ("SHARE UPDATE EXCLUSIVE MODE", "SHARE UPDATE EXCLUSIVE"),
        ("share_row_exclusive", "SHARE ROW EXCLUSIVE"),
        ("RowExclusive", "ROW EXCLUSIVE"),
    ],
)
def test_both_spellings_are_understood(text: str, mode: str) -> None:
    assert lockmodes.parse_mode(text) == mode


@pytest.mark.parametrize("text", ["", "Shared", "ExclusiveShareLock", "advisory", "AccessShareLockk"])
def test_unknown_spellings_are_refused(text: str) -> None:
    assert lockmodes.parse_mode(text) is None


def test_pg_locks_spelling_round_trips() -> None:
    assert [LOCK_MODES[m].pg_locks for m in MODES] == [
        "AccessShareLock",
        "RowShareLock",
        "RowExclusiveLock",
        "ShareUpdateExclusiveLock",
        "ShareLock",
        "ShareRowExclusiveLock",
        "ExclusiveLock",
        "AccessExclusiveLock",
    ]
    assert all(lockmodes.from_pg_locks(LOCK_MODES[m].pg_locks) == m for m in MODES)
    assert lockmodes.from_pg_locks("SIReadLock") is None


def test_explain_share() -> None:
    lines = lockmodes.explain("SHARE")
    assert lines[0] == "SHARE (pg_locks: ShareLock), level 5 of 8"
    assert lines[1] == "taken by: CREATE INDEX (without CONCURRENTLY)"
    assert lines[2] == (
        "conflicts with: ROW EXCLUSIVE, SHARE UPDATE EXCLUSIVE, SHARE ROW EXCLUSIVE, EXCLUSIVE, ACCESS EXCLUSIVE"
    )
    assert lines[3].startswith("blocks: writes — while held, these wait: INSERT / UPDATE / DELETE / MERGE;")
    assert lines[4] == "does not block: SELECT; SELECT … FOR UPDATE / FOR SHARE; CREATE INDEX"


def test_lockinfo_and_the_plan_use_this_module() -> None:
    """No second copy of the knowledge: lockinfo's names are this module's."""
    assert lockinfo.ACCESS_EXCLUSIVE is lockmodes.ACCESS_EXCLUSIVE
    assert not hasattr(lockinfo, "STRENGTH") and not hasattr(lockinfo, "BLOCKS_WRITES")
