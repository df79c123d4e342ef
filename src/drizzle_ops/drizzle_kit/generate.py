"""`inv generate`: run the workspace's own drizzle-kit generate, check what it wrote, lint it, draft its down file.

drizzle-kit writes the migration; we only check it. Exactly one new migration
must appear, with its SQL file and a snapshot chained to the previous one, and
the migrations that were there before must be untouched. The down draft is
written next to the reviewed down files and never over an existing one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from drizzle_ops.down_draft import Draft, draft_down
from drizzle_ops.drizzle_kit import node
from drizzle_ops.drizzle_kit.new_migration import (
    GENERATE_SCRIPT,
    check_name,
    check_output,
    existing_workspace,
    older_v1_snapshots,
)
from drizzle_ops.engine.rollback import down_path
from drizzle_ops.engine.workspace import Migration, Workspace, load_workspace
from drizzle_ops.errors import OperationFailed, UserError
from drizzle_ops.lint import Finding
from drizzle_ops.lint.fix import FileFix, fix_analysis
from drizzle_ops.lint.linter import analyse_migrations
from drizzle_ops.paths import display_path

if TYPE_CHECKING:
    from drizzle_ops.drizzle_kit.follow_ups import Added


@dataclass
class Generated:
    package_manager: str
    installed: bool  # node_modules was missing and got installed first
    migration: Migration | None = None  # None: drizzle-kit found nothing to change
    previous: Migration | None = None
    sql_display: str = ""
    findings: list[Finding] = field(default_factory=list)
    lint_error: str | None = None  # the new SQL could not be linted (it does not parse)
    fix: FileFix | None = None  # what lint --fix makes of the new file (fix.changed: something to rewrite)
    fix_written: bool = False  # generate --fix wrote it into the file
    added: list[Added] = field(default_factory=list)  # migrations the fix adds after it (written with fix_written)
    draft: Draft | None = None
    draft_path: Path | None = None
    draft_display: str = ""
    draft_written: bool = False  # False with a draft_path: a down file was there already and was kept
    no_changes: bool | None = (
        None  # no migration: True when drizzle-kit said so, None when its output went to a terminal
    )


NO_CHANGES = "No schema changes"
NEEDS_TERMINAL = "Interactive prompts require a TTY"


def _no_changes(run: node.ScriptRun, interactive: bool) -> bool | None:
    """drizzle-kit wrote nothing: True when it said there is nothing to change, None when we could not see.

    drizzle-kit exits 0 even when it stopped because it could not ask about a rename.
    """
    if interactive:
        return None  # its output went straight to the terminal, where the person saw it
    if NO_CHANGES in run.output:
        return True
    if NEEDS_TERMINAL in run.output:
        raise UserError(
            "drizzle-kit must ask whether a table or column was renamed, and it can ask only at a terminal; "
            "run `inv generate` in a terminal and answer its prompts"
        )
    raise OperationFailed(
        "drizzle-kit wrote no migration and did not say there was nothing to change (its output is above); "
        "fix what it reports and run generate again"
    )


def _lint(after: Workspace, migration: Migration, base: Path) -> tuple[list[Finding], str | None, FileFix | None]:
    """Findings for the new file only (the earlier migrations are linted with it for context), and its fix."""
    from drizzle_ops.drizzle_kit.follow_ups import refusal

    sources = [(display_path(m.sql_path, base), m.text) for m in after.migrations]
    shown = display_path(migration.sql_path, base)
    try:
        analyses = analyse_migrations(sources)
    except UserError as exc:
        return [], exc.message, None
    mine = next(a for a in analyses if a.path == shown)
    fix = fix_analysis(mine, breakpoints=migration.breakpoints)
    why = refusal(after, migration) if fix.follow_ups else None
    if why is not None:
        fix = fix_analysis(mine, breakpoints=migration.breakpoints, follow_up_refusal=why)
    return mine.findings, None, fix


def generate(
    root: Path,
    overrides: dict[str, str | None] | None,
    rollback_dir: Path,
    *,
    name: str | None = None,
    custom: bool = False,
    fix: bool = False,
    project_root: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> Generated:
    """drizzle-kit generate, checked; with ``fix`` the new migration is rewritten as `lint --fix` would."""
    root = root.resolve()
    base = project_root or root
    check_name(name)
    if not root.is_dir():
        raise UserError(f"workspace {root} does not exist; pass --workspace with the Drizzle package folder")
    before_ws = existing_workspace(root, overrides)
    before = list(before_ws.migrations) if before_ws else []
    manager = node.detect_package_manager(root)
    node.require_script(root, GENERATE_SCRIPT, "drizzle-kit generate")
    node.require_tools(manager)
    result = Generated(package_manager=manager.name, installed=node.ensure_installed(root, manager, log))

    args = [*(["--name", name] if name else []), *(["--custom"] if custom else [])]
    command = manager.run_command(GENERATE_SCRIPT, args)
    if log:
        log(f"running `{' '.join(command)}` in {display_path(root, base)} …")
    interactive = node.at_terminal()  # drizzle-kit's rename prompts need a terminal: don't capture there
    run = node.run(command, root, capture=not interactive, echo=True)
    if not run.ok:
        if older_v1_snapshots(before):
            raise OperationFailed(
                f"`{' '.join(command)}` failed with exit code {run.returncode} (its output is above); this "
                "history's snapshots are version 8 (drizzle-kit 1.0.0-beta.x to rc.4) and drizzle-kit 1.0.0-rc.5 "
                "on generates only from version 9: if it asks for `drizzle-kit up`, run that (it rewrites every "
                "snapshot.json; commit them) and generate again (migrate, status, drift and verify read version 8 "
                "as it is)"
            )
        raise OperationFailed(
            f"`{' '.join(command)}` failed with exit code {run.returncode} (its output is above); "
            "fix the schema or drizzle.config.ts and run generate again"
        )
    try:
        after = load_workspace(root, overrides)
    except UserError as exc:
        raise OperationFailed(f"after drizzle-kit generate, {exc.message}") from None
    migration = check_output(before, after)
    if migration is None:
        result.no_changes = _no_changes(run, interactive)
        return result
    previous = before[-1] if before else None
    result.migration, result.previous = migration, previous
    # the down draft diffs against the snapshot drizzle-kit diffed against: the newest one on disk
    base_snapshot = next((m for m in reversed(before) if m.snapshot_path is not None), None)
    result.sql_display = display_path(migration.sql_path, base)
    result.findings, result.lint_error, result.fix = _lint(after, migration, base)
    if result.fix is not None and result.fix.follow_ups:
        from drizzle_ops.drizzle_kit import follow_ups

        if fix:  # the fixed file, and the backfills drizzle-kit adds after it
            result.added = follow_ups.add(after, result.fix, rollback_dir, base, overrides, log)
            result.fix_written = True
        else:
            result.added = follow_ups.planned(after, result.fix, rollback_dir, base)
    elif fix and result.fix is not None and result.fix.changed:
        # the file is minutes old and no database has applied it: its new hash harms nobody
        try:
            migration.sql_path.write_bytes(result.fix.after.encode("utf-8"))
        except OSError as exc:
            raise OperationFailed(f"cannot write the fix into {result.sql_display}: {exc.strerror}") from None
        result.fix_written = True

    result.draft = draft_down(
        base_snapshot.snapshot() if base_snapshot else {},
        migration.snapshot(),
        tag=migration.tag,
        previous_tag=previous.tag if previous else None,
    )
    result.draft_path = down_path(rollback_dir, migration.tag)
    result.draft_display = display_path(result.draft_path, base)
    if not result.draft_path.exists():
        try:
            result.draft_path.parent.mkdir(parents=True, exist_ok=True)
            with result.draft_path.open("x", encoding="utf-8") as handle:  # "x": never over an existing file
                handle.write(result.draft.text)
        except FileExistsError:
            return result
        except OSError as exc:
            raise OperationFailed(
                f"cannot write the down draft {result.draft_display}: {exc.strerror}; check --rollback-dir"
            ) from None
        result.draft_written = True
    return result
