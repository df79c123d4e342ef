"""The `drizzle-ops` program: the same tasks as `inv`, run from any Drizzle project folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import rows, run_drizzle_ops, run_drizzle_ops_process

PROGRAM = Path(sys.executable).with_name("drizzle-ops")  # the console script `pip install` writes


def journal_tags(workspace: Path) -> list[str]:
    journal = json.loads((workspace / "drizzle" / "meta" / "_journal.json").read_text())
    return [entry["tag"] for entry in journal["entries"]]


def test_the_console_script_is_installed() -> None:
    assert PROGRAM.is_file(), f"{PROGRAM} is missing: `pip install -e .` writes it"


def test_migrate_from_the_project_folder_without_tasks_py(workspace_copy: Path, empty_db: str) -> None:
    assert not (workspace_copy / "tasks.py").exists()
    run = run_drizzle_ops("migrate", "--url", empty_db, "--json", cwd=workspace_copy)
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert [a["tag"] for a in document["applied"]] == journal_tags(workspace_copy)
    assert len(rows(empty_db)) == len(journal_tags(workspace_copy))
    again = run_drizzle_ops("status", "--url", empty_db, "--check", cwd=workspace_copy)
    assert again.returncode == 0, again.stderr


def test_reads_invoke_yaml_from_the_current_folder(workspace_copy: Path, migrated_db: str) -> None:
    (workspace_copy / "invoke.yaml").write_text(
        "drizzle_ops:\n  environments:\n    staging: { url_env: SHOP_STAGING_URL, protected: true }\n"
    )
    staging = {"SHOP_STAGING_URL": migrated_db}
    run = run_drizzle_ops("status", "--env", "staging", "--json", cwd=workspace_copy, env=staging)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["summary"]["applied"] == len(journal_tags(workspace_copy))
    unset = run_drizzle_ops("status", "--env", "staging", cwd=workspace_copy)
    assert unset.returncode == 2
    assert "reads its URL from $SHOP_STAGING_URL, which is not set" in unset.stderr
    protected = run_drizzle_ops("migrate", "--env", "staging", cwd=workspace_copy, env=staging)
    assert protected.returncode == 2
    assert "staging is a protected environment: migrate needs --yes" in protected.stderr


@pytest.mark.process
def test_a_command_line_invoke_cannot_parse_is_exit_2(workspace_copy: Path) -> None:
    for args, named in ((["migrate", "--bogus"], "--bogus"), (["migrat"], "migrat")):
        run = run_drizzle_ops_process(*args, cwd=workspace_copy)
        assert run.returncode == 2, (args, run.stderr)
        assert run.stderr.startswith("error: ") and named in run.stderr
        assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


@pytest.mark.process
def test_python_dash_m_is_the_same_program(workspace_copy: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "drizzle_ops", "--list"], cwd=workspace_copy, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    for task in ("migrate", "status", "rollback", "verify", "plan", "lint", "generate", "db.up"):
        assert task in run.stdout
