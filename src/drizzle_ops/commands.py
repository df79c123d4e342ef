"""One plain function per command. They return results; rendering is the caller's job."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import psycopg

from drizzle_ops.context.config import Environment, Settings, Target, resolve_target
from drizzle_ops.context.safety import confirm_protected
from drizzle_ops.disposable.base import Server
from drizzle_ops.disposable.default import DefaultServer
from drizzle_ops.engine import pg, runner
from drizzle_ops.engine.plan import Entry, State, not_in_journal, plan_migrate
from drizzle_ops.engine.runner import ExecutionPolicy, MigrateResult, Progress
from drizzle_ops.engine.workspace import Workspace, load_workspace
from drizzle_ops.errors import OperationFailed, UserError
from drizzle_ops.paths import display_path

# Each task imports only what it runs: `inv migrate` should not pay for the SQL parser,
# the snapshot comparison or the down-draft writer (see benchmarks/results.md).
if TYPE_CHECKING:
    from drizzle_ops.drizzle_kit.generate import Generated
    from drizzle_ops.engine.repair import RepairPlan
    from drizzle_ops.engine.rollback import RollbackProgress, RollbackResult
    from drizzle_ops.review.deploy_plan import DeployPlan
    from drizzle_ops.verify.accepted import AcceptedFile, Rewrite
    from drizzle_ops.verify.conformance import Conformance
    from drizzle_ops.verify.run import CheckResult


@dataclass
class Connected:
    conn: psycopg.Connection
    target: Target
    database: str  # user@host:port/db, from the live connection
    started_server: Server | None = None


def workspace_of(settings: Settings, log: Callable[[str], None] | None = None, *, chain: bool = False) -> Workspace:
    """The workspace, its warnings logged (or, with --strict, the first one raised) before any work starts.

    ``chain``: also read every snapshot for breaks in their chain (the schema tasks; costs a parse of each).
    """
    workspace = load_workspace(settings.workspace, settings.overrides)
    if chain:
        problem = workspace.snapshot_chain_problem()
        if problem:
            note = f"{problem}; drizzle-kit migrate ignores it, only `generate` needs an intact chain"
            workspace = replace(workspace, warnings=(*workspace.warnings, note))
    if workspace.warnings and settings.strict:
        raise OperationFailed(f"{workspace.warnings[0]} (--strict turns warnings into failures)")
    for warning in workspace.warnings:
        if log:
            log(f"warning: {warning}")
    return workspace


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
    workspace = workspace_of(settings, log)
    with connection(settings, url, env, log) as c:
        return workspace, c.database, runner.status(c.conn, workspace) + not_in_journal(workspace.not_in_journal)


def policy_for(environment: Environment | None) -> ExecutionPolicy:
    """The environment's lock/statement timeouts and retry policy; none without an environment."""
    if environment is None:
        return ExecutionPolicy()
    return ExecutionPolicy(
        lock_timeout=environment.lock_timeout,
        statement_timeout=environment.statement_timeout,
        retries=environment.retries,
        backoff=environment.retry_backoff,
        environment=environment.name,
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
    workspace = workspace_of(settings, log)
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
            from drizzle_ops.engine.rollback import load_down_files
            from drizzle_ops.verify.deploy import verify_each

            downs = load_down_files(settings.rollback_dir, [m.tag for m in planned], settings.project_root)
            accepted = accepted_differences(settings).entries
            after_each = verify_each(workspace, downs, policy=policy_for(environment), log=log, accepted=accepted)
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
    verify: bool = False,
) -> RollbackOutcome:
    workspace = workspace_of(settings, log)
    from drizzle_ops.engine import rollback as rollback_engine

    rollback_engine.plan_rollback(
        [], steps=steps, to=to, all_=all_
    )  # bad flags are bad input: say so before connecting
    if to is not None:
        workspace.by_tag(to)
    environment = settings.environment(env) if env else None
    if not dry_run:
        confirm_protected(environment, yes=yes, action="rollback", ask=ask)
    step_verifier = None
    if verify and not dry_run:
        from drizzle_ops.verify.accepted import load
        from drizzle_ops.verify.after_rollback import verifier

        path = settings.accepted_differences  # read before connecting: a bad file is bad input
        accepted = load(path, display_path(path, settings.project_root)).entries
        step_verifier = verifier(workspace, accepted=accepted, log=log)
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
            verify=step_verifier,
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
    workspace = workspace_of(settings, log, chain=True)
    from drizzle_ops.checks_api import applied_tags, check_migrations, load_checks, select
    from drizzle_ops.verify.conformance import CHECK_ID, applied_head
    from drizzle_ops.verify.run import run_checks, run_conformance

    checks, builtin = select(load_checks(settings.checks_dir, settings.project_root), only, [CHECK_ID])
    check_migrations(checks, [m.tag for m in workspace.migrations])  # an error in a check: say so before connecting
    accepted = accepted_differences(settings) if builtin else None
    with connection(settings, url, env, log) as c:
        entries = runner.status(c.conn, workspace)
        head = applied_head(workspace, entries)
        results = [run_conformance(c.conn, workspace, head, accepted)] if builtin else []
        results += run_checks(c.conn, checks, applied_tags(entries))
        return VerifyOutcome(workspace, c.database, head.tag if head else None, results)


