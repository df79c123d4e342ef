"""`rollback`: undo applied migrations newest first with their down files."""

from __future__ import annotations

from dataclasses import dataclass, field

from drizzle_ops.context.accepted import accepted_file
from drizzle_ops.context.connect import connect
from drizzle_ops.context.request import Request
from drizzle_ops.engine import runner
from drizzle_ops.engine.rollback import RollbackChoice, RollbackProgress, RollbackResult
from drizzle_ops.engine.states import Entry
from drizzle_ops.engine.workspace import Workspace


@dataclass
class RollbackOutcome:
    workspace: Workspace
    database: str
    result: RollbackResult
    entries: list[Entry]


@dataclass(frozen=True)
class RollbackOptions:
    """What `rollback` was asked: which migrations (``choice``), and how."""

    choice: RollbackChoice = field(default_factory=RollbackChoice)
    dry_run: bool = False
    verify: bool = False  # each step against the new head's snapshot, before it commits


def rollback(request: Request, options: RollbackOptions, progress: RollbackProgress | None = None) -> RollbackOutcome:
    from drizzle_ops.engine import rollback as engine  # the module: plan_rollback, rollback

    workspace, settings, choice, dry_run = request.workspace, request.settings, options.choice, options.dry_run
    engine.plan_rollback([], choice)  # bad flags are bad input: say so before connecting
    if choice.to is not None:
        workspace.by_tag(choice.to)
    if not dry_run:
        request.confirm("rollback")
    step_verifier = None
    if options.verify and not dry_run:
        from drizzle_ops.verify.after_rollback import verifier

        step_verifier = verifier(workspace, accepted=accepted_file(settings).entries, log=request.log)
    with connect(request) as c:
        result = engine.rollback(
            c.conn,
            workspace,
            settings.rollback_dir,
            choice,
            dry_run=dry_run,
            policy=request.policy,
            progress=progress,
            display_base=settings.project_root,
            verify=step_verifier,
            sessions=c.sessions,
        )
        return RollbackOutcome(workspace, c.database, result, runner.status(c.conn, workspace))
