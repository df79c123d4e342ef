"""`plan`: what migrate would do on the target, for review; reads only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drizzle_ops.context.connect import connect
from drizzle_ops.context.request import Context
from drizzle_ops.engine import runner

if TYPE_CHECKING:
    from drizzle_ops.review.deploy_plan import DeployPlan


def deploy_plan(ctx: Context, *, large_rows: int | None = None) -> DeployPlan:
    from drizzle_ops.review.deploy_plan import DEFAULT_LARGE_ROWS, build_plan

    workspace, environment = ctx.workspace, ctx.target.environment
    with connect(ctx) as c:
        return build_plan(
            c.conn,
            workspace,
            runner.status(c.conn, workspace),
            database=c.database,
            environment=environment.name if environment else None,
            lock_timeout=environment.lock_timeout if environment else None,
            statement_timeout=environment.statement_timeout if environment else None,
            large_rows=DEFAULT_LARGE_ROWS if large_rows is None else large_rows,
        )
