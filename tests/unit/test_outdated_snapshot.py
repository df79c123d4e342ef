"""Snapshots older than drizzle-kit 0.21's v7 are not compared (skipped, with the reason), never refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.verify.conformance import outdated_snapshot
from tests.helpers import EXAMPLE, ROOT


def test_a_v7_snapshot_is_read() -> None:
    workspace = load_workspace(EXAMPLE)
    assert outdated_snapshot(workspace, workspace.migrations[-1]) is None


def test_an_older_snapshot_is_named_with_the_way_to_upgrade_it(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLE, ws, ignore=shutil.ignore_patterns("node_modules"))
    path = ws / "drizzle/meta/0007_snapshot.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "version": "5"}))
    workspace = load_workspace(ws)
    assert outdated_snapshot(workspace, workspace.migrations[-1]) == (
        "the snapshot of 0007_wishlist_items is version 5, from an older drizzle-kit (`drizzle-kit up` upgrades it)"
    )
    assert outdated_snapshot(workspace, workspace.migrations[-2]) is None


def test_the_drizzle_kit_0_16_fixture_is_outdated() -> None:
    workspace = load_workspace(ROOT / "tests/fixtures/histories/legacy-no-breakpoints")
    reason = outdated_snapshot(workspace, workspace.migrations[-1])
    assert reason is not None and "is version 5" in reason
