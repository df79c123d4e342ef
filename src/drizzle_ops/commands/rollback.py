"""`rollback`: undo applied migrations newest first with their down files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from drizzle_ops.context.accepted import accepted_file
from drizzle_ops.context.connect import connect
from drizzle_ops.context.request import Request
from drizzle_ops.engine import runner
from drizzle_ops.engine.states import Entry
from drizzle_ops.engine.workspace import Workspace

if TYPE_CHECKING:
    from drizzle_ops.engine.rollback import RollbackProgress, RollbackResult


@dataclass
class RollbackOutcome:
    workspace: Workspace
    database: str
    result: RollbackResult
    entries: list[Entry]


def rollback(
    ctx: Request,
    *,
    steps: int | None = None,
    to: str | None = None,
    all_: bool = False,
    dry_run: bool = False,
    verify: bool = False,
    progress: RollbackProgress | None = None,
) -> RollbackOutcome:
    from drizzle_ops.engine import rollback as engine

    workspace, settings = ctx.workspace, ctx.settings
    engine.plan_rollback([], steps=steps, to=to, all_=all_)  # bad flags are bad input: say so before connecting
    if to is not None:
        workspace.by_tag(to)
    if not dry_run:
        ctx.confirm("rollback")
    step_verifier = None
    if verify and not dry_run:
        from drizzle_ops.verify.after_rollback import verifier

        step_verifier = verifier(workspace, accepted=accepted_file(settings).entries, log=ctx.log)
    with connect(ctx) as c:
        result = engine.rollback(
            c.conn,
            workspace,
            settings.rollback_dir,
            steps=steps,
            to=to,
            all_=all_,
            dry_run=dry_run,
            lock_wait=settings.lock_wait,
            policy=ctx.target.policy,
            progress=progress,
            display_base=settings.project_root,
            verify=step_verifier,
            sessions=c.sessions,
        )
        return RollbackOutcome(workspace, c.database, result, runner.status(c.conn, workspace))
