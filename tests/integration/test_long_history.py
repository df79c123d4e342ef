"""A long history through the real `inv status`: the table shortens, --all and --json list every migration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import add_migration, run_inv

pytestmark = pytest.mark.integration


def test_status_of_a_long_history(empty_db: str, workspace_copy: Path) -> None:
    for n in range(25):
        add_migration(workspace_copy, f"step_{n}", f"SELECT {n};")
    common = ["--workspace", str(workspace_copy), "--url", empty_db]
    assert run_inv("migrate", *common).returncode == 0
    add_migration(workspace_copy, "not_yet", "SELECT 'pending';")

    short = run_inv("status", *common)
    assert short.returncode == 0, short.stderr
    assert "… 28 older applied migration(s) not shown (--all lists every one)" in short.stdout
    assert "0000_init_users" not in short.stdout
    assert "0032_step_24" in short.stdout and "0033_not_yet" in short.stdout
    assert "33 applied, 1 pending" in short.stdout

    every = run_inv("status", "--all", *common)
    assert "0000_init_users" in every.stdout and "not shown" not in every.stdout

    document = json.loads(run_inv("status", "--json", *common).stdout)
    assert len(document["migrations"]) == 34
