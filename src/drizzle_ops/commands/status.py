"""`status`: each migration's state on the target."""

from __future__ import annotations

from dataclasses import dataclass

from drizzle_ops.context.connect import connect
from drizzle_ops.context.request import Context
from drizzle_ops.engine import runner
from drizzle_ops.engine.plan import Entry, not_in_journal
from drizzle_ops.engine.workspace import Workspace


@dataclass
class StatusOutcome:
    workspace: Workspace
    database: str
    entries: list[Entry]


def status(ctx: Context) -> StatusOutcome:
    workspace = ctx.workspace
    with connect(ctx) as c:
        entries = runner.status(c.conn, workspace) + not_in_journal(workspace.not_in_journal)
        return StatusOutcome(workspace, c.database, entries)
