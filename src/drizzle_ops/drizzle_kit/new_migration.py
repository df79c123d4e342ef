"""What `drizzle-kit generate` wrote, checked: the workspace before it, the one migration it must add, and
`generate --custom` run through the workspace's own script.

`inv generate` (generate.py) and the migrations lint --fix adds (follow_ups.py) both build on it; it imports
neither of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from drizzle_ops.drizzle_kit import node
from drizzle_ops.engine.drizzle_config import read_drizzle_config
from drizzle_ops.engine.workspace import ZERO_UUID, Migration, Workspace, load_workspace
from drizzle_ops.errors import OperationFailed, UserError
from drizzle_ops.paths import display_path

GENERATE_SCRIPT = "db:generate"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")


def check_name(name: str | None) -> None:
    if name is not None and not _NAME.match(name):
        raise UserError(
            f"--name {name!r}: use letters, digits, _ and - only (it becomes part of the file name), e.g. add_tags"
        )


def existing_workspace(root: Path, overrides: dict[str, str | None] | None) -> Workspace | None:
    """The workspace as it is now; None when it has no migrations yet (the first generate)."""
    config = read_drizzle_config(root, overrides)
    out = (root / config.out).resolve()
    if not (out / "meta" / "_journal.json").is_file() and not any(out.glob("*/migration.sql")):
        return None
    workspace = load_workspace(root, overrides)
    problem = workspace.snapshot_chain_problem()
    if problem:
        # drizzle-kit generate diffs the schema against the newest snapshot: on a broken chain that can be wrong
        raise UserError(
            f"{problem}; generate needs an intact chain: if the schemas agree, set that prevId to the id "
            "before it, else drop the later migration (`drizzle-kit drop`) and generate it again"
        )
    return workspace


def older_v1_snapshots(migrations: Sequence[Migration]) -> bool:
    """A v1 history written before 1.0.0-rc.5: its newest snapshot is version 8, which rc.5 wants upgraded."""
    with_snapshot = [m for m in migrations if m.snapshot_path is not None and m.sql_path.name == "migration.sql"]
    return bool(with_snapshot) and with_snapshot[-1].snapshot().get("version") == "8"


def _newest_snapshot_id(migrations: Sequence[Migration]) -> Any:
    """drizzle-kit chains a new snapshot to the newest one on disk; a lost one is skipped."""
    with_snapshot = [m for m in migrations if m.snapshot_path is not None]
    return with_snapshot[-1].snapshot().get("id") if with_snapshot else ZERO_UUID


def _chained(snapshot: dict[str, Any], previous_id: Any) -> bool:
    prev_ids = snapshot.get("prevIds")  # drizzle-kit v1 snapshots list their parents
    if isinstance(prev_ids, list):
        return previous_id in prev_ids or (previous_id == ZERO_UUID and not prev_ids)
    return bool(snapshot.get("prevId") == previous_id)


def check_output(before: Sequence[Migration], after: Workspace) -> Migration | None:
    """The one migration drizzle-kit added, None if it added none; any other change is a failure."""
    old_tags = [m.tag for m in before]
    new_tags = [m.tag for m in after.migrations]
    if new_tags[: len(old_tags)] != old_tags:
        raise OperationFailed(
            "drizzle-kit changed the existing migrations (the journal's earlier entries differ); "
            "restore them from version control and generate again"
        )
    added = after.migrations[len(before) :]
    if not added:
        return None
    if len(added) > 1:
        raise OperationFailed(
            f"drizzle-kit added {len(added)} migrations ({', '.join(m.tag for m in added)}), expected one; "
            "remove the extra ones and generate again"
        )
    migration = added[0]
    if not migration.sql_path.is_file():
        raise OperationFailed(f"drizzle-kit listed {migration.tag} but wrote no {migration.sql_path}; generate again")
    if migration.snapshot_path is None:
        raise OperationFailed(f"drizzle-kit listed {migration.tag} but wrote no snapshot for it; generate again")
    previous_id = _newest_snapshot_id(before)
    snapshot = migration.snapshot()
    if not _chained(snapshot, previous_id):
        raise OperationFailed(
            f"{migration.snapshot_path}: its prevId {snapshot.get('prevId', snapshot.get('prevIds'))} is not the "
            f"previous snapshot's id {previous_id}; delete {migration.tag}'s files and generate again"
        )
    return migration


CUSTOM_TIMEOUT = 600.0  # seconds for one drizzle-kit generate --custom


def generate_custom(
    root: Path,
    overrides: dict[str, str | None] | None,
    name: str,
    *,
    project_root: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> Migration:
    """`drizzle-kit generate --custom --name NAME` through the workspace's `db:generate` script, as `inv generate
    --custom` runs it: the one migration it added (journal entry or folder, and a snapshot that copies the newest
    one), checked as generate checks it. Its SQL file holds drizzle-kit's placeholder line; the caller writes it."""
    root = root.resolve()
    base = project_root or root
    check_name(name)
    before_ws = existing_workspace(root, overrides)
    before = list(before_ws.migrations) if before_ws else []
    manager = node.detect_package_manager(root)
    node.require_script(root, GENERATE_SCRIPT, "drizzle-kit generate")
    node.require_tools(manager)
    node.ensure_installed(root, manager, log, capture=True)
    command = manager.run_command(GENERATE_SCRIPT, ["--name", name, "--custom"])
    if log:
        log(f"running `{' '.join(command)}` in {display_path(root, base)} …")
    run = node.run(command, root, capture=True, timeout=CUSTOM_TIMEOUT)
    if not run.ok:
        raise OperationFailed(
            f"`{' '.join(command)}` failed with exit code {run.returncode}: {run.tail(5) or 'no output'}; "
            "fix what it reports and run again"
        )
    try:
        after = load_workspace(root, overrides)
    except UserError as exc:
        raise OperationFailed(f"after drizzle-kit generate --custom, {exc.message}") from None
    migration = check_output(before, after)
    if migration is None:
        raise OperationFailed(f"`{' '.join(command)}` wrote no migration: {run.tail(5) or 'no output'}")
    return migration