def accepted_differences(settings: Settings) -> AcceptedFile:
    """The reviewed file of accepted conformance differences (none when it is absent); read before connecting."""
    from drizzle_ops.verify.accepted import load

    path = settings.accepted_differences
    return load(path, display_path(path, settings.project_root))


@dataclass
class AcceptOutcome:
    workspace: Workspace
    database: str
    conformance: Conformance  # compared with nothing accepted: every failing difference is in `differences`
    file: AcceptedFile  # as it was before
    rewrite: Rewrite


def accept(
    settings: Settings, url: str | None = None, env: str | None = None, log: Callable[[str], None] | None = None
) -> AcceptOutcome:
    """`verify --accept`: write today's failing conformance differences to the accepted file; reads the database."""
    from drizzle_ops.verify.accepted import rewrite, save
    from drizzle_ops.verify.conformance import applied_head, check_conformance

    workspace = workspace_of(settings, log)
    current = accepted_differences(settings)
    with connection(settings, url, env, log) as c:
        conformance = check_conformance(c.conn, workspace, applied_head(workspace, runner.status(c.conn, workspace)))
        database = c.database
    found = [str(d) for d in conformance.differences]
    # skipped: nothing was compared, so nothing can be called stale either; the file stays as it is
    changed = rewrite(current, current.entries) if conformance.skipped else save(current, found)
    return AcceptOutcome(workspace, database, conformance, current, changed)


def db_up(settings: Settings, provider: str | None = None, major: str | None = None) -> tuple[Server, bool]:
    return DefaultServer(settings.state_dir).ensure(
        provider=provider or settings.provider, major=major or settings.pg_major
    )


def db_down(settings: Settings) -> Server | None:
    return DefaultServer(settings.state_dir).down()


def db_down_all() -> list[str]:
    from drizzle_ops.disposable.docker import remove_all

    return remove_all()


def db_url(settings: Settings) -> Server | None:
    return DefaultServer(settings.state_dir).running()


def deploy_plan(
    settings: Settings,
    url: str | None = None,
    env: str | None = None,
    *,
    large_rows: int | None = None,
    log: Callable[[str], None] | None = None,
) -> DeployPlan:
    """What migrate would do on the target, for review; reads only."""
    from drizzle_ops.review.deploy_plan import DEFAULT_LARGE_ROWS, build_plan

    workspace = workspace_of(settings, log)
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
            large_rows=DEFAULT_LARGE_ROWS if large_rows is None else large_rows,
        )


# -- generate, drift, repair, drizzle's own runner ---------------------------------------------------


def generate(
    settings: Settings,
    *,
    name: str | None = None,
    custom: bool = False,
    log: Callable[[str], None] | None = None,
) -> Generated:
    """drizzle-kit generate through the workspace's package manager, then checks, lint and a down draft."""
    from drizzle_ops.drizzle_kit.generate import generate as run_generate

    return run_generate(
        settings.workspace,
        settings.overrides,
        settings.rollback_dir,
        name=name,
        custom=custom,
        project_root=settings.project_root,
        log=log,
    )


@dataclass
class DraftFile:
    tag: str
    display: str


def rollback_drafts(settings: Settings) -> tuple[Workspace, list[DraftFile]]:
    """Down files of journal migrations that still carry the draft marker (offline: no database)."""
    from drizzle_ops.down_draft import is_draft
    from drizzle_ops.engine.rollback import down_path

    workspace = workspace_of(settings)
    found = []
    for migration in workspace.migrations:
        path = down_path(settings.rollback_dir, migration.tag)
        if path.is_file() and is_draft(path.read_text(encoding="utf-8", errors="replace")):
            found.append(DraftFile(migration.tag, display_path(path, settings.project_root)))
    return workspace, found


@dataclass
class DriftOutcome:
    workspace: Workspace
    database: str
    entries: list[Entry]
    conformance: Conformance
    accepted_file: str  # the accepted-differences file as messages name it


