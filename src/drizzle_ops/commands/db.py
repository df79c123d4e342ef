"""`db.up`, `db.down`, `db.url`: the disposable default server that tasks use when no database is named."""

from __future__ import annotations

from drizzle_ops.context.config import Settings
from drizzle_ops.disposable.base import Server
from drizzle_ops.disposable.default import DefaultServer


def up(settings: Settings, provider: str | None = None, major: str | None = None) -> tuple[Server, bool]:
    return DefaultServer(settings.state_dir).ensure(
        provider=provider or settings.provider, major=major or settings.pg_major
    )


def down(settings: Settings) -> Server | None:
    return DefaultServer(settings.state_dir).down()


def remove_leftovers() -> list[str]:
    """Every container drizzle-ops labelled: leftovers of killed runs."""
    from drizzle_ops.disposable.docker import remove_all

    return remove_all()


def running(settings: Settings) -> Server | None:
    return DefaultServer(settings.state_dir).running()
