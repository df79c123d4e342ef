"""SQL files the journal does not list: named by the reader, shown by status as not-in-journal, never failing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from drizzle_ops.engine.states import AppliedRow, MigrationState, compute_status, drifted, not_in_journal
from drizzle_ops.engine.workspace import load_workspace
from tests.helpers import EXAMPLE


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    target = tmp_path / "ws"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("node_modules"))
    return target


def test_sql_files_the_journal_does_not_list_are_named_with_one_warning(ws: Path) -> None:
    (ws / "drizzle" / "0007_branch_only.sql").write_text("create table branch_only (id int);\n")
    (ws / "drizzle" / "notes.txt").write_text("not SQL\n")
    workspace = load_workspace(ws)
    assert workspace.not_in_journal == ("0007_branch_only",)
    assert [m.tag for m in workspace.migrations][-1] == "0007_wishlist_items"  # never a migration
    (warning,) = workspace.warnings
    assert warning.startswith("1 SQL file(s) in drizzle are not in the journal (0007_branch_only.sql)")
    assert "never apply them" in warning


def test_a_clean_folder_has_none(ws: Path) -> None:
    workspace = load_workspace(ws)
    assert workspace.not_in_journal == () and workspace.warnings == ()


def test_not_in_journal_entries_are_shown_but_never_drift() -> None:
    extra = not_in_journal(["0007_branch_only"])
    assert [(e.state, e.tag, e.when, e.file_hash, e.row) for e in extra] == [
        (MigrationState.NOT_IN_JOURNAL, "0007_branch_only", None, None, None)
    ]
    assert extra[0].needs_attention  # listed even in a shortened status table
    orphan = compute_status([], [AppliedRow(1, "abc", 1)])
    assert drifted(orphan + extra) == orphan
