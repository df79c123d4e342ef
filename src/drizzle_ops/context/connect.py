"""Open the context's target: connect, starting the embedded default server when that is the target."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial

import psycopg

from drizzle_ops.context.request import Request
from drizzle_ops.context.target import Target
from drizzle_ops.disposable.base import Server
from drizzle_ops.disposable.default import DefaultServer
from drizzle_ops.engine import connection
from drizzle_ops.engine.sessions import Sessions


@dataclass
class Connected:
    conn: psycopg.Connection
    target: Target  # with the URL of the embedded server filled in, when that was the target
    database: str  # user@host:port/db, from the live connection
    sessions: Sessions  # where work that needs a session runs (the direct URL's connection, when given)
    started_server: Server | None = None


@contextmanager
def connect(ctx: Request) -> Iterator[Connected]:
    target, settings = ctx.target, ctx.settings
    started: Server | None = None
    if target.url is None:
        default = DefaultServer(settings.state_dir)
        server = default.running()
        if server is None:
            ctx.say("starting a disposable PostgreSQL server (the embedded default) …")
            server, _ = default.ensure(provider=settings.provider, major=settings.pg_major)
            started = server
        target = replace(target, url=server.url, source=f"the embedded default server ({server.provider})")
    assert target.url is not None
    conn = connection.connect(target.url, source=target.source, connect_timeout=settings.connect_timeout)
    direct_url, variable = target.direct_url, target.direct_variable
    open_direct = open_own = None
    if direct_url is not None:
        source = f"${variable}"
        open_direct = partial(connection.connect, direct_url, source=source, connect_timeout=settings.connect_timeout)
    elif not target.keeps_session:  # nothing says the URL keeps a session: the second connection must prove it
        open_own = partial(
            connection.connect,
            target.url,
            source=target.source,
            connect_timeout=settings.connect_timeout,
            session_probe=True,
        )
    sessions = Sessions(
        conn,
        pooled=target.pooled,
        open_direct=open_direct,
        open_own=open_own,
        direct_source=f"${variable}" if direct_url else None,
        direct_hint=target.direct_hint,
    )
    try:
        yield Connected(conn, target, connection.describe(conn), sessions, started)
    finally:
        sessions.close()
        conn.close()
