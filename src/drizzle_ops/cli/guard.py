"""Errors turned into one line and an exit code at the edge: never a password, never a traceback for a user error."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from invoke.exceptions import Exit

from drizzle_ops.cli import render
from drizzle_ops.engine.connection import redact
from drizzle_ops.errors import OpsError


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
    except KeyboardInterrupt as exc:  # a batch migration says what of it stays (engine/batch_migration.py)
        said = str(exc) or "interrupted: the migration in progress (if any) was rolled back"
        raise Exit(said, code=130) from None
