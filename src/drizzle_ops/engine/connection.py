"""Connecting to PostgreSQL: URL checks, the connection itself, and messages that never hold the password.

Connections are opened in autocommit mode (transactions are explicit) and never use prepared
statements: through a transaction-mode pooler (PgBouncer, Supavisor) each transaction may run on
another server connection, where psycopg's automatic ``_pg3_N`` statements would collide (42P05)
or be missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from drizzle_ops.engine.pooler import without_pooler_parameters
from drizzle_ops.errors import OperationFailed, StepFailed, UserError

APPLICATION_NAME = "drizzle-ops"


def redact(text: str, url: str | None) -> str:
    """Remove the password of ``url`` from ``text`` (belt and braces: messages should never hold it)."""
    if not url:
        return text
    try:
        password = str(conninfo_to_dict(without_pooler_parameters(url)).get("password") or "")
    except psycopg.Error:
        return text
    if not password:
        return text
    if len(password) >= 6:
        return text.replace(password, "***")
    # a short password would also match inside ordinary words: replace only standalone occurrences
    return re.sub(rf"(?<![A-Za-z0-9]){re.escape(password)}(?![A-Za-z0-9])", "***", text)


def check_url(url: str, source: str) -> None:
    """Reject a malformed URL with a message that does not echo it."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise UserError(
            f"the database URL from {source} is not a postgresql:// URL; "
            "expected postgresql://USER:PASSWORD@HOST:PORT/DBNAME"
        )
    try:
        params = conninfo_to_dict(without_pooler_parameters(url))
    except psycopg.Error:
        params = {"port": "invalid"}
    ports = str(params.get("port") or "5432").split(",")
    if not all(p.strip().isdigit() for p in ports):
        raise UserError(
            f"the database URL from {source} is malformed; expected postgresql://USER:PASSWORD@HOST:PORT/DBNAME "
            "(percent-encode special characters in the password)"
        ) from None


def describe(conn: psycopg.Connection) -> str:
    """user@host:port/db, for logs: built from the live connection, never from the URL."""
    info = conn.info
    return f"{info.user}@{info.host}:{info.port}/{info.dbname}"


def connect(
    url: str, *, source: str = "--url", connect_timeout: int = 10, session_probe: bool = False
) -> psycopg.Connection:
    """An autocommit connection without prepared statements; ``session_probe``: one that proves it has a session."""
    check_url(url, source)
    url = without_pooler_parameters(url)
    options: dict[str, Any] = {"application_name": APPLICATION_NAME}
    params = conninfo_to_dict(url)
    if "connect_timeout" not in params:  # the URL's own setting wins
        options["connect_timeout"] = connect_timeout
    if session_probe:
        options["options"] = f"{params.get('options') or ''} -c {PROBE}=on".strip()
    try:
        conn = psycopg.connect(url, autocommit=True, prepare_threshold=None, **options)
    except psycopg.OperationalError as exc:
        if session_probe and "unsupported startup parameter" in str(exc):
            raise NoSession(source, "it refused a session's startup options, as PgBouncer does") from None
        params = conninfo_to_dict(url)
        where = f"{params.get('host', 'localhost')}:{params.get('port', 5432)}/{params.get('dbname', '')}"
        raise OperationFailed(
            f"cannot connect to {where} (URL from {source}): {redact(connect_reason(exc), url)}; "
            "check that the server is up and the URL is right"
        ) from None
    if session_probe:
        row = conn.execute(f"select current_setting('{PROBE}', true)").fetchone()
        if not row or row[0] != "on":
            conn.close()
            raise NoSession(source, "it dropped a session's startup options")
    return conn


# a setting given at connection start-up: only a real session (a server, or a session-mode pooler passing it on)
# keeps it; PgBouncer refuses startup options it does not know, other poolers drop them
PROBE = "drizzle_ops.session"


class NoSession(UserError):
    """The URL reaches the server through something that keeps no session (a transaction-mode pooler)."""

    def __init__(self, source: str, how: str) -> None:
        self.source = source
        self.how = how
        super().__init__(
            f"the database URL from {source} goes through a connection pooler that keeps no session ({how})"
        )


def connect_reason(exc: Exception) -> str:
    """The useful part of libpq's message: 'Connection refused', 'password authentication failed ...'."""
    first = " ".join(str(exc).split("\n")[0].split())
    reason = first.rsplit("failed: ", 1)[-1] if "failed: " in first else first
    return reason.removeprefix("FATAL: ").strip() or "unknown error"


@contextmanager
def step(conn: psycopg.Connection, description: str, *, command: str = "migrate") -> Iterator[None]:
    """Name the failed work outside any migration (creating the table, the lock, reading rows), with its SQLSTATE."""
    try:
        yield
    except psycopg.Error as exc:
        raise StepFailed(
            description,
            sqlstate=exc.diag.sqlstate,
            server_message=exc.diag.message_primary or connect_reason(exc),
            command=command,
            role=conn.info.user,
            connection_lost=conn.broken,
        ) from None
