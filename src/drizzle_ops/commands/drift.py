"""`drift` (and `status --schema`): files against rows, and the live schema against the applied head's snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from drizzle_ops.context.accepted import accepted_file
from drizzle_ops.context.connect import connect
from drizzle_ops.context.request import Request
from drizzle_ops.engine import runner
from drizzle_ops.engine.states import Entry, not_in_journal
from drizzle_ops.engine.workspace import Workspace

if TYPE_CHECKING:
    from drizzle_ops.verify.conformance import Conformance


@dataclass
class DriftOutcome:
    workspace: Workspace
    database: str
    entries: list[Entry]
    conformance: Conformance
    accepted_file: str  # the accepted-differences file as messages name it


def drift(ctx: Request) -> DriftOutcome:
    """Reads only."""
    from drizzle_ops.verify.conformance import applied_head, check_conformance

    workspace = ctx.workspace
    accepted = accepted_file(ctx.settings)
    with connect(ctx) as c:
        entries = runner.status(c.conn, workspace)
        conformance = check_conformance(c.conn, workspace, applied_head(workspace, entries), accepted.entries)
        entries += not_in_journal(workspace.not_in_journal)
        return DriftOutcome(workspace, c.database, entries, conformance, accepted.shown)
