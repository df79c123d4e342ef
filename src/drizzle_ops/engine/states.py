"""Decide each migration's state from files and bookkeeping rows. Pure: no I/O.

drizzle-kit 0.31 records a migration as (hash, created_at = journal `when`) and
treats a file as pending only when its `when` is newer than the newest recorded
row. We match rows to files by `when` (and by hash where two entries share one),
then say what drizzle would silently get wrong: edited files, skipped older
entries, and rows whose file is gone.

drizzle-kit 1.0 (the folder layout) also records the folder's name and applies
every folder whose name no row has (drizzle-orm's `getMigrationsToRun`, since
1.0.0-beta.16; 1.0.0-beta.15 compared created_at values the same way). An
unapplied folder older than an applied one is therefore applied, after the newer
ones: we do the same, and say so (``--strict`` refuses it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from drizzle_ops.errors import OperationFailed, UserError


class MigrationState(str, Enum):
    APPLIED = "applied"
    PENDING = "pending"
    MODIFIED = "modified"
    OUT_OF_ORDER = "out-of-order"
    MISSING_FILE = "missing-file"
    NOT_IN_JOURNAL = "not-in-journal"  # an SQL file no journal entry lists: shown, never applied, never failing


class MigrationFile(Protocol):
    @property
    def tag(self) -> str: ...
    @property
    def when(self) -> int: ...
    @property
    def hash(self) -> str: ...


@dataclass(frozen=True)
class AppliedRow:
    id: int
    hash: str
    created_at: int | None
    name: str | None = None  # drizzle-kit v1 records the migration's folder name


@dataclass(frozen=True)
class Entry:
    state: MigrationState
    tag: str | None  # None for a row with no file
    when: int | None
    file_hash: str | None
    row: AppliedRow | None
    by_name: bool = False  # drizzle-kit 1.0's bookkeeping: an out-of-order entry is one it applies

    @property
    def needs_attention(self) -> bool:
        return self.state is not MigrationState.APPLIED


def compute_status(files: Sequence[MigrationFile], rows: Sequence[AppliedRow], *, by_name: bool = False) -> list[Entry]:
    """One entry per file (in order), then one per row that has no file.

    drizzle-kit 0.31 rows are matched by `when` (its created_at), and a file is
    out of order when its `when` is not newer than the newest row: drizzle
    would skip it. drizzle-kit v1 rows (``by_name``) are matched by name, and a
    file is out of order when a later file is already applied.
    """
    ordered = sorted(rows, key=lambda r: r.id)
    matches = _match_rows(files, ordered, by_name)
    if by_name:
        applied_positions = [i for i, match in enumerate(matches) if match is not None]
        last_applied = max(applied_positions, default=-1)
    newest_applied = max((r.created_at for r in rows if r.created_at is not None), default=None)
    entries: list[Entry] = []
    matched: set[int] = set()
    for position, (f, found) in enumerate(zip(files, matches, strict=True)):
        if found is not None:
            matched.add(found.id)
            state = MigrationState.APPLIED if found.hash == f.hash else MigrationState.MODIFIED
        elif by_name:
            state = MigrationState.OUT_OF_ORDER if position < last_applied else MigrationState.PENDING
        elif newest_applied is not None and f.when <= newest_applied:
            state = MigrationState.OUT_OF_ORDER
        else:
            state = MigrationState.PENDING
        entries.append(Entry(state, f.tag, f.when, f.hash, found, by_name))
    for row in ordered:
        if row.id not in matched:
            entries.append(Entry(MigrationState.MISSING_FILE, None, row.created_at, None, row, by_name))
    return entries


def not_in_journal(names: Sequence[str]) -> list[Entry]:
    """Status entries for SQL files the journal does not list (names without .sql); nothing is read from them."""
    return [Entry(MigrationState.NOT_IN_JOURNAL, name, None, None, None) for name in names]


def drifted(entries: Sequence[Entry]) -> list[Entry]:
    """The entries `--check` fails on besides pending ones: not-in-journal is a warning, never a failure."""
    return [
        e
        for e in entries
        if e.state not in (MigrationState.APPLIED, MigrationState.PENDING, MigrationState.NOT_IN_JOURNAL)
    ]


def _match_rows(
    files: Sequence[MigrationFile], ordered: Sequence[AppliedRow], by_name: bool
) -> list[AppliedRow | None]:
    """Each file's row: by name (v1) or by `when` (0.31), each row used once.

    Two journal entries may share a `when` (drizzle-kit applies both to an empty
    database), so among rows with that `when` the one with the file's hash wins.
    A v1 row without a name (written by 1.0.0-beta.15 and older, before the table
    had names) is matched by the second of its created_at, then by hash, as
    drizzle-orm matches such rows when it adds the name column.
    """
    candidates: dict[object, list[AppliedRow]] = {}
    for row in ordered:
        if by_name and row.name is None:
            if row.created_at is not None:
                candidates.setdefault(_second(row.created_at), []).append(row)
            candidates.setdefault(("hash", row.hash), []).append(row)
        else:
            candidates.setdefault(row.name if by_name else row.created_at, []).append(row)
    keys = [f.tag if by_name else f.when for f in files]
    matches: list[AppliedRow | None] = [None] * len(files)
    used: set[int] = set()
    for same_hash in (True, False):
        for position, (f, key) in enumerate(zip(files, keys, strict=True)):
            if matches[position] is not None:
                continue
            nameless = [*candidates.get(_second(f.when), []), *candidates.get(("hash", f.hash), [])] if by_name else []
            for row in [*candidates.get(key, ()), *nameless]:
                if row.id not in used and (row.hash == f.hash or not same_hash):
                    matches[position] = row
                    used.add(row.id)
                    break
    return matches


def _second(millis: int) -> tuple[str, int]:
    """A key apart from names and `when`s: the created_at cut to its second (a v1 folder name has seconds)."""
    return ("second", millis // 1000 * 1000)


def _listed(tags: Sequence[str]) -> str:
    return ", ".join(tags[:3]) + (f" and {len(tags) - 3} more" if len(tags) > 3 else "")


def _newest_applied(entries: Sequence[Entry]) -> str:
    """The last file in workspace order that has a row."""
    return next((e.tag for e in reversed(entries) if e.tag and e.row is not None), "?")


def _journal_order_note(entries: Sequence[Entry]) -> str:
    """Why an out-of-order entry may still be in journal order: its `when` went backwards in the journal."""
    files = [e for e in entries if e.tag is not None]
    last_applied = max((i for i, e in enumerate(files) if e.row is not None), default=-1)
    late = [i for i, e in enumerate(files) if e.state is MigrationState.OUT_OF_ORDER]
    if late and min(late) > last_applied:
        return (
            "; it comes after every applied migration in the journal (its `when` goes backwards there, "
            "as after a branch merge), so applying it keeps journal order, as drizzle-kit does on an empty database"
        )
    return ""


@dataclass(frozen=True)
class MigratePlan:
    to_apply: list[str]  # tags, in journal order
    warnings: list[str]


@dataclass(frozen=True)
class PlanOptions:
    """The flags that decide what `migrate` applies."""

    to: str | None = None  # stop after this tag
    allow_out_of_order: bool = False
    allow_modified: bool = False
    strict: bool = False  # v1: an older unapplied folder is refused instead of applied with a warning


EVERYTHING_PENDING = PlanOptions()  # no flag: every pending migration


def plan_migrate(entries: Sequence[Entry], options: PlanOptions = EVERYTHING_PENDING) -> MigratePlan:
    """Choose what `migrate` applies, or refuse with the reason and the way out.

    An out-of-order entry of the 0.31 layout needs ``allow_out_of_order`` (drizzle-kit
    would skip it). One of the v1 layout is applied, as drizzle-kit 1.0 applies it,
    with a warning naming it; ``strict`` refuses it unless ``allow_out_of_order``.
    """
    to, allow_out_of_order = options.to, options.allow_out_of_order
    tags = [e.tag for e in entries if e.tag is not None]
    if to is not None and to not in tags:
        raise UserError(f"--to {to}: no such migration in the journal (latest is {tags[-1] if tags else 'none'})")
    warnings: list[str] = []
    modified = [e.tag for e in entries if e.state is MigrationState.MODIFIED]
    if modified and not options.allow_modified:
        raise UserError(
            f"{', '.join(t for t in modified if t)} changed after being applied (hash differs); "
            "restore the file, or record the new hash with `inv repair`, or pass --allow-modified"
        )
    late = [e.tag for e in entries if e.state is MigrationState.OUT_OF_ORDER and not e.by_name]
    if late and not allow_out_of_order:
        raise UserError(
            f"{', '.join(t for t in late if t)} not applied but older than the newest applied migration "
            f"(drizzle would skip it silently){_journal_order_note(entries)}; check it, then pass "
            "--allow-out-of-order to apply it"
        )
    orphans = [e for e in entries if e.state is MigrationState.MISSING_FILE]
    if orphans:
        warnings.append(
            f"{len(orphans)} applied migration(s) have no file in this workspace "
            "(the database is ahead of this checkout?)"
        )
    to_apply: list[str] = []
    for entry in entries:
        if entry.tag is None:
            continue
        applies_late = entry.state is MigrationState.OUT_OF_ORDER and (allow_out_of_order or entry.by_name)
        if entry.state is MigrationState.PENDING or applies_late:
            to_apply.append(entry.tag)
        if entry.tag == to:
            break
    late_by_name = [
        e.tag for e in entries if e.state is MigrationState.OUT_OF_ORDER and e.by_name and e.tag in to_apply
    ]
    if late_by_name:
        newest = _newest_applied(entries)
        if options.strict and not allow_out_of_order:
            raise OperationFailed(
                f"{_listed(late_by_name)} not applied but older than the newest applied migration {newest}: "
                "drizzle-kit 1.0 applies it (it decides by name), after the newer ones; check it, then pass "
                "--allow-out-of-order to apply it (--strict turns warnings into failures)"
            )
        warnings.insert(
            0,
            f"applying {_listed(late_by_name)}, older than the newest applied migration {newest}, as drizzle-kit "
            "1.0 does (it decides by name): it runs after the newer ones here; --strict refuses this",
        )
    return MigratePlan(to_apply=to_apply, warnings=warnings)
