"""`migrate`: apply pending migrations, one transaction each, under the advisory lock."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from drizzle_ops.context.accepted import accepted_file
from drizzle_ops.context.connect import connect
from drizzle_ops.context.request import Request
from drizzle_ops.engine import runner
from drizzle_ops.engine.runner import MigrateResult, Progress
from drizzle_ops.engine.states import Entry
from drizzle_ops.engine.workspace import Workspace


@dataclass
class MigrateOutcome:
    workspace: Workspace
    database: str
    result: MigrateResult
    entries: list[Entry]


def migrate(
    ctx: Request,
    *,
    to: str | None = None,
    dry_run: bool = False,
    allow_out_of_order: bool = False,
    allow_modified: bool = False,
    verify: bool = False,
    progress: Progress | None = None,
) -> MigrateOutcome:
    workspace, settings, policy = ctx.workspace, ctx.settings, ctx.target.policy
    if to is not None:
        workspace.by_tag(to)  # an unknown tag is bad input: say so before connecting
    if not dry_run:
        ctx.confirm("migrate")
    with connect(ctx) as c:
        run = partial(
            runner.migrate,
            c.conn,
            workspace,
            to=to,
            allow_out_of_order=allow_out_of_order,
            allow_modified=allow_modified,
            strict=settings.strict,  # v1: an older unapplied folder is applied, unless --strict
        )
        verifier = None
        if verify:
            # a migration that will commit before it can be checked (outside one transaction) must be
            # revertible: refuse before touching anything; the rest are checked before they commit
            planned = run(dry_run=True).planned
            from drizzle_ops.engine.rollback import load_down_files
            from drizzle_ops.verify.migrate_verify import DeployVerifier

            committing_first = [m.tag for m in planned if runner.needs_session(m)]
            downs = load_down_files(settings.rollback_dir, committing_first, settings.project_root)
            accepted = accepted_file(settings).entries
            verifier = DeployVerifier(workspace, downs, policy=policy, log=ctx.log, accepted=accepted)
        result = run(
            dry_run=dry_run,
            lock_wait=settings.lock_wait,
            policy=policy,
            progress=progress,
            verifier=verifier,
            sessions=c.sessions,
        )
        return MigrateOutcome(workspace, c.database, result, runner.status(c.conn, workspace))
