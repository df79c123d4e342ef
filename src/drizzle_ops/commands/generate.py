"""`generate`: drizzle-kit generate through the workspace's package manager, then checks, lint and a down draft;
`generate --check`: whether it would write anything."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drizzle_ops.context.config import Settings
from drizzle_ops.context.request import Log

if TYPE_CHECKING:
    from drizzle_ops.drizzle_kit.check import Checked
    from drizzle_ops.drizzle_kit.generate import Generated


def generate(
    settings: Settings, *, name: str | None = None, custom: bool = False, fix: bool = False, log: Log | None = None
) -> Generated:
    """No context: generate needs no database, and reads the workspace itself after drizzle-kit has written to it."""
    from drizzle_ops.drizzle_kit.generate import generate as run_generate

    return run_generate(
        settings.workspace,
        settings.overrides,
        settings.rollback_dir,
        name=name,
        custom=custom,
        fix=fix,
        project_root=settings.project_root,
        log=log,
    )


def check_generate(settings: Settings, *, name: str | None = None, log: Log | None = None) -> Checked:
    """generate --check: what drizzle-kit generate would write, found on a scratch copy; nothing is written."""
    from drizzle_ops.drizzle_kit.check import check_generate as run_check

    return run_check(settings.workspace, settings.overrides, name=name, project_root=settings.project_root, log=log)
