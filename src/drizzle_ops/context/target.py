"""The target: which database a task works on, and what its environment asks of it. Resolved once, at the edge."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from drizzle_ops.context.config import Environment, Settings
from drizzle_ops.engine.execution import ExecutionPolicy
from drizzle_ops.engine.pooler import transaction_pooler
from drizzle_ops.errors import UserError


@dataclass(frozen=True)
class Target:
    """Where to connect, and how we know; ``url`` is None for the embedded default server."""

    url: str | None
    source: str  # how the URL was found ("--url", "$STAGING_DATABASE_URL", …), for messages
    environment: Environment | None = None
    # the direct URL (no pooler) for work that needs a session, and the variable it is read from
    direct_url: str | None = None
    direct_variable: str | None = None
    fleet_member: bool = False  # one database of a fleet: its URL came from the fleet's list

    @property
    def direct_hint(self) -> str:
        """How to give the direct URL, for a refusal."""
        if self.fleet_member:
            return "list the targets' direct URLs in the fleet's targets instead of pooled ones"
        variable = self.direct_variable or "DIRECT_URL"
        where = ""
        if self.environment is not None and self.environment.direct_url_env:
            where = f" (direct_url_env of environment {self.environment.name})"
        elif self.environment is not None:
            where = f" (or name another variable with direct_url_env for environment {self.environment.name})"
        return f"set ${variable}{where} to the database's direct URL, which bypasses the pooler"

    @property
    def keeps_session(self) -> bool:
        """The environment says its URL keeps a session (``pooler: session`` or ``none``): no probe needed."""
        return self.environment is not None and self.environment.pooler in ("session", "none")

    @property
    def pooled(self) -> str | None:
        """Why the URL is taken for a transaction-mode pooler's (None: it keeps its session)."""
        declared = self.environment.pooler if self.environment is not None else None
        if declared == "transaction":
            return f"environment {self.environment.name if self.environment else '?'} says pooler: transaction"
        if declared in ("session", "none") or self.url is None:
            return None
        return transaction_pooler(self.url)

    @property
    def protected(self) -> bool:
        return self.environment is not None and self.environment.protected

    @property
    def policy(self) -> ExecutionPolicy:
        """The environment's lock/statement timeouts and retry policy; none without an environment."""
        environment = self.environment
        if environment is None:
            return ExecutionPolicy()
        return ExecutionPolicy(
            lock_timeout=environment.lock_timeout,
            statement_timeout=environment.statement_timeout,
            retries=environment.retries,
            backoff=environment.retry_backoff,
            environment=environment.name,
        )


def resolve_target(settings: Settings, url: str | None, environment: Environment | None) -> Target:
    """--url, else --env's variable, else DATABASE_URL, else the embedded default server.

    An explicit --env wins over DATABASE_URL: asking for staging and silently
    getting whatever DATABASE_URL points at would be the worst surprise. (Whether the run
    goes to a fleet instead was decided before: context/resolve.py.)
    """
    target = _main_target(settings, url, environment)
    if target.url is None:
        return target  # the embedded default server is reached directly
    variable = (environment.direct_url_env if environment is not None else None) or settings.direct_url_env
    return replace(target, direct_url=os.environ.get(variable) or None, direct_variable=variable)


def _main_target(settings: Settings, url: str | None, environment: Environment | None) -> Target:
    if url:
        return Target(url, "--url", environment)
    if environment is not None and environment.url_env:
        value = os.environ.get(environment.url_env)
        if not value:
            raise UserError(
                f"environment {environment.name} reads its URL from ${environment.url_env}, which is not set"
            )
        return Target(value, f"${environment.url_env}", environment)
    if environment is None and os.environ.get("DATABASE_URL"):
        return Target(os.environ["DATABASE_URL"], "$DATABASE_URL")
    return Target(None, "the embedded default server", environment)
