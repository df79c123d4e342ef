"""The pre-commit hook (.pre-commit-hooks.yaml): which files it takes, and its command line run as pre-commit builds it.

pre-commit runs `entry + args + the staged files that match files` in the repository root; here the same
command runs with the drizzle-ops installed for the tests (pre-commit would install it from this repository).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from invoke.util import yaml

from tests.helpers import ROOT

MANIFEST = ROOT / ".pre-commit-hooks.yaml"
BIN = Path(sys.executable).parent


def hook() -> dict[str, object]:
    hooks = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    (found,) = [h for h in hooks if h["id"] == "drizzle-ops-lint"]
    return dict(found)


def matches(path: str) -> bool:
    return re.search(str(hook()["files"]), path) is not None


def run_hook(files: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    spec = hook()
    command = [*shlex.split(str(spec["entry"])), *[str(a) for a in spec["args"]], *files]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_the_hook_is_a_python_hook_running_the_console_script() -> None:
    spec = hook()
    assert spec["language"] == "python"
    assert shlex.split(str(spec["entry"])) == ["drizzle-ops", "lint"]
    assert 'drizzle-ops = "drizzle_ops.cli.program:main"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert spec["require_serial"] is True
    assert spec.get("pass_filenames", True) is True


def test_it_takes_migrations_of_both_drizzle_kit_layouts_and_leaves_down_files_alone() -> None:
    schema = "examples/wishlist/packages/backend/database-schema"
    migrations = [str(p.relative_to(ROOT)) for p in (ROOT / schema / "drizzle").glob("*.sql")]
    v1 = [str(p.relative_to(ROOT)) for p in (ROOT / "examples/drizzle-v1/drizzle").glob("*/migration.sql")]
    assert len(migrations) == 8 and v1
    assert all(matches(p) for p in [*migrations, *v1, "drizzle/0000_init.sql"])
    assert not any(
        matches(p) for p in ["sql/rollback/0000_init_users.down.sql", "checks/seed_wishlist.sql", "src/x.ts"]
    )


def test_staged_migrations_are_linted_in_one_run(tmp_path: Path) -> None:
    folder = tmp_path / "packages" / "db" / "drizzle"
    folder.mkdir(parents=True)
    (folder / "0000_ok.sql").write_text('CREATE TABLE "users" ("id" integer);\n', encoding="utf-8")
    (folder / "0001_drop.sql").write_text('ALTER TABLE "users" DROP COLUMN "id";\n', encoding="utf-8")
    staged = ["packages/db/drizzle/0000_ok.sql", "packages/db/drizzle/0001_drop.sql"]
    assert all(matches(p) for p in staged)
    failed = run_hook(staged, tmp_path)
    assert failed.returncode == 1, failed.stderr
    assert "0001_drop.sql:1" in failed.stdout and "ban-drop-column" in failed.stdout
    assert "1 error(s), 0 warning(s) in 2 file(s)" in failed.stdout
    passed = run_hook(staged[:1], tmp_path)
    assert passed.returncode == 0, passed.stderr
    assert "0 error(s), 0 warning(s) in 1 file(s)" in passed.stdout
