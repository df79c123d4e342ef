"""`migrate`: apply pending migrations, one transaction each, under the advisory lock."""

from __future__ import annotations

from dataclasses import dataclass, field

from drizzle_ops.context.accepted import accepted_file
from drizzle_ops.context.connect import connect
from drizzle_ops.context.request import Request
from drizzle_ops.engine import runner
from drizzle_ops.engine.runner import MigrateResult, Progress
from drizzle_ops.engine.states import Entry, PlanOptions
from drizzle_ops.engine.workspace import Workspace


@dataclass
class MigrateOutcome:
    workspace: Workspace
    database: str
    result: MigrateResult
    entries: list[Entry]


@dataclass(frozen=True)
class MigrateOptions:
    """What `migrate` was asked: which migrations (the plan's options), and how."""

    plan: PlanOptions = field(default_factory=PlanOptions)
    dry_run: bool = False
    verify: bool = False  # each migration against its snapshot; a difference undoes it and stops the run


def migrate(request: Request, options: MigrateOptions, progress: Progress | None = None) -> MigrateOutcome:
    workspace, settings, policy = request.workspace, request.settings, request.policy
    if options.plan.to is not None:
        workspace.by_tag(options.plan.to)  # an unknown tag is bad input: say so before connecting
    if not options.dry_run:
        request.confirm("migrate")
    with connect(request) as c:
        verifier = None
        if options.verify:
            # a migration that will commit before it can be checked (outside one transaction) must be
            # revertible: refuse before touching anything; the rest are checked before they commit
            planned = runner.migrate(c.conn, workspace, options.plan, dry_run=True).planned
            from drizzle_ops.engine.rollback import load_down_files
            from drizzle_ops.verify.migrate_verify import DeployVerifier

            committing_first = [m.tag for m in planned if runner.needs_session(m)]
            downs = load_down_files(settings.rollback_dir, committing_first, settings.project_root)
            accepted = accepted_file(settings).entries
            verifier = DeployVerifier(workspace, downs, policy=policy, log=request.log, accepted=accepted)
        result = runner.migrate(
            c.conn,
            workspace,
            options.plan,
            dry_run=options.dry_run,
            policy=policy,
            progress=progress,
            verifier=verifier,
            sessions=c.sessions,
        )
        return MigrateOutcome(workspace, c.database, result, runner.status(c.conn, workspace))
