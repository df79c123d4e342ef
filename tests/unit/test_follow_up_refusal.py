"""Why lint --fix cannot add a backfill migration after a flagged one: each refusal of follow_ups.refusal.

The workspaces are the volatile-default fixtures (made with real drizzle-kit 0.31 and 1.0), copied and then
broken the one way each case needs; nothing runs drizzle-kit here.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from drizzle_ops.drizzle_kit.follow_ups import refusal
from drizzle_ops.engine.workspace import load_workspace
from tests.helpers import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "volatile-default"


def copied(tmp_path: Path, name: str) -> Path:
    ws = tmp_path / name
    shutil.copytree(FIXTURES / name, ws, ignore=shutil.ignore_patterns("node_modules"))
    return ws


def newest_snapshot(ws: Path) -> Path:
    flat = ws / "drizzle" / "meta" / "0001_snapshot.json"
    return flat if flat.is_file() else max((ws / "drizzle").glob("*/snapshot.json"))


def set_version(version: str) -> Callable[[Path], None]:
    def change(ws: Path) -> None:
        path = newest_snapshot(ws)
        snapshot = json.loads(path.read_text())
        snapshot["version"] = version
        path.write_text(json.dumps(snapshot))

    return change


def when_in_the_future(ws: Path) -> None:
    path = ws / "drizzle" / "meta" / "_journal.json"
    journal = json.loads(path.read_text())
    journal["entries"][-1]["when"] = int(time.time() * 1000) + 86_400_000
    path.write_text(json.dumps(journal))


@pytest.mark.parametrize(
    ("name", "change", "reason"),
    [
        ("drizzle-0.31", lambda ws: newest_snapshot(ws).unlink(), "it has no snapshot"),
        ("drizzle-v1", lambda ws: newest_snapshot(ws).unlink(), "it has no snapshot"),
        ("drizzle-0.31", set_version("4"), "its snapshot is version 4, which lint --fix does not edit"),
        ("drizzle-v1", set_version("8"), "its snapshot is version 8, which lint --fix does not edit"),
        ("drizzle-0.31", when_in_the_future, "is not in the past"),
    ],
    ids=["no-snapshot-0.31", "no-snapshot-v1", "old-version-0.31", "version-8-v1", "when-ahead"],
)
def test_each_refusal_names_its_reason(tmp_path: Path, name: str, change: Callable[[Path], None], reason: str) -> None:
    ws = copied(tmp_path, name)
    workspace = load_workspace(ws)
    assert refusal(workspace, workspace.migrations[-1]) is None  # the fixture as drizzle-kit wrote it: accepted
    change(ws)
    workspace = load_workspace(ws)
    why = refusal(workspace, workspace.migrations[-1])
    assert why is not None and reason in why, why


def test_a_migration_that_is_not_the_newest_is_refused(tmp_path: Path) -> None:
    workspace = load_workspace(copied(tmp_path, "drizzle-0.31"))
    why = refusal(workspace, workspace.migrations[0])
    assert why is not None and "but 0001_tokens comes after it in the journal" in why
