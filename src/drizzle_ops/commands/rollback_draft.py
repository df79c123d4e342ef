"""`rollback --draft`: draft the down files of migrations that already exist, from each one's snapshot pair.

No database: only the workspace's files are read, and down files are written
into the rollback folder, never over an existing one. Each migration is drafted
from its own snapshot and the one drizzle-kit diffed it against (its `prevId`;
in the v1 layout its parent in `prevIds`, both folded from the base snapshot),
with the drafter `generate` uses. Its SQL is then checked against that
difference: a statement the snapshots do not show (hand-written SQL) becomes a
REVIEW note. A draft that only undoes what the snapshots show, with nothing to
judge, is written without the DRAFT line, so `rollback` runs it as it is; every
other draft keeps the line. Where no draft can be made (a snapshot is missing,
the snapshots are identical while the SQL does something) the file is a stub
that says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drizzle_ops.context.config import Settings
from drizzle_ops.context.request import Log, read_workspace
from drizzle_ops.down_draft import ROLLBACK_DRAFT, Draft, draft_down, nothing_to_undo, stub_down
from drizzle_ops.engine.rollback import RollbackChoice
from drizzle_ops.engine.workspace import FOLDERS, ZERO_UUID, Migration, Workspace, snapshot_file_name
from drizzle_ops.errors import OperationFailed, UserError
from drizzle_ops.paths import display_path

WRITTEN, SKIPPED, STUB = "written", "skipped", "stub"


@dataclass(frozen=True)
class DraftedFile:
    tag: str
    file: str  # the down file, as reports show paths
    result: str  # WRITTEN | SKIPPED (a file was there: kept) | STUB (nothing could be drafted: says why)
    ready: bool = False  # written without the DRAFT line: rollback runs it as it is
    statements: int = 0
    reviews: list[str] = field(default_factory=list)
    reason: str | None = None  # why it was skipped, or why it is a stub
    text: str = field(default="", repr=False)  # what was (or, in a dry run, would be) written

    def as_dict(self) -> dict[str, object]:
        return {
            "tag": self.tag,
            "file": self.file,
            "result": self.result,
            "ready": self.ready,
            "statements": self.statements,
            "reviews": self.reviews,
            "reason": self.reason,
        }


@dataclass
class DraftOutcome:
    workspace: Workspace
    rollback_dir: str
    files: list[DraftedFile]  # newest first, the order rollback would run them
    dry_run: bool = False


@dataclass(frozen=True)
class Pair:
    """The two snapshots a migration's SQL was generated from, as version-7 documents."""

    before: dict[str, Any]
    after: dict[str, Any]
    previous_tag: str | None


# -- which migrations ---------------------------------------------------------------------------------


def select(migrations: Sequence[Migration], choice: RollbackChoice) -> list[Migration]:
    """The migrations whose down files to draft, newest first: the newest ``steps`` (default 1), those after
    ``to`` (``to`` itself stays), or all of them."""
    choice.check()
    steps, to, all_ = choice.steps, choice.to, choice.all
    newest_first = list(reversed(migrations))
    if to is not None:
        tags = [m.tag for m in migrations]
        if to not in tags:
            known = ", ".join(tags[-3:]) or "none"
            raise UserError(f"--to {to}: no migration has that tag (newest: {known}); check the tag")
        return newest_first[: len(migrations) - 1 - tags.index(to)]
    if all_:
        return newest_first
    count = steps if steps is not None else 1
    if count > len(migrations):
        raise UserError(
            f"--steps {count}: the workspace has only {len(migrations)} migration(s); "
            "use --all to draft the down file of every one"
        )
    return newest_first[:count]


# -- each migration's snapshot pair -------------------------------------------------------------------


def expected_snapshot(workspace: Workspace, migration: Migration) -> Path:
    """Where the migration's snapshot belongs (named in a stub when it is missing)."""
    if workspace.layout == FOLDERS:
        return migration.sql_path.parent / "snapshot.json"
    return workspace.migrations_dir / "meta" / snapshot_file_name(migration.tag)


