"""Running one statement of a file: the environment's limits, the failure report, retries after a lock timeout.

Shared by migrations and down files, and by every way they run (one transaction, outside one,
their own transactions), so each failure is reported, and retried, the same way.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from drizzle_ops.engine import server
from drizzle_ops.engine.workspace import Statement, line_of
from drizzle_ops.errors import MigrationFailed

LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"  # statement_timeout (or a cancel request)

OnRetry = Callable[[int, float, str], None]  # attempt, delay in seconds, why (the blocker when known)


@dataclass(frozen=True)
class ExecutionPolicy:
    """Per-environment limits: how long a statement may wait for a table lock, and retries when it can't get one."""

    lock_timeout: str | None = None  # e.g. "5s"; SET LOCAL per migration
    statement_timeout: str | None = None
    retries: int = 0  # extra attempts after SQLSTATE 55P03 (lock_not_available)
    backoff: float = 0.5  # first wait in seconds; doubles each attempt, with jitter
    environment: str | None = None  # the invoke.yaml environment these came from, for error messages
    lock_wait: float = 60.0  # seconds to wait for another run's migration lock (--lock-wait, lock_wait)

    def describe(self, sqlstate: str | None) -> str | None:
        """For a timeout error: which setting stopped it, its value, and who set it."""
        name = {LOCK_NOT_AVAILABLE: "lock_timeout", QUERY_CANCELED: "statement_timeout"}.get(sqlstate or "")
        if name is None:
            return None
        value = self.lock_timeout if name == "lock_timeout" else self.statement_timeout
        if value and self.environment:
            return f"{name} {value} (set by environment {self.environment} in invoke.yaml)"
        if value:
            return f"{name} {value} (set by drizzle-ops)"
        return f"{name} (not set by drizzle-ops: a role or database default, or PGOPTIONS)"

    def delay(self, attempt: int) -> float:
        base = self.backoff * 2.0 ** (attempt - 1)
        return base / 2 + random.uniform(0, base / 2)  # "equal jitter": never zero, never in lockstep

    def retry(self, failure: MigrationFailed, attempt: int) -> bool:
        """Whether a failure on the ``attempt``-th try (1-based) is a lock timeout worth another try."""
        return failure.sqlstate == LOCK_NOT_AVAILABLE and attempt <= self.retries


def run_statement(
    conn: psycopg.Connection,
    statement: Statement,
    *,
    tag: str,
    path: str,
    failure: type[MigrationFailed] = MigrationFailed,
    policy: ExecutionPolicy | None = None,
    **context: Any,
) -> None:
    """Send one chunk as drizzle would; on an error raise ``failure`` naming tag, statement, file:line and SQLSTATE."""
    try:
        # no parameters: simple protocol, like node-postgres; a migration's chunk goes as the bytes read from its file
        conn.execute(statement.encoded(conn.info.encoding))
    except psycopg.Error as exc:
        position = int(exc.diag.statement_position) if exc.diag.statement_position else None
        raise failure_of(
            conn, exc, statement, position, tag=tag, path=path, failure=failure, policy=policy, **context
        ) from None


def failure_of(
    conn: psycopg.Connection,
    exc: psycopg.Error,
    statement: Statement,
    position: int | None,
    *,
    tag: str,
    path: str,
    failure: type[MigrationFailed] = MigrationFailed,
    policy: ExecutionPolicy | None = None,
    **context: Any,
) -> MigrationFailed:
    """The report of ``statement`` failing with ``exc``; ``position`` counts characters from the statement's start."""
    diag = exc.diag
    return failure(
        tag=tag,
        statement_number=statement.number,
        line=line_of(statement, position),
        path=path,
        sqlstate=diag.sqlstate,
        server_message=diag.message_primary or str(exc).strip(),
        hint=diag.message_hint,
        detail=diag.message_detail,
        role=conn.info.user,
        setting=(policy or ExecutionPolicy()).describe(diag.sqlstate),
        connection_lost=conn.broken,
        **context,
    )


def name_blocker(conn: psycopg.Connection, failure: MigrationFailed) -> MigrationFailed:
    """After a lock timeout (and the rollback): the failure, saying who probably held the lock."""
    if failure.sqlstate != LOCK_NOT_AVAILABLE or failure.detail is not None or conn.broken:
        return failure
    blocker = server.likely_blocker(conn)  # asked only now: inside the failed transaction no query can run
    return failure.with_detail(f"the lock is probably held by {blocker}") if blocker else failure


def with_lock_retries(
    attempt_once: Callable[[], None], conn: psycopg.Connection, policy: ExecutionPolicy, on_retry: OnRetry
) -> None:
    """Retry only lock timeouts: what failed was rolled back whole, so running it again is safe."""
    attempt = 0
    while True:
        try:
            attempt_once()
            return
        except MigrationFailed as failure:
            failure = name_blocker(conn, failure)
            attempt += 1
            if not policy.retry(failure, attempt):
                raise failure from None
            delay = policy.delay(attempt)
            on_retry(attempt, delay, failure.detail or failure.server_message)
            time.sleep(delay)
