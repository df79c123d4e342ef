"""Settings and where the database URL comes from."""

from __future__ import annotations

from pathlib import Path

import pytest

from drizzle_ops.context.config import Settings
from drizzle_ops.context.target import resolve_target
from drizzle_ops.errors import UserError

ENVS = {"staging": {"url_env": "STAGING_URL"}, "local": {}}


def settings(**extra: object) -> Settings:
    return Settings.from_mapping({"environments": ENVS, **extra}, Path("/project"))


def test_paths_are_relative_to_the_project() -> None:
    s = settings(workspace="ws", rollback_dir="/abs/rb")
    assert s.workspace == Path("/project/ws") and s.rollback_dir == Path("/abs/rb")


def test_flag_overrides_config() -> None:
    s = Settings.from_mapping({"workspace": "a"}, Path("/p"), workspace="b", lock_wait=None)
    assert s.workspace == Path("/p/b") and s.lock_wait == 60


def test_url_flag_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://env/db")
    assert resolve_target(settings(), "postgresql://flag/db", None).source == "--url"


def test_database_url_then_embedded_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://env/db")
    assert resolve_target(settings(), None, None).source == "$DATABASE_URL"
    monkeypatch.delenv("DATABASE_URL")
    assert resolve_target(settings(), None, None).url is None


def test_named_environment_reads_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://env/db")
    monkeypatch.setenv("STAGING_URL", "postgresql://staging/db")
    target = resolve_target(settings(), None, settings().environment("staging"))
    assert (target.url, target.source) == ("postgresql://staging/db", "$STAGING_URL")


def test_named_environment_with_unset_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STAGING_URL", raising=False)
    with pytest.raises(UserError, match=r"\$STAGING_URL, which is not set"):
        resolve_target(settings(), None, settings().environment("staging"))


def test_unknown_environment_lists_known_ones() -> None:
    with pytest.raises(UserError, match="unknown environment 'prod' .*local, staging"):
        resolve_target(settings(), None, settings().environment("prod"))


def test_bad_numbers_are_user_errors() -> None:
    with pytest.raises(UserError):
        settings(lock_wait="soon")


def test_environment_keys_are_checked_and_durations_read() -> None:
    with pytest.raises(UserError, match=r"environment staging has unknown keys \['lock_timout'\]"):
        settings(environments={"staging": {"lock_timout": "5s"}})
    with pytest.raises(UserError, match="retries and retry_backoff must be numbers"):
        settings(environments={"staging": {"retries": "many"}})
    env = settings(environments={"staging": {"lock_timeout": 1500, "statement_timeout": "15min", "retries": 3}})
    staging = env.environment("staging")
    assert (staging.lock_timeout, staging.statement_timeout, staging.retries) == ("1500ms", "15min", 3)
