"""Protected environments and the retry backoff."""

from __future__ import annotations

import pytest

from drizzle_ops.context.config import Environment
from drizzle_ops.context.safety import confirm_protected
from drizzle_ops.engine.runner import ExecutionPolicy
from drizzle_ops.errors import UserError

PROD = Environment("production", url_env="PROD_URL", protected=True)


def test_unprotected_environments_need_nothing() -> None:
    confirm_protected(None, yes=False, action="migrate")
    confirm_protected(Environment("staging"), yes=False, action="migrate")


def test_protected_needs_yes() -> None:
    with pytest.raises(UserError, match="production is a protected environment: rollback needs --yes"):
        confirm_protected(PROD, yes=False, action="rollback")


def test_without_a_terminal_yes_is_enough() -> None:
    confirm_protected(PROD, yes=True, action="migrate", ask=None)


def test_at_a_terminal_the_name_must_be_typed() -> None:
    prompts: list[str] = []

    def typed(answer: str):  # type: ignore[no-untyped-def]
        def ask(prompt: str) -> str:
            prompts.append(prompt)
            return answer

        return ask

    confirm_protected(PROD, yes=True, action="migrate", ask=typed("production\n"))
    assert "production" in prompts[0]
    with pytest.raises(UserError, match="did not match"):
        confirm_protected(PROD, yes=True, action="migrate", ask=typed("prod"))


def test_backoff_doubles_with_jitter_and_never_zero() -> None:
    policy = ExecutionPolicy(retries=5, backoff=1.0)
    for attempt in range(1, 6):
        base = 2.0 ** (attempt - 1)
        delays = [policy.delay(attempt) for _ in range(50)]
        assert all(base / 2 <= d <= base for d in delays)
        assert len(set(delays)) > 1
