"""`lint --fix`: rewrite the flagged statements of migrations that no database has applied, into their safe versions.

A file a database applied must never change: its hash is recorded, and the next migrate would call
it modified. So the selection says which files may change, and the others are refused with the reason:

- `--pending --url URL`: the migrations that database has not applied (an out-of-order one is refused:
  older than what it applied, so another database may have it);
- `--since REF`: the migration files the branch added since the merge base (a file the merge base
  already has is refused, even when the branch changed it);
- `--file FILE`: only a file git has not committed (HEAD does not hold it); a committed one is bad input.

Every migration before the last selected one is linted with them for context, as plain lint does.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from drizzle_ops.commands.lint import file_sources, offline_version
from drizzle_ops.context.config import Settings
from drizzle_ops.context.connect import connect
from drizzle_ops.context.request import Request
from drizzle_ops.engine import runner
from drizzle_ops.engine.states import MigrationState
from drizzle_ops.engine.workspace import Migration, Workspace, load_workspace
from drizzle_ops.errors import OperationFailed, UserError
from drizzle_ops.lint import Rule, VolatilityLookup, catalogue_volatility, major_version
from drizzle_ops.lint.fix import FIXES, FileFix, fix_analysis
from drizzle_ops.lint.linter import analyse_migrations
from drizzle_ops.lint.version import check_pg_version
from drizzle_ops.paths import display_path

if TYPE_CHECKING:
    from drizzle_ops.lint.since import Changes


@dataclass(frozen=True)
class Refused:
    """A selected file with something to fix that lint --fix must not change."""

    file: str
    reason: str


@dataclass
class FixOutcome:
    fixes: list[FileFix]  # the files that may change, each with its diff and what is left
    refused: list[Refused]
    write: bool  # False: --check, nothing written
    pg_version: int
    pg_version_from: str
    seconds: float = 0.0
    scope: str = ""  # which files may change, as the summary line says it
    since: Changes | None = None
    written: list[str] = field(default_factory=list)

    @property
    def changed(self) -> list[FileFix]:
        return [f for f in self.fixes if f.changed]


@dataclass(frozen=True)
class _Selected:
    path: Path
    shown: str
    text: str
    breakpoints: bool


def _fix(
    context: Sequence[tuple[str, str]],
    selected: Sequence[_Selected],
    refused: dict[str, str],
    rules: Sequence[Rule],
    version: tuple[int, str],
    write: bool,
    volatility: VolatilityLookup | None = None,
) -> FixOutcome:
    """Lint ``context`` (every migration up to the last one that matters, in order), fix ``selected``, and
    list the refused files that have something to fix."""
    started = time.perf_counter()
    analyses = {
        a.path: a
        for a in analyse_migrations(context, rules=rules, pg_version=version[0], volatility=volatility)
        if a.path is not None
    }
    fixes = [fix_analysis(analyses[s.shown], breakpoints=s.breakpoints) for s in selected]
    outcome = FixOutcome(
        fixes,
        [Refused(path, why) for path, why in refused.items() if any(b & FIXES.keys() for b in analyses[path].broken)],
        write,
        *version,
    )
    if write:
        for one, chosen in zip(fixes, selected, strict=True):
            if one.changed:
                _write(chosen.path, one.after)
                outcome.written.append(one.path)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _write(path: Path, text: str) -> None:
    """The fixed text, in place of the file (written next to it first, so a failure leaves the file whole)."""
    scratch = path.with_name(f".{path.name}.drizzle-ops-fix")
    try:
        scratch.write_bytes(text.encode("utf-8"))
        scratch.replace(path)
    except OSError as exc:
        scratch.unlink(missing_ok=True)
        raise OperationFailed(f"cannot write {path}: {exc.strerror}; nothing of it changed") from None


def _context(workspace: Workspace, root: Path, last: Migration | None) -> list[tuple[str, str]]:
    """(shown path, text) of every migration up to ``last``, the context the rules judge by."""
    migrations = workspace.migrations
    upto = migrations.index(last) + 1 if last is not None else 0
    return [(display_path(m.sql_path, root), m.text) for m in migrations[:upto]]


def _selected(migration: Migration, root: Path) -> _Selected:
    return _Selected(migration.sql_path, display_path(migration.sql_path, root), migration.text, migration.breakpoints)


def fix_pending(ctx: Request, rules: Sequence[Rule], pg_version: int | None, *, write: bool) -> FixOutcome:
    """The migrations the target has not applied, judged for its version and its functions' volatility."""
    workspace, root = ctx.workspace, ctx.settings.project_root
    with connect(ctx) as c:
        states = {e.tag: e.state for e in runner.status(c.conn, workspace)}
        if pg_version is not None:
            version = (check_pg_version(pg_version), "--pg-version")
        else:
            version = (major_version(c.conn.info.server_version), "the target's server_version_num")
        volatility = catalogue_volatility(c.conn)
    pending = [m for m in workspace.migrations if states.get(m.tag) is MigrationState.PENDING]
    late = [m for m in workspace.migrations if states.get(m.tag) is MigrationState.OUT_OF_ORDER]
    refused = {
        display_path(m.sql_path, root): "older than the newest migration the database applied, so another database "
        "may have applied it (it is out of order here)"
        for m in late
    }
    last = max(pending + late, key=workspace.migrations.index, default=None)
    selected = [_selected(m, root) for m in pending]
    outcome = _fix(_context(workspace, root, last), selected, refused, rules, version, write, volatility)
    outcome.scope = f"{len(selected)} migration(s) the database has not applied"
    return outcome