class _Snapshots:
    """Each migration's snapshot, read at most once; a missing or unreadable one is a reason, not an error."""

    def __init__(self, workspace: Workspace, base: Path) -> None:
        self.workspace = workspace
        self.base = base
        self._read: dict[str, dict[str, Any] | str] = {}

    def shown(self, migration: Migration) -> str:
        return display_path(expected_snapshot(self.workspace, migration), self.base)

    def get(self, migration: Migration) -> dict[str, Any] | str:
        """The snapshot, or why there is none to read."""
        if migration.tag not in self._read:
            if migration.snapshot_path is None:
                self._read[migration.tag] = f"{self.shown(migration)} is missing"
            else:
                try:
                    self._read[migration.tag] = migration.snapshot()
                except UserError as exc:
                    self._read[migration.tag] = exc.message
        return self._read[migration.tag]


def _journal_pair(migrations: Sequence[Migration], index: int, snapshots: _Snapshots) -> Pair | str:
    """0.31: the migration's snapshot and the one its `prevId` names (drizzle-kit diffed against it)."""
    migration = migrations[index]
    after = snapshots.get(migration)
    if isinstance(after, str):
        return f"its snapshot {after}"
    parent = after.get("prevId")
    if parent == ZERO_UUID or (parent is None and index == 0):
        return Pair({}, after, None)
    missing: list[str] = []
    for earlier in reversed(migrations[:index]):  # the one just before is nearly always it
        snapshot = snapshots.get(earlier)
        if isinstance(snapshot, str):
            missing.append(snapshot)
            continue
        if parent is None and not missing:  # no prevId (an old snapshot): the one just before it, or none
            return Pair(snapshot, after, earlier.tag)
        if parent is not None and snapshot.get("id") == parent:
            return Pair(snapshot, after, earlier.tag)
    if missing:
        return f"the snapshot it was generated against is not there ({missing[0]})"
    return (
        f"its prevId {parent} is the id of no earlier snapshot (the snapshot chain is broken), "
        "so the schema it was generated against is unknown"
    )


def _folded(snapshots: Sequence[tuple[str, Any]], head: str, renames: Any = None) -> dict[str, Any]:
    """The schema at snapshot ``head``, version-7-shaped; ``renames``: the deltas whose renames go to ``_meta``."""
    from drizzle_ops.down_draft.v1_rows import rename_meta, snapshot_from_rows
    from drizzle_ops.verify.snapshot_v1 import parse_key
    from drizzle_ops.verify.v1_history import fold

    found = []
    for delta in renames or ():
        if isinstance(delta, dict) and delta.get("op") == "rename" and isinstance(delta.get("set"), dict):
            entity, identity = parse_key(delta.get("key"), head)
            found.append((entity, identity, delta["set"]))
    return snapshot_from_rows(fold(snapshots, head), rename_meta(found))


def _folder_pair(migrations: Sequence[Migration], index: int, snapshots: _Snapshots) -> Pair | str:
    """v1: the schema at the migration's snapshot and at its parent's, each folded from the base snapshot."""
    migration = migrations[index]
    after = snapshots.get(migration)
    if isinstance(after, str):
        return f"its snapshot {after}"
    parents = [p for p in after.get("prevIds") or [] if p != ZERO_UUID]
    if len(parents) > 1:
        return (
            f"it merges {len(parents)} branches, and drizzle-kit diffed it against their combined schema, "
            "which this draft does not rebuild"
        )
    readable: list[tuple[str, Any]] = []
    by_id: dict[Any, Migration] = {}
    unreadable: list[str] = []
    for earlier in migrations[: index + 1]:
        snapshot = snapshots.get(earlier)
        if isinstance(snapshot, str):
            unreadable.append(snapshot)
            continue
        readable.append((str(earlier.snapshot_path), snapshot))
        by_id[snapshot.get("id")] = earlier
    try:
        after_schema = _folded(readable, str(after.get("id")), after.get("deltas"))
        if not parents:
            return Pair({}, after_schema, None)
        if parents[0] not in by_id:
            shown = unreadable[0] if unreadable else f"no folder has snapshot {parents[0]}"
            return f"the snapshot it was generated against is not there ({shown})"
        return Pair(_folded(readable, parents[0]), after_schema, by_id[parents[0]].tag)
    except UserError as exc:
        return f"its snapshots cannot be folded: {exc.message}"


