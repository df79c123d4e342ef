"""The migrations `lint --fix` adds after a fixed one: made by the workspace's own drizzle-kit, snapshots kept true.

A column added with a volatile DEFAULT is fixed as ADD COLUMN and SET DEFAULT (lint/fix/rewrites.py), followed by
a batched backfill per column and, for a column declared NOT NULL, a migration that proves and sets the NOT NULL
(lint/fix/follow_ups.py writes their SQL). Each of them is made by `drizzle-kit generate --custom`
(new_migration.py: generate_custom), which writes the journal entry or folder and a snapshot that copies the newest
one, exactly as the installed drizzle-kit writes them; only the SQL file is ours.

The snapshots must then describe the catalog after each migration (`migrate --verify` compares them, and the next
`drizzle-kit generate` diffs against the newest): a column whose NOT NULL moved to a later migration is nullable
in the fixed migration's snapshot and in the backfills', and NOT NULL from the migration that sets it, as the
original snapshot had it. Those snapshots are all unapplied: the fixed migration's own (lint --fix changes only
what no database has applied), and the ones drizzle-kit just wrote. In drizzle-kit 0.31 a snapshot is the whole
schema, so the column's `notNull` is set in each; in 1.0 a snapshot holds the changes since its parent, so the
fixed migration's `create` of the column says nullable and the NOT NULL migration gets the `alter` delta and the
footprint drizzle-kit itself writes for `.notNull()` on an existing column.

Nothing is left half done: if drizzle-kit fails, or a write does, every file is put back as it was.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from drizzle_ops.drizzle_kit.new_migration import generate_custom
from drizzle_ops.engine.rollback import down_path
from drizzle_ops.engine.workspace import FOLDERS, Migration, Workspace, folder_millis
from drizzle_ops.errors import OperationFailed
from drizzle_ops.lint.fix import FileFix, FollowUp
from drizzle_ops.lint.fix.fixer import unified_diff
from drizzle_ops.lint.fix.follow_ups import Column, shown
from drizzle_ops.paths import display_path

_JOURNAL_VERSIONS = ("5", "6", "7")  # drizzle-kit 0.2x-0.31: each snapshot is the whole schema
_FOLDER_VERSION = "9"  # drizzle-kit 1.0.0-rc.5 on: a snapshot holds its deltas since its parent
_COLUMNS = "columns"


@dataclass
class Added:
    """A migration lint --fix adds (or, under --check, would add) after a fixed one."""

    follows: str  # the fixed migration's file, as shown
    follow_up: FollowUp
    file: str  # its SQL file, as shown (under --check: where drizzle-kit would write it)
    tag: str
    down_file: str
    written: bool = False
    down_written: bool = False  # True: this run wrote it; False after a write: one was there already, kept

    @property
    def sql(self) -> str:
        return self.follow_up.sql

    def diff(self) -> str:
        return unified_diff(self.file, None, self.sql)

    def as_dict(self) -> dict[str, Any]:
        return {
            "follows": self.follows,
            "file": self.file,
            "tag": self.tag,
            "name": self.follow_up.name,
            "purpose": self.follow_up.purpose,
            "written": self.written,
            "sql": self.sql,
            "diff": self.diff(),
            "down_file": self.down_file,
            "down_written": self.down_written,
        }


def refusal(workspace: Workspace, migration: Migration) -> str | None:
    """Why no migration can be added right after ``migration`` (None: drizzle-kit generate --custom can)."""
    newest = workspace.migrations[-1]
    if newest.tag != migration.tag:
        where = "sorts after it" if workspace.layout == FOLDERS else "comes after it in the journal"
        return (
            f"the backfill must run right after it, but {newest.tag} {where}, and lint --fix does not reorder "
            "migrations: fix a migration while it is the newest, or write the backfill by hand (ADD COLUMN without "
            "the DEFAULT, SET DEFAULT, then a `-- drizzle-ops: batch` UPDATE in a migration of its own)"
        )
    if migration.snapshot_path is None:
        return "it has no snapshot, which the new migrations' snapshots copy: restore it from version control"
    if workspace.layout != FOLDERS and migration.snapshot_path.name == "_snapshot.json":
        return "with `migrations.prefix: 'none'` every migration shares one snapshot file, which the fix cannot keep"
    version = str(migration.snapshot().get("version"))
    wanted = (_FOLDER_VERSION,) if workspace.layout == FOLDERS else _JOURNAL_VERSIONS
    if version not in wanted:
        return f"its snapshot is version {version}, which lint --fix does not edit; upgrade it with `drizzle-kit up`"
    if workspace.layout != FOLDERS and migration.when >= time.time() * 1000:
        return (
            f"its journal `when` ({migration.when}) is not in the past, so a migration drizzle-kit adds now gets an "
            "earlier one, which drizzle-kit's migrate skips on a database that has applied this migration; check "
            "the machine's clock and the journal"
        )
    return None


def _newest_time(workspace: Workspace) -> int:
    return max((folder_millis(m.tag) or 0) for m in workspace.migrations)


def _predicted_tags(workspace: Workspace, names: Sequence[str]) -> list[str]:
    """The tags drizzle-kit would give the new migrations if run now (its prefix rules; --check runs nothing)."""
    tags: list[str] = []
    if workspace.layout == FOLDERS:
        moment = _newest_time(workspace)
        for name in names:
            moment = max(int(time.time()) * 1000, moment + 1000)
            stamp = datetime.fromtimestamp(moment / 1000, tz=timezone.utc).strftime("%Y%m%d%H%M%S")
            tags.append(f"{stamp}_{name}")
        return tags
    newest = workspace.migrations[-1]
    prefix = newest.tag.split("_")[0]
    for offset, name in enumerate(names, 1):
        if len(prefix) == 4 and prefix.isdigit():  # migrations.prefix 'index', drizzle-kit's default
            tags.append(f"{newest.idx + offset:04d}_{name}")
        else:
            tags.append(f"<prefix>_{name}")
    return tags


def _sql_path(workspace: Workspace, tag: str) -> Path:
    if workspace.layout == FOLDERS:
        return workspace.migrations_dir / tag / "migration.sql"
    return workspace.migrations_dir / f"{tag}.sql"


def planned(workspace: Workspace, fix: FileFix, rollback_dir: Path, base: Path) -> list[Added]:
    """What --check reports: the migrations drizzle-kit would add, under the tags it would give them now."""
    tags = _predicted_tags(workspace, [f.name for f in fix.follow_ups])
    migration = _fixed_migration(workspace, fix, base)
    _snapshot_edits(workspace, migration, fix, None)  # the snapshot must show the columns as the SQL adds them
    return [
        Added(
            fix.path,
            follow_up,
            display_path(_sql_path(workspace, tag), base),
            tag,
            display_path(down_path(rollback_dir, tag), base),
        )
        for follow_up, tag in zip(fix.follow_ups, tags, strict=True)
    ]


def _fixed_migration(workspace: Workspace, fix: FileFix, base: Path) -> Migration:
    for migration in workspace.migrations:
        if display_path(migration.sql_path, base) == fix.path:
            return migration
    raise OperationFailed(f"{fix.path} is not among the workspace's migrations; please report it")


# --- the snapshots ------------------------------------------------------------------------------------------------


def _column_031(snapshot: dict[str, Any], column: Column, shown_path: str) -> dict[str, Any]:
    schema, table, name = column
    tables = snapshot.get("tables")
    found = [
        t
        for t in (tables.values() if isinstance(tables, dict) else ())
        if isinstance(t, dict) and t.get("name") == table and (t.get("schema") or "public") == schema
    ]
    columns = found[0].get("columns") if len(found) == 1 else None
    entry = columns.get(name) if isinstance(columns, dict) else None
    if not isinstance(entry, dict) or not isinstance(entry.get("notNull"), bool):
        raise OperationFailed(
            f"{shown_path} does not show the column {shown(column)} as drizzle-kit writes it, so lint --fix cannot "
            "keep it true to the fixed SQL; nothing was changed: regenerate the snapshot with drizzle-kit"
        )
    return entry


def _created_row(snapshot: dict[str, Any], column: Column, shown_path: str) -> dict[str, Any]:
    """v1: the row of the column the migration creates (a `create` delta, or the base snapshot's ddl)."""
    schema, table, name = column
    rows = [d.get("row") for d in snapshot.get("deltas") or () if isinstance(d, dict) and d.get("op") == "create"]
    rows += list(snapshot.get("ddl") or ())
    found = [
        r
        for r in rows
        if isinstance(r, dict)
        and r.get("entityType") == _COLUMNS
        and (r.get("schema"), r.get("table"), r.get("name")) == (schema, table, name)
    ]
    if len(found) != 1 or not isinstance(found[0].get("notNull"), bool):
        raise OperationFailed(
            f"{shown_path} does not show that its migration creates the column {shown(column)}, so lint --fix cannot "
            "keep it true to the fixed SQL; nothing was changed: regenerate the snapshot with drizzle-kit"
        )
    row: dict[str, Any] = found[0]
    return row


def set_not_null_delta(snapshot: dict[str, Any], column: Column) -> None:
    """v1: what drizzle-kit writes for `.notNull()` on an existing column: the `alter` delta and its footprint."""
    schema, table, name = column
    key = f'"{table}"' if schema == "public" else f'"{schema}"."{table}"'
    statement = f'ALTER TABLE {key} ALTER COLUMN "{name}" SET NOT NULL;'
    snapshot.setdefault("deltas", []).append(
        {
            "op": "alter",
            "key": f"{_COLUMNS}\u0000{json.dumps([schema, table, name], separators=(',', ':'))}",
            "set": {"notNull": True},
        }
    )
    snapshot.setdefault("footprints", []).append(
        {
            "statementType": "alter_column",
            "statementTarget": ["column", schema, table, name],
            "writes": [f"s|colprop|{schema}.{table}.{name}.notNull"],
            "reads": [f"n|tbl|{schema}.{table}", f"n|sch|{schema}", f"n|col|{schema}.{table}.{name}"],
            "sqlHash": hashlib.sha256(statement.encode()).hexdigest()[:16],
        }
    )


def _snapshot_edits(
    workspace: Workspace, migration: Migration, fix: FileFix, added: Sequence[Migration] | None
) -> list[tuple[Path, dict[str, Any]]]:
    """Each snapshot to rewrite, with its new content: the fixed migration's, then the added ones' (``added``, in
    the order of ``fix.follow_ups``; None: the fixed one's only); refused when a snapshot does not show a column."""
    assert migration.snapshot_path is not None
    shown_path = display_path(migration.snapshot_path, workspace.root)
    edits: list[tuple[Path, dict[str, Any]]] = []
    if not fix.relaxed:
        return edits
    fixed = migration.snapshot()
    folders = workspace.layout == FOLDERS
    for column in fix.relaxed:
        entry = _created_row(fixed, column, shown_path) if folders else _column_031(fixed, column, shown_path)
        if entry["notNull"] is not True:
            raise OperationFailed(
                f"{shown_path} shows {shown(column)} nullable, but its SQL adds it NOT NULL; nothing was changed: "
                "regenerate the snapshot with drizzle-kit"
            )
        entry["notNull"] = False
    edits.append((migration.snapshot_path, fixed))
    if added is None:
        return edits
    not_null: set[Column] = set()
    for follow_up, made in zip(fix.follow_ups, added, strict=True):
        if made.snapshot_path is None:
            raise OperationFailed(f"drizzle-kit wrote no snapshot for {made.tag}; please report it")
        snapshot = made.snapshot()
        not_null.update(follow_up.not_null)
        if folders:
            for column in follow_up.not_null:
                set_not_null_delta(snapshot, column)
        else:
            made_path = display_path(made.snapshot_path, workspace.root)
            for column in fix.relaxed:
                _column_031(snapshot, column, made_path)["notNull"] = column in not_null
        edits.append((made.snapshot_path, snapshot))
    return edits


# --- adding them --------------------------------------------------------------------------------------------------


class _Undo:
    """Everything put back as it was: files written over, and files and folders drizzle-kit or we created."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.listing = set(folder.rglob("*"))
        self.saved: dict[Path, bytes | None] = {}

    def keep(self, path: Path) -> None:
        if path not in self.saved:
            self.saved[path] = path.read_bytes() if path.is_file() else None

    def keep_all(self) -> None:
        """The files under the migrations folder drizzle-kit may write over: the journal, a bundle's migrations.js."""
        for path in (self.folder / "meta" / "_journal.json", self.folder / "migrations.js"):
            if path.is_file():
                self.keep(path)

    def __call__(self) -> None:
        for path, data in self.saved.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(data)
        for path in sorted(set(self.folder.rglob("*")) - self.listing, key=lambda p: len(p.parts), reverse=True):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _json(data: dict[str, Any], like: bytes) -> bytes:
    """As drizzle-kit writes a snapshot (JSON.stringify with two spaces), ending as the file it replaces ends."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return (text + ("\n" if like.endswith(b"\n") else "")).encode("utf-8")


def _down_text(added: Added, follows_tag: str) -> str:
    header = f"-- drizzle-ops: down migration for {added.tag}, written by lint --fix.\n"
    if added.follow_up.down:
        return header + added.follow_up.down
    return header + (
        f"-- {added.tag} only fills rows: nothing to undo (the down file of {follows_tag} drops the column).\n"
    )


def add(
    workspace: Workspace,
    fix: FileFix,
    rollback_dir: Path,
    base: Path,
    overrides: dict[str, str | None] | None,
    log: Callable[[str], None] | None = None,
) -> list[Added]:
    """The fixed file written, its follow-up migrations added by drizzle-kit and written, the snapshots made true,
    a down file for each new migration (never over an existing one); on any failure, all of it undone."""
    migration = _fixed_migration(workspace, fix, base)
    _snapshot_edits(workspace, migration, fix, None)  # refuse before anything runs
    undo = _Undo(workspace.migrations_dir)
    undo.keep_all()
    undo.keep(migration.sql_path)
    if migration.snapshot_path is not None:
        undo.keep(migration.snapshot_path)
    added: list[Added] = []
    try:
        made: list[Migration] = []
        for follow_up in fix.follow_ups:
            made.append(generate_custom(workspace.root, overrides, follow_up.name, project_root=base, log=log))
        _check_made(migration, made)
        edits = _snapshot_edits(workspace, migration, fix, made)
        for follow_up, new in zip(fix.follow_ups, made, strict=True):
            new.sql_path.write_bytes(follow_up.sql.encode("utf-8"))
            shown_down = display_path(down_path(rollback_dir, new.tag), base)
            added.append(
                Added(fix.path, follow_up, display_path(new.sql_path, base), new.tag, shown_down, written=True)
            )
        for path, data in edits:
            path.write_bytes(_json(data, path.read_bytes()))
        migration.sql_path.write_bytes(fix.after.encode("utf-8"))
        for one in added:
            path = down_path(rollback_dir, one.tag)
            if path.exists():
                continue
            undo.keep(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("x", encoding="utf-8") as handle:  # "x": never over an existing file
                handle.write(_down_text(one, migration.tag))
            one.down_written = True
    except OSError as exc:
        undo()
        raise OperationFailed(
            f"cannot write the migrations lint --fix adds after {fix.path}: {exc.strerror} ({exc.filename}); "
            "nothing was changed"
        ) from None
    except BaseException:
        undo()
        raise
    return added


def _check_made(migration: Migration, made: Sequence[Migration]) -> None:
    """Each new migration as the fix needs it: newer than the one before (drizzle-kit's migrate applies what is newer
    than the newest applied `when`), and split at its breakpoints (the NOT NULL migration's COMMIT and BEGIN)."""
    previous = migration
    for new in made:
        if not new.breakpoints:
            raise OperationFailed(
                f"drizzle-kit wrote {new.tag} with breakpoints: false (drizzle.config.ts), so it would send the file "
                "as one query, which the fix's COMMIT and BEGIN need split; nothing was changed: set breakpoints: true"
            )
        if new.when <= previous.when:
            raise OperationFailed(
                f"drizzle-kit gave {new.tag} a time ({new.when}) that is not after {previous.tag}'s ({previous.when}), "
                "so its migrate would skip it; nothing was changed: check the machine's clock"
            )
        previous = new
