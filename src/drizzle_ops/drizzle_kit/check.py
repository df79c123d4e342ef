"""`generate --check`: does the TypeScript schema hold changes that no migration does? (Django's
`makemigrations --check`, Alembic's `alembic check`.)

The workspace's own drizzle-kit generate answers, run through its `db:generate` script
as `inv generate` runs it, but against a scratch copy of the migrations folder: a
temporary config imports the workspace's own and changes only `out`. If drizzle-kit
writes a migration there, that migration is the answer; the real folder is never
written, and is compared before and after to prove it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from drizzle_ops.drizzle_kit import node
from drizzle_ops.drizzle_kit.generate import NEEDS_TERMINAL, NO_CHANGES
from drizzle_ops.drizzle_kit.new_migration import GENERATE_SCRIPT, existing_workspace
from drizzle_ops.engine.drizzle_config import read_drizzle_config
from drizzle_ops.engine.workspace import Migration, Workspace, load_workspace
from drizzle_ops.errors import OperationFailed, UserError
from drizzle_ops.paths import display_path

CHECK_TIMEOUT = 600.0  # seconds for drizzle-kit generate; it takes a few


@dataclass
class Checked:
    package_manager: str
    installed: bool  # node_modules was missing and got installed first
    migration: Migration | None = None  # what drizzle-kit wrote into the scratch copy; None: nothing to generate
    needs_terminal: bool = False  # drizzle-kit stopped to ask about a rename: changes it writes only at a terminal

    @property
    def schema_changes(self) -> bool:
        return self.migration is not None or self.needs_terminal


def _wrapper_config(config_path: Path, out: str) -> str:
    """A config that is the workspace's own with another `out` (a path relative to the workspace: drizzle-kit
    0.31 puts "./" before it)."""
    return (
        f"import config from {json.dumps(config_path.as_posix())};\n"
        f"export default {{ ...config, out: {json.dumps(out)} }};\n"
    )


def _state(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and mtime: what "never touched" is checked against."""
    if not folder.is_dir():
        return {}
    state = {}
    for path in folder.rglob("*"):
        if path.is_file():
            stat = path.stat()
            state[path.relative_to(folder).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return state


def _scratch_workspace(root: Path, overrides: dict[str, str | None] | None, out: Path) -> Workspace | None:
    """The scratch copy as a workspace; None when it holds no migration (there was none, and none was written)."""
    if not (out / "meta" / "_journal.json").is_file() and not any(out.glob("*/migration.sql")):
        return None
    try:
        return load_workspace(root, {**(overrides or {}), "out": str(out)})
    except UserError as exc:
        raise OperationFailed(f"after drizzle-kit generate on the scratch copy, {exc.message}") from None


def check_generate(
    root: Path,
    overrides: dict[str, str | None] | None,
    *,
    name: str | None = None,
    project_root: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> Checked:
    root = root.resolve()
    base = project_root or root
    if not root.is_dir():
        raise UserError(f"workspace {root} does not exist; pass --workspace with the Drizzle package folder")
    config = read_drizzle_config(root, overrides)
    real_out = (root / config.out).resolve()
    before_ws = existing_workspace(root, overrides)
    before_tags = {m.tag for m in before_ws.migrations} if before_ws else set()
    manager = node.detect_package_manager(root)
    script = node.require_script(root, GENERATE_SCRIPT, "drizzle-kit generate")
    if "--config" in script:
        raise UserError(
            f"the `{GENERATE_SCRIPT}` script names its own --config ({script!r}); generate --check passes a "
            "config of its own, so drop --config from the script (drizzle-ops reads drizzle.config.ts)"
        )
    node.require_tools(manager)
    result = Checked(package_manager=manager.name, installed=node.ensure_installed(root, manager, log))

    before = _state(real_out)
    scratch = Path(tempfile.mkdtemp(prefix="drizzle-ops-generate-check-"))
    try:
        scratch_out = scratch / "migrations"
        if real_out.is_dir():
            shutil.copytree(real_out, scratch_out, ignore=shutil.ignore_patterns("node_modules", ".git"))
        else:
            scratch_out.mkdir()
        wrapper = scratch / "drizzle.config.ts"
        relative_out = Path(os.path.relpath(scratch_out, root)).as_posix()
        wrapper.write_text(_wrapper_config(config.path, relative_out), encoding="utf-8")
        command = manager.run_command(GENERATE_SCRIPT, [*(["--name", name] if name else []), "--config", str(wrapper)])
        if log:
            shown = " ".join([*command[:-1], "<scratch config>"])
            log(f"running `{shown}` in {display_path(root, base)} against a scratch copy of the migrations …")
        run = node.run(command, root, capture=True, timeout=CHECK_TIMEOUT)
        if not run.ok:
            if log and run.output:
                log(run.tail())
            raise OperationFailed(
                f"`{' '.join(command[:-2])}` failed with exit code {run.returncode} (its output is above); "
                "fix the schema or drizzle.config.ts and run generate --check again"
            )
        after = _scratch_workspace(root, overrides, scratch_out)
        added = [m for m in (after.migrations if after else []) if m.tag not in before_tags]
        if added:
            result.migration = added[-1]  # its text is read already: the scratch copy goes next
        elif NEEDS_TERMINAL in run.output:
            result.needs_terminal = True
        elif NO_CHANGES not in run.output:
            if log and run.output:
                log(run.tail())
            raise OperationFailed(
                "drizzle-kit wrote no migration and did not say there was nothing to change (its output is above); "
                "fix what it reports and run generate --check again"
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if _state(real_out) != before:
        raise OperationFailed(
            f"the migrations folder {display_path(real_out, base)} changed while generate --check ran (another "
            "process, or a config that ignores `out`); check it with git status"
        )
    return result
