"""`generate --check` with the real drizzle-kit (0.31 and 1.0) on copies of the example workspaces.

A developer edits the TypeScript schema and forgets `generate`: the check fails with the SQL
generate would write. After `generate` it passes. The real migrations folder is never
written by the check: every file, its size and its mtime are the same afterwards, and the
scratch copy is gone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import EXAMPLE, NO_DRIZZLE_KIT, NO_DRIZZLE_KIT_V1, ROOT, requires, run_inv

V1 = ROOT / "examples" / "drizzle-v1"
needs_kit = requires((EXAMPLE / "node_modules" / ".bin" / "drizzle-kit").exists, NO_DRIZZLE_KIT)
needs_kit_v1 = requires((V1 / "node_modules" / ".bin" / "drizzle-kit").exists, NO_DRIZZLE_KIT_V1)
pytestmark = pytest.mark.drizzle

# (example, schema file, a line of it, the same line with a new column after it, the SQL drizzle-kit writes for it)
LAYOUTS = {
    "0.31": (
        EXAMPLE,
        "src/schema/index.ts",
        '  displayName: text("display_name"),\n',
        '  displayName: text("display_name"),\n  nickname: text("nickname"),\n',
        'ALTER TABLE "users" ADD COLUMN "nickname" text;',
    ),
    "1.0": (
        V1,
        "src/schema.ts",
        '  name: text("name").notNull(),\n',
        '  name: text("name").notNull(),\n  theme: text("theme"),\n',
        'ALTER TABLE "sets" ADD COLUMN "theme" text;',
    ),
}
layouts = pytest.mark.parametrize(
    "layout", [pytest.param("0.31", marks=needs_kit), pytest.param("1.0", marks=needs_kit_v1)]
)


def workspace_copy(tmp_path: Path, example: Path) -> Path:
    """A private copy whose node_modules links to the example's (no install)."""
    target = tmp_path / "workspace"
    shutil.copytree(example, target, ignore=shutil.ignore_patterns("node_modules"))
    (target / "node_modules").symlink_to(example / "node_modules", target_is_directory=True)
    return target


def folder_state(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def check(ws: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`inv generate --check` with its own temporary folder, so what it leaves there can be seen."""
    scratch = tmp_path / "tmpdir"
    scratch.mkdir(exist_ok=True)
    done = run_inv("generate", "--workspace", str(ws), "--check", *args, env={"TMPDIR": str(scratch)}, timeout=300)
    left = [p.name for p in scratch.iterdir() if p.name.startswith("drizzle-ops")]  # tsx keeps a cache there too
    assert left == [], "generate --check left its scratch copy behind"
    return done


def edit(ws: Path, layout: str) -> str:
    _, schema, old, new, sql = LAYOUTS[layout]
    path = ws / schema
    text = path.read_text()
    assert old in text, f"the example schema no longer contains {old!r}"
    path.write_text(text.replace(old, new, 1))
    return sql


@layouts
def test_a_schema_change_without_a_migration_fails_and_passes_after_generate(tmp_path: Path, layout: str) -> None:
    ws = workspace_copy(tmp_path, LAYOUTS[layout][0])
    clean = check(ws, tmp_path)
    assert clean.returncode == 0, clean.stderr
    assert "drizzle-kit generate would write nothing" in clean.stdout

    sql = edit(ws, layout)
    before = folder_state(ws / "drizzle")
    forgotten = check(ws, tmp_path)
    assert forgotten.returncode == 1, forgotten.stdout + forgotten.stderr
    assert "drizzle-kit generate would write a migration" in forgotten.stdout
    assert sql in forgotten.stdout
    assert "generate --check failed: the schema holds changes that no migration does" in forgotten.stderr
    assert folder_state(ws / "drizzle") == before  # not a file added, rewritten or touched

    generated = run_inv("generate", "--workspace", str(ws), "--rollback-dir", str(tmp_path / "rollback"))
    assert generated.returncode == 0, generated.stderr
    assert folder_state(ws / "drizzle") != before
    after = check(ws, tmp_path)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "would write nothing" in after.stdout


@layouts
def test_json_holds_the_sql_generate_would_write(tmp_path: Path, layout: str) -> None:
    ws = workspace_copy(tmp_path, LAYOUTS[layout][0])
    sql = edit(ws, layout)
    done = check(ws, tmp_path, "--json")
    assert done.returncode == 1
    document = json.loads(done.stdout)
    assert document["ok"] is False and document["check"] is True and document["schema_changes"] is True
    assert sql in document["would_generate"]["sql"] and document["would_generate"]["statements"] >= 1
    assert document["needs_terminal"] is False


@needs_kit
def test_a_rename_that_drizzle_kit_must_ask_about_fails_the_check(tmp_path: Path) -> None:
    ws = workspace_copy(tmp_path, EXAMPLE)
    path = ws / "src" / "schema" / "index.ts"
    path.write_text(path.read_text().replace('text("display_name")', 'text("shown_name")', 1))
    done = check(ws, tmp_path, "--json")
    assert done.returncode == 1
    document = json.loads(done.stdout)
    assert document["schema_changes"] is True and document["needs_terminal"] is True
    assert document["would_generate"] is None


@needs_kit
def test_check_with_custom_is_bad_input(tmp_path: Path) -> None:
    ws = workspace_copy(tmp_path, EXAMPLE)
    done = check(ws, tmp_path, "--custom")
    assert done.returncode == 2 and "give one of them" in done.stderr and "Traceback" not in done.stderr


@needs_kit
def test_a_script_with_its_own_config_is_bad_input(tmp_path: Path) -> None:
    ws = workspace_copy(tmp_path, EXAMPLE)
    package = json.loads((ws / "package.json").read_text())
    package["scripts"]["db:generate"] = "drizzle-kit generate --config=drizzle.config.ts"
    (ws / "package.json").write_text(json.dumps(package))
    done = check(ws, tmp_path)
    assert done.returncode == 2 and "drop --config from the script" in done.stderr
