"""The `drizzle-ops` program: the same tasks as `inv`, run from any Drizzle project folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import rows

PROGRAM = Path(sys.executable).with_name("drizzle-ops")  # the console script `pip install` writes


def drizzle_ops(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    full_env.update({"NO_COLOR": "1", "COLUMNS": "200", **(env or {})})
    return subprocess.run([str(PROGRAM), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120)


def journal_tags(workspace: Path) -> list[str]:
    journal = json.loads((workspace / "drizzle" / "meta" / "_journal.json").read_text())
    return [entry["tag"] for entry in journal["entries"]]


def test_the_console_script_is_installed() -> None:
    assert PROGRAM.is_file(), f"{PROGRAM} is missing: `pip install -e .` writes it"


def test_migrate_from_the_project_folder_without_tasks_py(workspace_copy: Path, empty_db: str) -> None:
    assert not (workspace_copy / "tasks.py").exists()
    run = drizzle_ops("migrate", "--url", empty_db, "--json", cwd=workspace_copy)
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert [a["tag"] for a in document["applied"]] == journal_tags(workspace_copy)
    assert len(rows(empty_db)) == len(journal_tags(workspace_copy))
    again = drizzle_ops("status", "--url", empty_db, "--check", cwd=workspace_copy)
    assert again.returncode == 0, again.stderr


def test_reads_invoke_yaml_from_the_current_folder(workspace_copy: Path, migrated_db: str) -> None:
    (workspace_copy / "invoke.yaml").write_text(
        "drizzle_ops:\n  environments:\n    staging: { url_env: SHOP_STAGING_URL, protected: true }\n"
    )
    run = drizzle_ops("status", "--env", "staging", "--json", cwd=workspace_copy, env={"SHOP_STAGING_URL": migrated_db})
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["summary"]["applied"] == len(journal_tags(workspace_copy))
    unset = drizzle_ops("status", "--env", "staging", cwd=workspace_copy)
    assert unset.returncode == 2
    assert "reads its URL from $SHOP_STAGING_URL, which is not set" in unset.stderr
    protected = drizzle_ops("migrate", "--env", "staging", cwd=workspace_copy, env={"SHOP_STAGING_URL": migrated_db})
    assert protected.returncode == 2
    assert "staging is a protected environment: migrate needs --yes" in protected.stderr


def test_a_command_line_invoke_cannot_parse_is_exit_2(workspace_copy: Path) -> None:
    for args, named in ((["migrate", "--bogus"], "--bogus"), (["migrat"], "migrat")):
        run = drizzle_ops(*args, cwd=workspace_copy)
        assert run.returncode == 2, (args, run.stderr)
        assert run.stderr.startswith("error: ") and named in run.stderr
        assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_python_dash_m_is_the_same_program(workspace_copy: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "drizzle_ops", "--list"], cwd=workspace_copy, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    for task in ("migrate", "status", "rollback", "verify", "plan", "lint", "generate", "db.up"):
        assert task in run.stdout
