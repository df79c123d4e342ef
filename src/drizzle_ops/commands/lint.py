"""`lint`: check migration SQL for lock and compatibility hazards; offline unless it asks the target what is pending."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from drizzle_ops.context.config import Settings
from drizzle_ops.context.connect import connect
from drizzle_ops.context.request import Request
from drizzle_ops.engine import runner
from drizzle_ops.engine.states import MigrationState
from drizzle_ops.errors import UserError
from drizzle_ops.lint import (
    DEFAULT_PG_VERSION,
    Finding,
    Rule,
    VolatilityLookup,
    catalogue_volatility,
    lint_migrations,
    major_version,
)
from drizzle_ops.lint.version import check_pg_version
from drizzle_ops.paths import display_path

if TYPE_CHECKING:
    import psycopg

    from drizzle_ops.lint.since import Changes

Source = tuple[str, str]  # (the path as shown, the SQL text)


@dataclass
class LintOutcome:
    sources: list[Source]  # the files reported on
    findings: list[Finding]
    seconds: float
    pg_version: int  # the major the version-dependent rules judged for
    pg_version_from: str  # where that major came from, for the report
    since: Changes | None = None  # --since: the ref, the merge base and what changed since


def offline_version(settings: Settings, given: int | None) -> tuple[int, str]:
    """--pg-version, else `pg` in invoke.yaml, else the oldest supported major."""
    if given is not None:
        return check_pg_version(given), "--pg-version"
    if settings.pg_major:
        try:
            return check_pg_version(int(settings.pg_major)), "pg in invoke.yaml"
        except ValueError:
            raise UserError(f"pg in invoke.yaml is {settings.pg_major!r}: give a major such as 16") from None
    return DEFAULT_PG_VERSION, "the oldest supported major"


def target_version(conn: psycopg.Connection, given: int | None) -> tuple[int, str]:
    """--pg-version, else the major of the server ``conn`` reaches."""
    if given is not None:
        return check_pg_version(given), "--pg-version"
    return major_version(conn.info.server_version), "the target's server_version_num"


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path} is not valid UTF-8 (byte {exc.start}); re-save it as UTF-8") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None


def file_sources(paths: Sequence[str]) -> list[Source]:
    """The given files, and the .sql files of the given folders."""
    sources: list[Source] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted(path.glob("*.sql"))
            if not files:
                raise UserError(f"{given} holds no .sql files; pass migration files or their folder")
            sources += [(str(f), _read(f)) for f in files]
        elif path.is_file():
            sources.append((given, _read(path)))
        else:
            raise UserError(f"{given} does not exist; pass migration .sql files or a folder of them")
    return sources


def _timed(
    sources: list[Source],
    rules: Sequence[Rule],
    version: tuple[int, str],
    reported: set[str] | None = None,
    volatility: VolatilityLookup | None = None,
) -> LintOutcome:
    started = time.perf_counter()
    findings = lint_migrations(sources, rules=rules, pg_version=version[0], volatility=volatility)
    if reported is not None:  # the others inform the rules (e.g. a constraint validated earlier) but are not shown
        findings = [f for f in findings if f.file in reported]
        sources = [(path, text) for path, text in sources if path in reported]
    return LintOutcome(sources, findings, time.perf_counter() - started, *version)


def lint_files(settings: Settings, paths: Sequence[str], rules: Sequence[Rule], pg_version: int | None) -> LintOutcome:
    return _timed(file_sources(paths), rules, offline_version(settings, pg_version))


def _workspace_sources(ctx: Request) -> list[Source]:
    root = ctx.settings.project_root
    return [(display_path(m.sql_path, root), m.text) for m in ctx.workspace.migrations]


def lint_workspace(ctx: Request, rules: Sequence[Rule], pg_version: int | None) -> LintOutcome:
    """Every migration of the workspace, offline."""
    return _timed(_workspace_sources(ctx), rules, offline_version(ctx.settings, pg_version))


def lint_pending(ctx: Request, rules: Sequence[Rule], pg_version: int | None) -> LintOutcome:
    """Only the migrations the target has not applied yet, judged for its version and its functions' volatility."""
    workspace, root = ctx.workspace, ctx.settings.project_root
    with connect(ctx) as c:
        entries = runner.status(c.conn, workspace)
        unapplied = {e.tag for e in entries if e.state in (MigrationState.PENDING, MigrationState.OUT_OF_ORDER)}
        pending = {display_path(m.sql_path, root) for m in workspace.migrations if m.tag in unapplied}
        version = target_version(c.conn, pg_version)
        return _timed(_workspace_sources(ctx), rules, version, pending, catalogue_volatility(c.conn))


def lint_since(ctx: Request, ref: str, rules: Sequence[Rule], pg_version: int | None) -> LintOutcome:
    """Only the migrations whose files were added or changed since the merge base of ``ref`` and HEAD.

    The migrations before the last changed one are linted with them for context, as with
    --pending, but not reported; with nothing changed nothing is parsed at all.
    """
    from drizzle_ops.lint.since import changed_migrations, changed_since

    started = time.perf_counter()
    version = offline_version(ctx.settings, pg_version)
    changes = changed_since(ref, ctx.workspace.migrations_dir)
    migrations = ctx.workspace.migrations
    changed = changed_migrations(migrations, changes)
    if not changed:
        return LintOutcome([], [], time.perf_counter() - started, *version, since=changes)
    root = ctx.settings.project_root
    reported = {display_path(m.sql_path, root) for m in changed}
    last = max(migrations.index(m) for m in changed)
    sources = [(display_path(m.sql_path, root), m.text) for m in migrations[: last + 1]]
    outcome = _timed(sources, rules, version, reported)
    outcome.seconds, outcome.since = time.perf_counter() - started, changes
    return outcome
