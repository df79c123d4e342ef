"""One plain function per command. They return results; rendering is the caller's job."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

from . import pg, runner
from . import rollback as rollback_engine
from .checks_api import load_checks, select
from .config import Environment, Settings, Target, resolve_target
from .deploy_plan import DEFAULT_LARGE_ROWS, DeployPlan, build_plan
from .disposable.base import Server
from .disposable.default import DefaultServer
from .plan import Entry
from .rollback import RollbackProgress, RollbackResult, load_down_files, plan_rollback
from .runner import ExecutionPolicy, MigrateResult, Progress
from .safety import confirm_protected
from .verify.conformance import CHECK_ID, applied_head
from .verify.deploy import verify_each
from .verify.run import CheckResult, run_checks, run_conformance
from .workspace import Workspace, load_workspace


@dataclass
class Connected:
    conn: psycopg.Connection
    target: Target
    database: str  # user@host:port/db, from the live connection
    started_server: Server | None = None


def workspace_of(settings: Settings) -> Workspace:
    return load_workspace(settings.workspace, settings.overrides)


@contextmanager
def connection(
    settings: Settings, url: str | None, env: str | None, log: Callable[[str], None] | None = None
) -> Iterator[Connected]:
    """Connect to the resolved target, starting the embedded default server if that is the target."""
    target = resolve_target(settings, url, env)
    started: Server | None = None
    if target.url is None:
        default = DefaultServer(settings.state_dir)
        server = default.running()
        if server is None:
            if log:
                log("starting a disposable PostgreSQL server (the embedded default) …")
            server, _ = default.ensure(provider=settings.provider, major=settings.pg_major)
            started = server
        target = Target(server.url, f"the embedded default server ({server.provider})", target.environment)
    assert target.url is not None
    conn = pg.connect(target.url, source=target.source, connect_timeout=settings.connect_timeout)
    try:
        yield Connected(conn, target, pg.describe(conn), started)
    finally:
        conn.close()


def status(
    settings: Settings, url: str | None = None, env: str | None = None, log: Callable[[str], None] | None = None
) -> tuple[Workspace, str, list[Entry]]:
    workspace = workspace_of(settings)
    with connection(settings, url, env, log) as c:
        return workspace, c.database, runner.status(c.conn, workspace)


def policy_for(environment: Environment | None) -> ExecutionPolicy:
    """The environment's lock/statement timeouts and retry policy; none without an environment."""
    if environment is None:
        return ExecutionPolicy()
    return ExecutionPolicy(
        lock_timeout=environment.lock_timeout,
        statement_timeout=environment.statement_timeout,
        retries=environment.retries,
        backoff=environment.retry_backoff,
    )


@dataclass
class MigrateOutcome:
    workspace: Workspace
    database: str
    result: MigrateResult
    entries: list[Entry]


def migrate(
    settings: Settings,
    url: str | None = None,
    env: str | None = None,
    *,
    to: str | None = None,
    dry_run: bool = False,
    allow_out_of_order: bool = False,
    allow_modified: bool = False,
    yes: bool = False,
    ask: Callable[[str], str] | None = None,
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
    verify: bool = False,
) -> MigrateOutcome:
    workspace = workspace_of(settings)
    if to is not None:
        workspace.by_tag(to)  # an unknown tag is bad input: say so before connecting
    environment = settings.environment(env) if env else None
    if not dry_run:
        confirm_protected(environment, yes=yes, action="migrate", ask=ask)
    with connection(settings, url, env, log) as c:
        after_each = None
        if verify:
            # every migration this run may apply must be revertible: refuse before touching anything
            planned = runner.migrate(
                c.conn,
                workspace,
                to=to,
                dry_run=True,
                allow_out_of_order=allow_out_of_order,
                allow_modified=allow_modified,
            ).planned
            downs = load_down_files(settings.rollback_dir, [m.tag for m in planned], settings.project_root)
            after_each = verify_each(workspace, downs, policy=policy_for(environment), log=log)
        result = runner.migrate(
            c.conn,
            workspace,
            to=to,
            dry_run=dry_run,
            allow_out_of_order=allow_out_of_order,
            allow_modified=allow_modified,
            lock_wait=settings.lock_wait,
            policy=policy_for(environment),
            progress=progress,
            after_each=after_each,
        )
        return MigrateOutcome(workspace, c.database, result, runner.status(c.conn, workspace))


