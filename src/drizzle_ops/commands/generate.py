"""`generate`: drizzle-kit generate through the workspace's package manager, then checks, lint and a down draft."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drizzle_ops.context.config import Settings
from drizzle_ops.context.request import Log

if TYPE_CHECKING:
    from drizzle_ops.drizzle_kit.generate import Generated


def generate(settings: Settings, *, name: str | None = None, custom: bool = False, log: Log | None = None) -> Generated:
    """No context: generate needs no database, and reads the workspace itself after drizzle-kit has written to it."""
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