def fix_since(ctx: Request, ref: str, rules: Sequence[Rule], pg_version: int | None, *, write: bool) -> FixOutcome:
    """The migration files the branch added since the merge base of ``ref`` and HEAD."""
    from drizzle_ops.lint.since import changed_migrations, changed_since

    version = offline_version(ctx.settings, pg_version)
    changes = changed_since(ref, ctx.workspace.migrations_dir)
    workspace, root = ctx.workspace, ctx.settings.project_root
    changed = changed_migrations(workspace.migrations, changes)
    added = [m for m in changed if m.sql_path in changes.added]
    refused = {
        display_path(m.sql_path, root): f"the merge base {changes.merge_base[:12]} has it already, so a database may "
        "have applied it; lint --fix changes only the migrations the branch adds"
        for m in changed
        if m not in added
    }
    last = max(changed, key=workspace.migrations.index, default=None)
    outcome = _fix(_context(workspace, root, last), [_selected(m, root) for m in added], refused, rules, version, write)
    outcome.since = changes
    outcome.scope = f"{len(added)} migration(s) added since {ref} (merge base {changes.merge_base[:12]})"
    return outcome


def fix_files(
    settings: Settings, paths: Sequence[str], rules: Sequence[Rule], pg_version: int | None, *, write: bool
) -> FixOutcome:
    """Files git has not committed. One of the workspace's migrations is judged with the ones before it."""
    from drizzle_ops.lint.since import committed

    version = offline_version(settings, pg_version)
    sources = file_sources(paths)
    files = {Path(shown).resolve(): (shown, text) for shown, text in sources}
    held = committed(list(files))
    if held:
        names = ", ".join(files[p][0] for p in sorted(held))
        raise UserError(
            f"{names}: committed in git, so a database may have applied it and a new hash would make it modified; "
            "lint --fix --file changes only files git has not committed: fix what a branch adds with --since REF, "
            "or what a database lacks with --pending --url URL"
        )
    migrations = _workspace_migrations(settings)
    known = {m.sql_path.resolve(): m for m in migrations}
    root = settings.project_root
    mine = [known[p] for p in files if p in known]
    last = max(mine, key=migrations.index, default=None)
    context = (
        [(display_path(m.sql_path, root), m.text) for m in migrations[: migrations.index(last) + 1]] if last else []
    )
    selected: list[_Selected] = []
    for path, (shown, text) in files.items():
        if path in known:
            selected.append(_selected(known[path], root))
        else:  # a file outside the workspace's journal: judged on its own
            context.append((shown, text))
            selected.append(_Selected(path, shown, text, True))
    outcome = _fix(context, selected, {}, rules, version, write)
    outcome.scope = f"{len(selected)} file(s) git has not committed"
    return outcome


def _workspace_migrations(settings: Settings) -> list[Migration]:
    """The workspace's migrations, or none when there is no workspace to read (files are then judged alone)."""
    try:
        return list(load_workspace(settings.workspace, settings.overrides).migrations)
    except UserError:
        return []
