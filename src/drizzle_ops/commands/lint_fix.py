"""`lint --fix`: rewrite the flagged statements of migrations that no database has applied, into their safe versions.

A file a database applied must never change: its hash is recorded, and the next migrate would call
it modified. So the selection says which files may change, and the others are refused with the reason:

- `--pending --url URL`: the migrations that database has not applied (an out-of-order one is refused:
  older than what it applied, so another database may have it);
- `--since REF`: the migration files the branch added since the merge base (a file the merge base
  already has is refused, even when the branch changed it);
- `--file FILE`: only a file git has not committed (HEAD does not hold it); a committed one is bad input.

Every migration before the last selected one is linted with them for context, as plain lint does.

A column added with a volatile DEFAULT is fixed in the newest migration only: its backfill (and the NOT NULL
after it) are migrations of their own, added right after it by the workspace's drizzle-kit
(drizzle_kit/follow_ups.py); `--check` runs nothing and says which it would add.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from drizzle_ops.commands.lint import file_sources, offline_version, target_version
from drizzle_ops.context.config import Settings
from drizzle_ops.context.connect import connect
from drizzle_ops.context.request import Log, Request
from drizzle_ops.engine import runner
from drizzle_ops.engine.states import MigrationState
from drizzle_ops.engine.workspace import Migration, Workspace, load_workspace
from drizzle_ops.errors import OperationFailed, UserError
from drizzle_ops.lint import Rule, VolatilityLookup, catalogue_volatility
from drizzle_ops.lint.fix import FIXES, FileFix, fix_analysis
from drizzle_ops.lint.linter import Analysis, analyse_migrations
from drizzle_ops.paths import display_path

if TYPE_CHECKING:
    from drizzle_ops.drizzle_kit.follow_ups import Added
    from drizzle_ops.lint.since import Changes

OUTSIDE_THE_WORKSPACE = (
    "the file is not one of the workspace's migrations, so no migration can be added after it for the backfill: "
    "put it in the journal (`drizzle-kit generate --custom`) and fix it there"
)


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
    added: list[Added] = field(default_factory=list)  # migrations added (under --check: that would be) after a fix

    @property
    def changed(self) -> list[FileFix]:
        return [f for f in self.fixes if f.changed]


@dataclass(frozen=True)
class _Selected:
    path: Path
    shown: str
    text: str
    breakpoints: bool
    migration: Migration | None = None  # None: a file outside the workspace's migrations


@dataclass(frozen=True)
class _Where:
    """What adding migrations after a fixed one needs: the workspace, where down files go, how paths are shown."""

    settings: Settings
    workspace: Workspace | None
    log: Log | None = None


def _fix_one(analysis: Analysis, chosen: _Selected, where: _Where) -> FileFix:
    """The file fixed; where it needs migrations after it that cannot be added, fixed without that rewrite."""
    fix = fix_analysis(analysis, breakpoints=chosen.breakpoints)
    if not fix.follow_ups:
        return fix
    from drizzle_ops.drizzle_kit.follow_ups import refusal

    if chosen.migration is None or where.workspace is None:
        why: str | None = OUTSIDE_THE_WORKSPACE
    else:
        why = refusal(where.workspace, chosen.migration)
    return fix if why is None else fix_analysis(analysis, breakpoints=chosen.breakpoints, follow_up_refusal=why)


def _fix(
    context: Sequence[tuple[str, str]],
    selected: Sequence[_Selected],
    refused: dict[str, str],
    rules: Sequence[Rule],
    version: tuple[int, str],
    write: bool,
    where: _Where,
    volatility: VolatilityLookup | None = None,
) -> FixOutcome:
    """Lint ``context`` (every migration up to the last one that matters, in order), fix ``selected``, and
    list the refused files that have something to fix; nothing written yet (``_apply``). A catalogue
    ``volatility`` lookup needs its connection open until this returns."""
    started = time.perf_counter()
    analyses = {
        a.path: a
        for a in analyse_migrations(context, rules=rules, pg_version=version[0], volatility=volatility)
        if a.path is not None
    }
    fixes = [_fix_one(analyses[s.shown], s, where) for s in selected]
    outcome = FixOutcome(
        fixes,
        [Refused(path, why) for path, why in refused.items() if any(b & FIXES.keys() for b in analyses[path].broken)],
        write,
        *version,
    )
    outcome.seconds = time.perf_counter() - started
    return outcome


def _apply(outcome: FixOutcome, selected: Sequence[_Selected], where: _Where) -> FixOutcome:
    """The fixed files written, and the migrations that follow a fix added; under --check, what would be added."""
    started = time.perf_counter()
    settings = where.settings
    extended = [one for one in outcome.fixes if one.follow_ups]
    if extended and where.workspace is not None:
        from drizzle_ops.drizzle_kit import follow_ups

        for one in extended:  # first: what drizzle-kit may refuse, before any other file is written
            if outcome.write:
                outcome.added += follow_ups.add(
                    where.workspace, one, settings.rollback_dir, settings.project_root, settings.overrides, where.log
                )
                outcome.written.append(one.path)
            else:
                outcome.added += follow_ups.planned(where.workspace, one, settings.rollback_dir, settings.project_root)
    if outcome.write:
        for one, chosen in zip(outcome.fixes, selected, strict=True):
            if one.changed and not one.follow_ups:
                _write(chosen.path, one.after)
                outcome.written.append(one.path)
    outcome.seconds += time.perf_counter() - started
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
    shown = display_path(migration.sql_path, root)
    return _Selected(migration.sql_path, shown, migration.text, migration.breakpoints, migration)


def fix_pending(ctx: Request, rules: Sequence[Rule], pg_version: int | None, *, write: bool) -> FixOutcome:
    """The migrations the target has not applied, judged for its version and its functions' volatility."""
    workspace, root = ctx.workspace, ctx.settings.project_root
    with connect(ctx) as c:
        states = {e.tag: e.state for e in runner.status(c.conn, workspace)}
        version = target_version(c.conn, pg_version)
        pending = [m for m in workspace.migrations if states.get(m.tag) is MigrationState.PENDING]
        late = [m for m in workspace.migrations if states.get(m.tag) is MigrationState.OUT_OF_ORDER]
        refused = {
            display_path(m.sql_path, root): "older than the newest migration the database applied, so another "
            "database may have applied it (it is out of order here)"
            for m in late
        }
        last = max(pending + late, key=workspace.migrations.index, default=None)
        selected = [_selected(m, root) for m in pending]
        where = _Where(ctx.settings, workspace, ctx.log)
        volatility = catalogue_volatility(c.conn)  # asks the database while the rules judge: keep it open
        outcome = _fix(_context(workspace, root, last), selected, refused, rules, version, write, where, volatility)
    outcome = _apply(outcome, selected, where)
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
    selected = [_selected(m, root) for m in added]
    where = _Where(ctx.settings, workspace, ctx.log)
    outcome = _apply(
        _fix(_context(workspace, root, last), selected, refused, rules, version, write, where), selected, where
    )
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
    workspace = _workspace(settings)
    migrations = list(workspace.migrations) if workspace is not None else []
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
    where = _Where(settings, workspace)
    outcome = _apply(_fix(context, selected, {}, rules, version, write, where), selected, where)
    outcome.scope = f"{len(selected)} file(s) git has not committed"
    return outcome


def _workspace(settings: Settings) -> Workspace | None:
    """The workspace, or None when there is none to read (files are then judged alone)."""
    try:
        return load_workspace(settings.workspace, settings.overrides)
    except UserError:
        return None
