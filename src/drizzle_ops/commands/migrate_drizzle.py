"""`migrate --runner drizzle`: the workspace's own `db:migrate` (drizzle-kit migrate), under our lock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from drizzle_ops.context.connect import connect
from drizzle_ops.context.request import Request
from drizzle_ops.engine import connection, runner
from drizzle_ops.engine.lock import LockHolder, MigrationLock, lock_key
from drizzle_ops.engine.states import Entry, MigrationState, PlanOptions, plan_migrate
from drizzle_ops.engine.workspace import Workspace
from drizzle_ops.errors import UserError

MIGRATE_SCRIPT = "db:migrate"


@dataclass
class DrizzleRunOutcome:
    workspace: Workspace
    database: str
    command: list[str]
    returncode: int
    output: str  # drizzle-kit's output, password removed
    applied: list[str]  # tags that were pending before and are applied now
    entries: list[Entry]
    lock_waited: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def migrate_with_drizzle(
    ctx: Request,
    *,
    allow_modified: bool = False,
    on_wait: Callable[[LockHolder | None], None] | None = None,
) -> DrizzleRunOutcome:
    """drizzle-kit opens its own connection; our lock keeps every other drizzle-ops run out meanwhile.

    We refuse what drizzle would get wrong silently: an edited applied file, and an
    unapplied migration older than the newest applied one.
    """
    from drizzle_ops.drizzle_kit import node

    workspace = ctx.workspace
    ctx.confirm("migrate")
    manager = node.detect_package_manager(workspace.root)
    node.require_script(workspace.root, MIGRATE_SCRIPT, "drizzle-kit migrate")
    node.require_tools(manager)
    node.ensure_installed(workspace.root, manager, ctx.log)
    command = manager.run_command(MIGRATE_SCRIPT)
    with connect(ctx) as c:
        assert c.target.url is not None
        key = lock_key(workspace.migrations_schema, workspace.migrations_table)
        migration_lock = MigrationLock(key, wait=ctx.policy.lock_wait, on_wait=on_wait)
        # drizzle-kit runs on its own connection while we hold the lock: a session lock, on a connection that keeps
        # its session (the direct URL through a pooler; refused without one)
        session = c.sessions.connection("migrate --runner drizzle (the lock is held while drizzle-kit runs)")
        with migration_lock.session(session):
            before = runner.status(c.conn, workspace)
            late = [e.tag for e in before if e.state is MigrationState.OUT_OF_ORDER and e.tag]
            if late and not workspace.records_names:  # drizzle-kit 1.0 decides by name: it applies them
                raise UserError(
                    f"{', '.join(late)} not applied but older than the newest applied migration, and drizzle-kit "
                    "would skip it silently; apply it with `inv migrate --allow-out-of-order` instead"
                )
            plan_migrate(before, PlanOptions(allow_modified=allow_modified))  # refuses edited applied files
            ctx.say(f"running `{' '.join(command)}` (drizzle-kit migrate) against {c.database} under the lock …")
            run = node.run(command, workspace.root, env={"DATABASE_URL": c.target.url}, capture=True)
            after = runner.status(c.conn, workspace)
        waited = migration_lock.waited
        pending = {e.tag for e in before if e.state in (MigrationState.PENDING, MigrationState.OUT_OF_ORDER)}
        applied = [e.tag for e in after if e.tag in pending and e.row is not None and e.tag]
        output = connection.redact(run.output.replace(c.target.url, "<database url>"), c.target.url)
        return DrizzleRunOutcome(workspace, c.database, command, run.returncode, output, applied, after, waited)
