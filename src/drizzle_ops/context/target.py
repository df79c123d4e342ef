"""The target: which database a task works on, and what its environment asks of it. Resolved once, at the edge."""

from __future__ import annotations

import os
from dataclasses import dataclass

from drizzle_ops.context.config import Environment, Settings
from drizzle_ops.engine.runner import ExecutionPolicy
from drizzle_ops.errors import UserError


@dataclass(frozen=True)
class Target:
    """Where to connect, and how we know; ``url`` is None for the embedded default server."""

    url: str | None
    source: str  # how the URL was found ("--url", "$STAGING_DATABASE_URL", …), for messages
    environment: Environment | None = None

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


def resolve_target(settings: Settings, url: str | None, env: str | None) -> Target:
    """--url, else --env's variable, else DATABASE_URL, else the embedded default server.

    An explicit --env wins over DATABASE_URL: asking for staging and silently
    getting whatever DATABASE_URL points at would be the worst surprise.
    """
    environment = settings.environment(env) if env else None
    if url:
        return Target(url, "--url", environment)
    if environment is not None and environment.is_fleet:
        # its url_env, if any, names the control database of targets_query: never a target by itself
        raise UserError(
            f"environment {environment.name} is a fleet of databases: only migrate, status and verify run on a "
            "fleet (or name one database with --url)"
        )
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
