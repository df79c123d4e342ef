"""`status`: each migration's state on the target."""

from __future__ import annotations

from dataclasses import dataclass, field

from drizzle_ops.context.connect import connect
from drizzle_ops.context.request import Request
from drizzle_ops.engine import runner
from drizzle_ops.engine.states import Entry, MigrationState, not_in_journal
from drizzle_ops.engine.transactionality import Mode, mode_of
from drizzle_ops.engine.workspace import Workspace


@dataclass
class StatusOutcome:
    workspace: Workspace
    database: str
    entries: list[Entry]
    # migrations still to apply that will not run as one transaction of ours: tag -> how they run
    modes: dict[str, Mode] = field(default_factory=dict)


def status(ctx: Request) -> StatusOutcome:
    workspace = ctx.workspace
    with connect(ctx) as c:
        entries = runner.status(c.conn, workspace) + not_in_journal(workspace.not_in_journal)
    by_tag = {m.tag: m for m in workspace.migrations}
    modes: dict[str, Mode] = {}
    for entry in entries:  # only what is still to apply: an applied file's SQL is never read again
        if entry.tag in by_tag and entry.state in (MigrationState.PENDING, MigrationState.OUT_OF_ORDER):
            mode = mode_of(by_tag[entry.tag])
            if mode is not Mode.TRANSACTION:
                modes[entry.tag] = mode
    return StatusOutcome(workspace, c.database, entries, modes)
