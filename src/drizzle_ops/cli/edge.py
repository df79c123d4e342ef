"""What every task does at the edge: settings from invoke.yaml and flags, the request context, and errors
turned into one line and an exit code (never a password, never a traceback for a user error)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from invoke.exceptions import Exit

from drizzle_ops.cli import render
from drizzle_ops.context.config import Settings
from drizzle_ops.context.request import Reading, Request, build_context
from drizzle_ops.engine.connection import redact
from drizzle_ops.errors import OpsError


def _plain(value: Any) -> Any:
    """invoke's config proxies to plain dicts, all the way down."""
    if isinstance(value, Mapping) or hasattr(value, "_config"):
        return {k: _plain(value[k]) for k in value}
    return value


# where the invoke.yaml section names the project folder: set by the collection (see cli/tasks.py), not by users
PROJECT_ROOT_KEY = "project_root"


def settings_from(config: Any, **flags: Any) -> Settings:
    """The ``drizzle_ops`` section of invoke's config, flags on top; paths are relative to the project folder."""
    section = _plain(config.get("drizzle_ops", {})) if config is not None else {}
    root = Path(section.pop(PROJECT_ROOT_KEY, None) or os.getcwd())
    with guarded():  # a bad value in invoke.yaml or a flag is one line and exit 2, like any other
        return Settings.from_mapping(section, root, **flags)


@contextmanager
def guarded(url: str | None = None, as_json: bool = False) -> Iterator[None]:
    """Turn our errors into one line on stderr and an exit code; never show a password."""
    secrets_from = [u for u in (url, os.environ.get("DATABASE_URL")) if u]

    def clean(text: str) -> str:
        for source in secrets_from:
            text = redact(text, source)
        return text

    try:
        yield
    except OpsError as exc:
        if as_json:  # scripts get the failure as the one JSON document too
            render.print_json(json.loads(clean(json.dumps({"ok": False, "error": exc.as_dict()}, default=str))))
        raise Exit(f"error: {clean(exc.message)}", code=exc.exit_code) from None
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        code = f"[{exc.diag.sqlstate}] " if exc.diag.sqlstate else ""  # one that no step named: still its SQLSTATE
        raise Exit(f"error: database error: {code}{clean(first)}", code=1) from None
    except KeyboardInterrupt:
        raise Exit("interrupted: the migration in progress (if any) was rolled back", code=130) from None


def terminal_prompt() -> Callable[[str], str] | None:
    """``input`` when a person is at a terminal, else None (scripts confirm with --yes alone)."""
    return input if sys.stdin.isatty() and sys.stderr.isatty() else None


def open_context(
    settings: Settings,
    *,
    url: str | None = None,
    env: str | None = None,
    as_json: bool = False,
    yes: bool = False,
    reading: Reading = Reading.MIGRATIONS,
) -> Request:
    """The request context, resolved once: call it inside ``guarded``."""
    return build_context(
        settings,
        url=url,
        env=env,
        reading=reading,
        as_json=as_json,
        yes=yes,
        ask=terminal_prompt(),
        log=render.log,
    )


def lock_wait_line(holder: object) -> None:
    render.log(f"waiting for the migration lock, held by {holder or 'another process'} …")