@dataclass
class RollbackOutcome:
    workspace: Workspace
    database: str
    result: RollbackResult
    entries: list[Entry]


def rollback(
    settings: Settings,
    url: str | None = None,
    env: str | None = None,
    *,
    steps: int | None = None,
    to: str | None = None,
    all_: bool = False,
    dry_run: bool = False,
    yes: bool = False,
    ask: Callable[[str], str] | None = None,
    progress: RollbackProgress | None = None,
    log: Callable[[str], None] | None = None,
) -> RollbackOutcome:
    workspace = workspace_of(settings)
    plan_rollback([], steps=steps, to=to, all_=all_)  # bad flags are bad input: say so before connecting
    if to is not None:
        workspace.by_tag(to)
    environment = settings.environment(env) if env else None
    if not dry_run:
        confirm_protected(environment, yes=yes, action="rollback", ask=ask)
    with connection(settings, url, env, log) as c:
        result = rollback_engine.rollback(
            c.conn,
            workspace,
            settings.rollback_dir,
            steps=steps,
            to=to,
            all_=all_,
            dry_run=dry_run,
            lock_wait=settings.lock_wait,
            policy=policy_for(environment),
            progress=progress,
            display_base=settings.project_root,
        )
        return RollbackOutcome(workspace, c.database, result, runner.status(c.conn, workspace))


@dataclass
class VerifyOutcome:
    workspace: Workspace
    database: str
    head: str | None  # the applied head whose snapshot conformance used
    results: list[CheckResult]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


def verify(
    settings: Settings,
    url: str | None = None,
    env: str | None = None,
    *,
    only: tuple[str, ...] = (),
    log: Callable[[str], None] | None = None,
) -> VerifyOutcome:
    workspace = workspace_of(settings)
    checks, builtin = select(load_checks(settings.checks_dir, settings.project_root), only, [CHECK_ID])
    with connection(settings, url, env, log) as c:
        head = applied_head(workspace, runner.status(c.conn, workspace))
        results = [run_conformance(c.conn, workspace, head)] if builtin else []
        results += run_checks(c.conn, checks)
        return VerifyOutcome(workspace, c.database, head.tag if head else None, results)


def db_up(settings: Settings, provider: str | None = None, major: str | None = None) -> tuple[Server, bool]:
    return DefaultServer(settings.state_dir).ensure(
        provider=provider or settings.provider, major=major or settings.pg_major
    )


def db_down(settings: Settings) -> Server | None:
    return DefaultServer(settings.state_dir).down()


def db_down_all() -> list[str]:
    from .disposable.docker import remove_all

    return remove_all()


def db_url(settings: Settings) -> Server | None:
    return DefaultServer(settings.state_dir).running()


def deploy_plan(
    settings: Settings,
    url: str | None = None,
    env: str | None = None,
    *,
    large_rows: int = DEFAULT_LARGE_ROWS,
    log: Callable[[str], None] | None = None,
) -> DeployPlan:
    """What migrate would do on the target, for review; reads only."""
    workspace = workspace_of(settings)
    environment = settings.environment(env) if env else None
    with connection(settings, url, env, log) as c:
        return build_plan(
            c.conn,
            workspace,
            runner.status(c.conn, workspace),
            database=c.database,
            environment=environment.name if environment else None,
            lock_timeout=environment.lock_timeout if environment else None,
            statement_timeout=environment.statement_timeout if environment else None,
            large_rows=large_rows,
        )
