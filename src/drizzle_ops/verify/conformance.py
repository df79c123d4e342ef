"""Snapshot conformance: does the live schema match the Drizzle snapshot of the applied head?

Read-only in effect: everything happens in one transaction that is always
rolled back (the scratch tables canonical.py may create go with it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from ..plan import Entry, State
from ..workspace import FOLDERS, Migration, Workspace
from .canonical import Canonicalizer
from .catalog import read_catalog
from .compare import Difference, compare
from .model import Schema
from .snapshot import from_snapshot
from .snapshot_v1 import VERSION, expected_v1

CHECK_ID = "snapshot-conformance"


@dataclass
class Conformance:
    head: str | None  # tag whose snapshot was compared; None: nothing applied, so the schema should be empty
    differences: list[Difference]
    tables: int  # how many tables the snapshot describes

    @property
    def ok(self) -> bool:
        return not self.differences


def applied_head(workspace: Workspace, entries: Sequence[Entry]) -> Migration | None:
    """The newest applied migration in journal order (its snapshot describes the whole schema)."""
    recorded = {e.tag for e in entries if e.tag and e.state in (State.APPLIED, State.MODIFIED)}
    head = None
    for migration in workspace.migrations:
        if migration.tag in recorded:
            head = migration
    return head


def expected_schema(workspace: Workspace, migration: Migration | None) -> Schema:
    """The schema ``migration``'s snapshot describes (an empty one for None).

    A drizzle-kit 0.31 snapshot (v7) holds the whole schema; a v1 snapshot (version
    "9", the folder layout) holds a diff, folded from the base through every parent.
    """
    if migration is None:
        return from_snapshot({})
    snapshot = migration.snapshot()
    if workspace.layout == FOLDERS or snapshot.get("version") == VERSION or snapshot.get("type") in ("base", "diff"):
        return expected_v1(workspace, migration)
    return from_snapshot(snapshot, str(migration.snapshot_path))


def check_conformance(conn: psycopg.Connection, workspace: Workspace, head: Migration | None) -> Conformance:
    """Compare the database with ``head``'s snapshot (or with an empty schema when ``head`` is None)."""
    expected = expected_schema(workspace, head)
    with conn.transaction(force_rollback=True):
        row = conn.execute("select current_setting('search_path')").fetchone()
        parse_path = row[0] if row else "public"
        # one spelling for every user type and function, whatever the session's search_path
        conn.execute("select set_config('search_path', 'pg_catalog', true)")
        actual = read_catalog(conn)
        _drop_bookkeeping(actual, expected, workspace)
        differences = compare(expected, actual, Canonicalizer(conn, parse_path))
    return Conformance(head.tag if head else None, differences, len(expected.tables))


def _drop_bookkeeping(actual: Schema, expected: Schema, workspace: Workspace) -> None:
    schema, table = workspace.migrations_schema, workspace.migrations_table
    actual.tables.pop((schema, table), None)
    if schema not in expected.schemas:
        actual.schemas.discard(schema)
