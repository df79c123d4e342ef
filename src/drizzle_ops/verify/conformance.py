"""Snapshot conformance: does the live schema match the Drizzle snapshot of the applied head?

Read-only in effect: everything happens in one transaction that is always
rolled back (the scratch tables canonical.py may create go with it).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import psycopg

from drizzle_ops.engine.bookkeeping import progress_table_name
from drizzle_ops.engine.states import Entry, MigrationState
from drizzle_ops.engine.workspace import FOLDERS, Migration, Workspace
from drizzle_ops.verify.accepted import line_for
from drizzle_ops.verify.canonical import Canonicalizer
from drizzle_ops.verify.catalog import read_catalog
from drizzle_ops.verify.compare import Difference, compare
from drizzle_ops.verify.model import Schema
from drizzle_ops.verify.snapshot import from_snapshot
from drizzle_ops.verify.v1_history import VERSIONS, Expected, LostSnapshot, expected_at, expected_v1

CHECK_ID = "snapshot-conformance"
SNAPSHOT_VERSION = "7"  # what drizzle-kit 0.21 to 0.31 write, and what from_snapshot reads


@dataclass
class Conformance:
    head: str | None  # tag whose snapshot was compared; None: nothing applied, so the schema should be empty
    differences: list[Difference]  # the failing ones (not accepted): what makes `ok` false
    tables: int  # how many tables the snapshot describes
    warnings: list[Difference] = field(default_factory=list)  # said, never failing (e.g. enum order)
    accepted: list[Difference] = field(default_factory=list)  # failing, but listed as accepted
    stale: list[str] = field(default_factory=list)  # accepted lines that no difference matches any more
    skipped: str | None = None  # why nothing was compared, e.g. "no snapshot for 0008_custom"
    merged: list[str] = field(default_factory=list)  # v1: other open branches' heads, merged into head's schema

    @property
    def ok(self) -> bool:
        return not self.differences


def applied_head(workspace: Workspace, entries: Sequence[Entry]) -> Migration | None:
    """The newest applied migration in journal order (its snapshot describes the whole schema)."""
    recorded = {e.tag for e in entries if e.tag and e.state in (MigrationState.APPLIED, MigrationState.MODIFIED)}
    head = None
    for migration in workspace.migrations:
        if migration.tag in recorded:
            head = migration
    return head


def expected_schema(workspace: Workspace, migration: Migration | None) -> Schema:
    """The schema ``migration``'s snapshot describes (an empty one for None).

    A drizzle-kit 0.31 snapshot (v7) holds the whole schema; a v1 one (the folder
    layout) is read with every open branch up to it merged in (v1_history.py).
    """
    if migration is None:
        return from_snapshot({})
    if workspace.layout == FOLDERS:
        return expected_v1(workspace, migration)
    snapshot = migration.snapshot()
    if _is_v1(workspace, snapshot):
        return expected_v1(workspace, migration)
    return from_snapshot(snapshot, str(migration.snapshot_path))


def _is_v1(workspace: Workspace, snapshot: dict[str, object]) -> bool:
    v1 = snapshot.get("version") in VERSIONS or snapshot.get("type") in ("base", "diff")
    return workspace.layout == FOLDERS or v1


def outdated_snapshot(workspace: Workspace, head: Migration) -> str | None:
    """Why ``head``'s snapshot is one conformance cannot read: written by a drizzle-kit older than 0.21 (v5, v6).

    drizzle-kit's own migrate never reads it, and 0.31's `up` cannot always upgrade it,
    so the comparison is skipped rather than the history refused.
    """
    if workspace.layout == FOLDERS:
        return None  # v1 versions are checked while folding: each file is named where it is read
    snapshot = head.snapshot()
    version = snapshot.get("version")
    if _is_v1(workspace, snapshot) or version == SNAPSHOT_VERSION:
        return None
    return f"the snapshot of {head.tag} is version {version}, from an older drizzle-kit (`drizzle-kit up` upgrades it)"


def _has_snapshot(migration: Migration) -> bool:
    path = migration.snapshot_path
    return path is not None and path.is_file()


def missing_snapshot(workspace: Workspace, head: Migration | None) -> Migration | None:
    """The migration whose lost snapshot stops a comparison with ``head``'s, or None when nothing is missing.

    A 0.31 snapshot holds the whole schema, so only the head's own counts. In the
    v1 layout a folder without snapshot.json is no part of drizzle-kit's snapshots:
    the newest snapshot before it describes the schema, so only a history with no
    snapshot up to ``head`` misses one (a snapshot that another one names and that
    is gone is found while folding, see ``_v1_expected``).
    """
    if head is None:
        return None
    if workspace.layout == FOLDERS:
        position = workspace.migrations.index(head)
        return None if any(_has_snapshot(m) for m in workspace.migrations[: position + 1]) else head
    return None if _has_snapshot(head) else head


def _v1_expected(workspace: Workspace, head: Migration) -> Expected | str:
    """The v1 schema up to ``head``, or why it cannot be folded: a snapshot names a parent whose file is lost."""
    try:
        expected = expected_at(workspace, head)
    except LostSnapshot as exc:
        naming = next((i for i, m in enumerate(workspace.migrations) if str(m.snapshot_path) == exc.source), 0)
        lost = [m for m in workspace.migrations[:naming] if not _has_snapshot(m)]
        if not lost:
            raise
        return f"no snapshot for {lost[-1].tag}"  # the newest folder before it without one: the likeliest loss
    return expected if expected is not None else f"no snapshot for {head.tag}"


def check_conformance(
    conn: psycopg.Connection,
    workspace: Workspace,
    head: Migration | None,
    accepted: Collection[str] | None = None,
) -> Conformance:
    """Compare the database with ``head``'s snapshot (or with an empty schema when ``head`` is None).

    ``accepted`` holds difference lines (``str(Difference)``, see accepted.py) that
    do not fail; those no difference matches come back as ``stale``. Without a
    snapshot to compare with, the result is skipped (and ok).
    """
    lost = missing_snapshot(workspace, head)
    if head is not None and lost is not None:
        return Conformance(head.tag, [], 0, skipped=f"no snapshot for {lost.tag}")
    outdated = outdated_snapshot(workspace, head) if head is not None else None
    if head is not None and outdated:
        return Conformance(head.tag, [], 0, skipped=outdated)
    described, merged = head, list[str]()
    if head is not None and workspace.layout == FOLDERS:
        folded = _v1_expected(workspace, head)
        if isinstance(folded, str):
            return Conformance(head.tag, [], 0, skipped=folded)
        expected, described, merged = folded.schema, folded.head, [m.tag for m in folded.merged]
    else:
        expected = expected_schema(workspace, head)
    with conn.transaction(force_rollback=True):
        row = conn.execute("select current_setting('search_path')").fetchone()
        parse_path = row[0] if row else "public"
        # one spelling for every user type and function, whatever the session's search_path
        conn.execute("select set_config('search_path', 'pg_catalog', true)")
        actual = read_catalog(conn)
        _drop_bookkeeping(actual, expected, workspace)
        found = compare(expected, actual, Canonicalizer(conn, parse_path))
    lines = {line_for(a) for a in accepted or ()}
    failing = [d for d in found if d.failing]
    result = Conformance(
        described.tag if described else None,
        [d for d in failing if line_for(str(d)) not in lines],
        len(expected.tables),
        warnings=[d for d in found if not d.failing],
        accepted=[d for d in failing if line_for(str(d)) in lines],
        merged=merged,
    )
    seen = {line_for(str(d)) for d in failing}
    result.stale = list(dict.fromkeys(line_for(a) for a in accepted or () if line_for(a) not in seen))
    return result


def stale_note(stale: Sequence[str], accepted_file: str) -> str:
    """The warning for accepted lines that no longer occur."""
    return f"accepted but no longer seen: {'; '.join(stale)}; remove them from {accepted_file}"


def report_lines(result: Conformance, accepted_file: str) -> list[str]:
    """Every difference, accepted difference and warning of ``result``, one line each, failing ones first."""
    lines = [str(d) for d in result.differences]
    lines += [f"accepted: {d}" for d in result.accepted]
    lines += [f"warning: {w}" for w in result.warnings]
    if result.stale:
        lines.append(f"warning: {stale_note(result.stale, accepted_file)}")
    return lines


def _drop_bookkeeping(actual: Schema, expected: Schema, workspace: Workspace) -> None:
    """Ours, not the schema's: the bookkeeping table, and the progress table of a batch migration still running."""
    schema, table = workspace.migrations_schema, workspace.migrations_table
    actual.tables.pop((schema, table), None)
    actual.tables.pop((schema, progress_table_name(table)), None)
    if schema not in expected.schemas:
        actual.schemas.discard(schema)
