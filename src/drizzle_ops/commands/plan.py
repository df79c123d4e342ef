"""`plan`: what migrate would do on the target, for review; reads only.

With a trace, the pending migrations also run on a scratch copy (never on the target): see
``review/tracer.py``. This module decides which server holds the copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from psycopg.conninfo import conninfo_to_dict

from drizzle_ops.context.connect import connect
from drizzle_ops.context.request import Request
from drizzle_ops.engine import connection, runner, server
from drizzle_ops.engine.states import MigrationState
from drizzle_ops.errors import UserError

if TYPE_CHECKING:
    from drizzle_ops.review.deploy_plan import DeployPlan
    from drizzle_ops.review.tracer import Trace
    from drizzle_ops.review.verdicts import MigrationSummary


@dataclass
class PlanOutcome:
    plan: DeployPlan
    summaries: list[MigrationSummary]  # one per pending migration, joined with the trace when there is one
    trace: Trace | None = None


def plan_outcome(
    ctx: Request, *, large_rows: int | None = None, trace: bool = False, trace_url: str | None = None
) -> PlanOutcome:
    from drizzle_ops.review.deploy_plan import DEFAULT_LARGE_ROWS, build_plan
    from drizzle_ops.review.verdicts import join

    workspace, environment = ctx.workspace, ctx.target.environment
    with connect(ctx) as c:
        entries = runner.status(c.conn, workspace)
        plan = build_plan(
            c.conn,
            workspace,
            entries,
            database=c.database,
            environment=environment.name if environment else None,
            lock_timeout=environment.lock_timeout if environment else None,
            statement_timeout=environment.statement_timeout if environment else None,
            large_rows=DEFAULT_LARGE_ROWS if large_rows is None else large_rows,
        )
        if not trace or not plan.migrations:  # nothing pending: no scratch copy to make
            return PlanOutcome(plan, join(plan, None))
        if plan.blocked_by:
            raise UserError(
                f"cannot trace: migrate would refuse this target ({'; '.join(plan.blocked_by)}); "
                "fix that first (see `inv status`)"
            )
        applied = [e.tag for e in entries if e.state is MigrationState.APPLIED and e.tag]
        target_major = c.conn.info.server_version // 10000
        target_url = c.target.url
        result = _trace(ctx, plan, applied[-1] if applied else None, target_major, target_url, trace_url)
        sizes = _sizes(c.conn, plan, result)
    return PlanOutcome(plan, join(plan, result, sizes), result)


def _trace(
    ctx: Request, plan: DeployPlan, head: str | None, target_major: int, target_url: str | None, trace_url: str | None
) -> Trace:
    from drizzle_ops.review.tracer import trace

    settings = ctx.settings
    if trace_url:
        connection.check_url(trace_url, "--trace-url")
        server_url, where = trace_url, "the --trace-url server"
    else:
        from drizzle_ops.disposable.default import DefaultServer

        if settings.pg_major and settings.pg_major != str(target_major):
            raise UserError(
                f"the target runs PostgreSQL {target_major} but invoke.yaml asks for a {settings.pg_major} embedded "
                "server: a trace must run on the target's major; give --trace-url of a scratch server of that major"
            )
        default = DefaultServer(settings.state_dir)
        server = default.running()
        if server is None:
            ctx.say("starting a disposable PostgreSQL server (the embedded default) for the trace …")
            server, _ = default.ensure(provider=settings.provider, major=str(target_major))
        server_url, where = server.url, "the embedded default server"
    if target_url is not None and ctx.target.protected and _same_server(server_url, target_url):
        raise UserError(
            f"refusing to make a scratch database on the server of protected environment "
            f"{ctx.target.environment.name if ctx.target.environment else ''}: give --trace-url of a scratch server"
        )
    admin = connection.connect(server_url, source=where, connect_timeout=settings.connect_timeout)
    try:
        major = admin.info.server_version // 10000
    finally:
        admin.close()
    if major != target_major:
        hint = "give --trace-url of one that does" if trace_url is None else "give one of the target's major"
        raise UserError(
            f"{where} runs PostgreSQL {major} but the target runs {target_major}: locks differ between majors; {hint}"
        )
    return trace(
        server_url,
        ctx.workspace,
        head=head,
        pending=[m.tag for m in plan.migrations],
        log=ctx.log,
        connect_timeout=settings.connect_timeout,
    )


def _same_server(a: str, b: str) -> bool:
    one, two = conninfo_to_dict(a), conninfo_to_dict(b)
    return (one.get("host"), str(one.get("port") or 5432)) == (two.get("host"), str(two.get("port") or 5432))


def _sizes(conn: object, plan: DeployPlan, result: Trace) -> dict[str, int | None]:
    """Rows on the target of tables the trace saw locked that the static plan does not name."""
    import psycopg

    assert isinstance(conn, psycopg.Connection)
    named = {t.table for m in plan.migrations for s in m.statements for t in s.tables}
    seen = {
        lock.relation
        for m in result.migrations
        for s in m.statements
        for lock in s.locks
        if lock.kind == "table" and lock.relation not in named
    }
    sizes: dict[str, int | None] = {}
    for name in sorted(seen):
        schema, _, table = name.partition(".")
        stats = server.table_stats(conn, schema, table)
        sizes[name] = stats.rows if stats else None
    return sizes
