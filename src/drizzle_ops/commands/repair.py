"""`repair`: record the current hash of an applied migration whose file was edited on purpose."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from drizzle_ops.context.connect import connect
from drizzle_ops.context.request import Request
from drizzle_ops.engine import runner
from drizzle_ops.engine.lock import LockHolder, MigrationLock, lock_key
from drizzle_ops.engine.repair import RepairPlan, plan_repair, record_hash
from drizzle_ops.engine.workspace import Workspace
from drizzle_ops.paths import display_path


@dataclass
class RepairOutcome:
    workspace: Workspace
    database: str
    plan: RepairPlan | None  # None: the recorded hash already matches the file


def repair(ctx: Request, *, tag: str, on_wait: Callable[[LockHolder | None], None] | None = None) -> RepairOutcome:
    """Without --yes only shows what would change; with it, records the file's hash under the migration lock."""
    workspace, settings = ctx.workspace, ctx.settings
    migration = workspace.by_tag(tag)  # an unknown tag is bad input: say so before connecting
    if ctx.yes:
        ctx.confirm("repair")
    shown = display_path(migration.sql_path, settings.project_root)
    with connect(ctx) as c:
        if not ctx.yes:
            return RepairOutcome(
                workspace, c.database, plan_repair(workspace, runner.status(c.conn, workspace), tag, shown)
            )
        key = lock_key(workspace.migrations_schema, workspace.migrations_table)
        # one transaction that takes the lock, reads the row and records the hash: nothing depends on the session
        with MigrationLock(key, wait=ctx.policy.lock_wait, on_wait=on_wait).transaction(c.conn):
            plan = plan_repair(workspace, runner.status(c.conn, workspace), tag, shown)
            if plan is not None:
                record_hash(c.conn, workspace, plan)
        return RepairOutcome(workspace, c.database, plan)
