"""`lint`: check migration SQL for lock and compatibility hazards; offline unless it asks the target what is pending."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from drizzle_ops.commands.status import status
from drizzle_ops.context.request import Context
from drizzle_ops.engine.plan import State
from drizzle_ops.errors import UserError
from drizzle_ops.lint import Finding, Rule, lint_migrations
from drizzle_ops.paths import display_path

Source = tuple[str, str]  # (the path as shown, the SQL text)


@dataclass
class LintOutcome:
    sources: list[Source]  # the files reported on
    findings: list[Finding]
    seconds: float


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


def _timed(sources: list[Source], rules: Sequence[Rule], reported: set[str] | None = None) -> LintOutcome:
    started = time.perf_counter()
    findings = lint_migrations(sources, rules=rules)
    if reported is not None:  # the others inform the rules (e.g. a constraint validated earlier) but are not shown
        findings = [f for f in findings if f.file in reported]
        sources = [(path, text) for path, text in sources if path in reported]
    return LintOutcome(sources, findings, time.perf_counter() - started)


def lint_files(paths: Sequence[str], rules: Sequence[Rule]) -> LintOutcome:
    return _timed(file_sources(paths), rules)


def _workspace_sources(ctx: Context) -> list[Source]:
    root = ctx.settings.project_root
    return [(display_path(m.sql_path, root), m.text) for m in ctx.workspace.migrations]


def lint_workspace(ctx: Context, rules: Sequence[Rule]) -> LintOutcome:
    """Every migration of the workspace, offline."""
    return _timed(_workspace_sources(ctx), rules)


def lint_pending(ctx: Context, rules: Sequence[Rule]) -> LintOutcome:
    """Only the migrations the target has not applied yet."""
    entries = status(ctx).entries
    unapplied = {e.tag for e in entries if e.state in (State.PENDING, State.OUT_OF_ORDER)}
    root = ctx.settings.project_root
    pending = {display_path(m.sql_path, root) for m in ctx.workspace.migrations if m.tag in unapplied}
    return _timed(_workspace_sources(ctx), rules, pending)