def drift(
    settings: Settings, url: str | None = None, env: str | None = None, log: Callable[[str], None] | None = None
) -> DriftOutcome:
    """Files against rows (status), and the live schema against the snapshot of the applied head; reads only."""
    from drizzle_ops.verify.conformance import applied_head, check_conformance

    workspace = workspace_of(settings, log, chain=True)
    accepted = accepted_differences(settings)
    with connection(settings, url, env, log) as c:
        entries = runner.status(c.conn, workspace)
        conformance = check_conformance(c.conn, workspace, applied_head(workspace, entries), accepted.entries)
        entries += not_in_journal(workspace.not_in_journal)
        return DriftOutcome(workspace, c.database, entries, conformance, accepted.shown)


@dataclass
class RepairOutcome:
    workspace: Workspace
    database: str
    plan: RepairPlan | None  # None: the recorded hash already matches the file


def repair(
    settings: Settings,
    url: str | None = None,
    env: str | None = None,
    *,
    tag: str,
    yes: bool = False,
    ask: Callable[[str], str] | None = None,
    log: Callable[[str], None] | None = None,
    on_wait: Callable[[pg.LockHolder | None], None] | None = None,
) -> RepairOutcome:
    """Without ``yes`` only shows what would change; with it, records the file's hash under the migration lock."""
    from drizzle_ops.engine.repair import plan_repair, record_hash

    workspace = workspace_of(settings, log)
    migration = workspace.by_tag(tag)  # an unknown tag is bad input: say so before connecting
    environment = settings.environment(env) if env else None
    if yes:
        confirm_protected(environment, yes=yes, action="repair", ask=ask)
    shown = display_path(migration.sql_path, settings.project_root)
    with connection(settings, url, env, log) as c:
        if not yes:
            return RepairOutcome(
                workspace, c.database, plan_repair(workspace, runner.status(c.conn, workspace), tag, shown)
            )
        key = pg.lock_key(workspace.migrations_schema, workspace.migrations_table)
        pg.acquire_lock(c.conn, key, timeout=settings.lock_wait, on_wait=on_wait)
        try:
            plan = plan_repair(workspace, runner.status(c.conn, workspace), tag, shown)
            if plan is not None:
                record_hash(c.conn, workspace, plan)
        finally:
            if not c.conn.broken:
                pg.release_lock(c.conn, key)
        return RepairOutcome(workspace, c.database, plan)


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
    settings: Settings,
    url: str | None = None,
    env: str | None = None,
    *,
    allow_modified: bool = False,
    yes: bool = False,
    ask: Callable[[str], str] | None = None,
    log: Callable[[str], None] | None = None,
    on_wait: Callable[[pg.LockHolder | None], None] | None = None,
) -> DrizzleRunOutcome:
    """The workspace's own `db:migrate` (drizzle-kit migrate), run while we hold the migration lock.

    drizzle-kit opens its own connection; our lock keeps every other drizzle-ops
    run out meanwhile. We refuse what drizzle would get wrong silently: an edited
    applied file, and an unapplied migration older than the newest applied one.
    """
    from drizzle_ops.drizzle_kit import node

    workspace = workspace_of(settings, log)
    environment = settings.environment(env) if env else None
    confirm_protected(environment, yes=yes, action="migrate", ask=ask)
    manager = node.detect_package_manager(workspace.root)
    node.require_script(workspace.root, MIGRATE_SCRIPT, "drizzle-kit migrate")
    node.require_tools(manager)
    node.ensure_installed(workspace.root, manager, log)
    command = manager.run_command(MIGRATE_SCRIPT)
    with connection(settings, url, env, log) as c:
        assert c.target.url is not None
        key = pg.lock_key(workspace.migrations_schema, workspace.migrations_table)
        waited = pg.acquire_lock(c.conn, key, timeout=settings.lock_wait, on_wait=on_wait)
        try:
            before = runner.status(c.conn, workspace)
            late = [e.tag for e in before if e.state is State.OUT_OF_ORDER and e.tag]
            if late:
                raise UserError(
                    f"{', '.join(late)} not applied but older than the newest applied migration, and drizzle-kit "
                    "would skip it silently; apply it with `inv migrate --allow-out-of-order` instead"
                )
            plan_migrate(before, allow_modified=allow_modified)  # refuses edited applied files
            if log:
                log(f"running `{' '.join(command)}` (drizzle-kit migrate) against {c.database} under the lock …")
            run = node.run(command, workspace.root, env={"DATABASE_URL": c.target.url}, capture=True)
            after = runner.status(c.conn, workspace)
        finally:
            if not c.conn.broken:
                pg.release_lock(c.conn, key)
        pending = {e.tag for e in before if e.state is State.PENDING}
        applied = [e.tag for e in after if e.tag in pending and e.row is not None and e.tag]
        output = pg.redact(run.output.replace(c.target.url, "<database url>"), c.target.url)
        return DrizzleRunOutcome(workspace, c.database, command, run.returncode, output, applied, after, waited)