def snapshot_pair(workspace: Workspace, index: int, snapshots: _Snapshots) -> Pair | str:
    if workspace.layout == FOLDERS:
        return _folder_pair(workspace.migrations, index, snapshots)
    return _journal_pair(workspace.migrations, index, snapshots)


# -- one draft ----------------------------------------------------------------------------------------


def draft_for(migration: Migration, pair: Pair | str) -> Draft:
    """The down file of one migration: ready, a draft with REVIEW notes, or a stub that says why."""
    from drizzle_ops.verify.migration_sql import check_sql, runs_anything

    if isinstance(pair, str):
        return stub_down([f"no draft for {migration.tag}: {pair}; write the down SQL by hand"], tag=migration.tag)
    probe = draft_down(pair.before, pair.after, tag=migration.tag, previous_tag=pair.previous_tag)
    if probe.identical:
        if not runs_anything(migration.statements):
            return nothing_to_undo(tag=migration.tag, previous_tag=pair.previous_tag)
        since = f"{pair.previous_tag}'s" if pair.previous_tag else "an empty schema"
        what = check_sql(migration.statements, pair.before, pair.after).unexplained
        return stub_down(
            [
                f"{migration.tag}'s snapshot equals {since}, yet its SQL runs {len(migration.statements)} "
                "statement(s): hand-written SQL (`generate --custom`?) that the snapshots do not show, so "
                "nothing could be drafted; write the statements that undo it by hand",
                *(f"to undo: {u}" for u in what),
            ],
            tag=migration.tag,
        )
    check = check_sql(migration.statements, pair.before, pair.after)
    notes = [
        f"{migration.tag}'s {u}, which the snapshots do not show: this draft does not undo it"
        for u in check.unexplained
    ]
    notes += [
        f"the snapshot of {migration.tag} has {what}, but its SQL never creates it: this draft drops it all the "
        "same; check that it is really this migration's"
        for what in check.never_created
    ]
    return draft_down(
        pair.before,
        pair.after,
        tag=migration.tag,
        previous_tag=pair.previous_tag,
        author=ROLLBACK_DRAFT,
        notes=notes,
        ready=True,
    )


def _write(path: Path, text: str, shown: str) -> bool:
    """Write a new file; False when one is there already (never written over)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        return False
    except OSError as exc:
        raise OperationFailed(f"cannot write the down draft {shown}: {exc.strerror}; check --rollback-dir") from None
    return True


def draft_downs(
    settings: Settings, choice: RollbackChoice, *, dry_run: bool = False, log: Log | None = None
) -> DraftOutcome:
    """Draft the down files of the chosen migrations into the rollback folder. Opens no connection."""
    from drizzle_ops.engine.rollback import down_path

    choice.check()  # bad flags are bad input: say so before reading anything
    workspace = read_workspace(settings, log)
    base = settings.project_root
    chosen = select(workspace.migrations, choice)
    position = {m.tag: i for i, m in enumerate(workspace.migrations)}
    snapshots = _Snapshots(workspace, base)
    files: list[DraftedFile] = []
    for migration in chosen:
        path = down_path(settings.rollback_dir, migration.tag)
        shown = display_path(path, base)
        kept = DraftedFile(migration.tag, shown, SKIPPED, reason=f"{shown} exists; it is never written over")
        if path.exists():
            files.append(kept)
        else:
            draft = draft_for(migration, snapshot_pair(workspace, position[migration.tag], snapshots))
            if not dry_run and not _write(path, draft.text, shown):  # it appeared meanwhile
                files.append(kept)
            else:
                ready = not draft.marked
                result = STUB if draft.statements == 0 and not ready else WRITTEN
                files.append(
                    DraftedFile(
                        migration.tag,
                        shown,
                        result,
                        ready=ready,
                        statements=draft.statements,
                        reviews=draft.reviews,
                        reason=draft.reviews[0] if result == STUB and draft.reviews else None,
                        text=draft.text,
                    )
                )
    return DraftOutcome(workspace, display_path(settings.rollback_dir, base), files, dry_run=dry_run)
