"""`verify`: the checks and snapshot conformance, read-only; `--accept` and `--rollback-drafts` beside it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from drizzle_ops.context.accepted import accepted_file
from drizzle_ops.context.connect import connect
from drizzle_ops.context.request import Request
from drizzle_ops.engine import runner
from drizzle_ops.engine.workspace import Workspace
from drizzle_ops.paths import display_path

if TYPE_CHECKING:
    from drizzle_ops.verify.accepted import AcceptedFile, Rewrite
    from drizzle_ops.verify.conformance import Conformance
    from drizzle_ops.verify.run_checks import CheckResult


@dataclass
class VerifyOutcome:
    workspace: Workspace
    database: str
    head: str | None  # the applied head whose snapshot conformance used
    results: list[CheckResult]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


def verify(ctx: Request, *, only: tuple[str, ...] = ()) -> VerifyOutcome:
    from drizzle_ops.checks_api import applied_tags, check_migrations, load_checks, select
    from drizzle_ops.verify.conformance import CHECK_ID, applied_head
    from drizzle_ops.verify.run_checks import run_checks, run_conformance

    workspace, settings = ctx.workspace, ctx.settings
    checks, builtin = select(load_checks(settings.checks_dir, settings.project_root), only, [CHECK_ID])
    check_migrations(checks, [m.tag for m in workspace.migrations])  # an error in a check: say so before connecting
    accepted = accepted_file(settings) if builtin else None
    with connect(ctx) as c:
        entries = runner.status(c.conn, workspace)
        head = applied_head(workspace, entries)
        results = [run_conformance(c.conn, workspace, head, accepted)] if builtin else []
        results += run_checks(c.conn, checks, applied_tags(entries))
        return VerifyOutcome(workspace, c.database, head.tag if head else None, results)


@dataclass
class AcceptOutcome:
    workspace: Workspace
    database: str
    conformance: Conformance  # compared with nothing accepted: every failing difference is in `differences`
    file: AcceptedFile  # as it was before
    rewrite: Rewrite


def accept(ctx: Request) -> AcceptOutcome:
    """`verify --accept`: write today's failing conformance differences to the accepted file; reads the database."""
    from drizzle_ops.verify.accepted import rewrite, save
    from drizzle_ops.verify.conformance import applied_head, check_conformance

    workspace = ctx.workspace
    current = accepted_file(ctx.settings)
    with connect(ctx) as c:
        conformance = check_conformance(c.conn, workspace, applied_head(workspace, runner.status(c.conn, workspace)))
        database = c.database
    found = [str(d) for d in conformance.differences]
    # skipped: nothing was compared, so nothing can be called stale either; the file stays as it is
    changed = rewrite(current, current.entries) if conformance.skipped else save(current, found)
    return AcceptOutcome(workspace, database, conformance, current, changed)


@dataclass
class DraftFile:
    tag: str
    display: str


@dataclass
class DraftsOutcome:
    workspace: Workspace
    drafts: list[DraftFile]


def rollback_drafts(ctx: Request) -> DraftsOutcome:
    """Down files of journal migrations that still carry the draft marker (offline: no database)."""
    from drizzle_ops.down_draft import is_draft
    from drizzle_ops.engine.rollback import down_path

    workspace, settings = ctx.workspace, ctx.settings
    found = []
    for migration in workspace.migrations:
        path = down_path(settings.rollback_dir, migration.tag)
        if path.is_file() and is_draft(path.read_text(encoding="utf-8", errors="replace")):
            found.append(DraftFile(migration.tag, display_path(path, settings.project_root)))
    return DraftsOutcome(workspace, found)
