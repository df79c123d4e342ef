"""`inv repair`: record the current hash of a migration whose file was edited on purpose.

drizzle stores only a sha256 of each applied file, never its text. To show what
changed we look for the applied version in git history: the version of the file
whose sha256 equals the recorded hash. Without git (or without that version)
the old and new hashes are all we can show.
"""

from __future__ import annotations

import difflib
import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg

from drizzle_ops.engine import bookkeeping
from drizzle_ops.engine.states import Entry, MigrationState
from drizzle_ops.engine.workspace import Migration, Workspace
from drizzle_ops.errors import UserError

GIT_HISTORY_LIMIT = 500  # commits of the file's history to search


@dataclass(frozen=True)
class RecordedVersion:
    source: str  # "git <commit>" or "git index"
    text: str


def _git(args: list[str], cwd: Path) -> bytes | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def find_recorded_version(path: Path, recorded_hash: str) -> RecordedVersion | None:
    """The file's content whose sha256 is ``recorded_hash``, from the git index or history; None if not found."""
    folder = path.resolve().parent
    top = _git(["rev-parse", "--show-toplevel"], folder)
    if top is None:
        return None
    root = Path(top.decode().strip())
    try:
        relative = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None
    candidates: list[tuple[str, str]] = [("git index", f":{relative}")]
    log = _git(["log", f"-n{GIT_HISTORY_LIMIT}", "--format=%H", "--", relative], root)
    candidates += [(f"git {commit[:12]}", f"{commit}:{relative}") for commit in (log or b"").decode().split()]
    for source, spec in candidates:
        blob = _git(["show", spec], root)
        if blob is not None and hashlib.sha256(blob).hexdigest() == recorded_hash:
            try:
                return RecordedVersion(source, blob.decode("utf-8"))
            except UnicodeDecodeError:
                return None
    return None


def unified_diff(old: str, new: str, name: str, source: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"{name} (applied, from {source})",
        tofile=f"{name} (now)",
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


@dataclass
class RepairPlan:
    migration: Migration
    row_id: int
    old_hash: str
    new_hash: str
    recorded: RecordedVersion | None  # the applied version, when git history has it
    diff: str | None
    done: bool = False


def plan_repair(workspace: Workspace, entries: list[Entry], tag: str, display: str) -> RepairPlan | None:
    """What repair would change for ``tag``; None when its recorded hash already matches the file."""
    migration = workspace.by_tag(tag)
    entry = next(e for e in entries if e.tag == tag)
    if entry.state is MigrationState.APPLIED:
        return None
    if entry.state is not MigrationState.MODIFIED or entry.row is None:
        raise UserError(
            f"{tag} is {entry.state.value}, not applied: there is no recorded hash to repair; "
            "apply it with `inv migrate`"
        )
    recorded = find_recorded_version(migration.sql_path, entry.row.hash)
    diff = unified_diff(recorded.text, migration.text, display, recorded.source) if recorded else None
    return RepairPlan(migration, entry.row.id, entry.row.hash, migration.hash, recorded, diff)


def record_hash(conn: psycopg.Connection, workspace: Workspace, plan: RepairPlan) -> None:
    """Update the one bookkeeping row in a transaction; it must still hold the hash we showed."""
    with conn.transaction():
        bookkeeping.update_applied_hash(
            conn, workspace.migrations_schema, workspace.migrations_table, plan.row_id, plan.old_hash, plan.new_hash
        )
    plan.done = True
