"""Recognising a transaction-mode pooler from the URL, the pgbouncer mark removed, and the invoke.yaml keys for both.

The real PgBouncer runs in tests/integration/test_pooler.py (a URL with the mark connects there).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from drizzle_ops.context.config import Settings
from drizzle_ops.context.target import Target, resolve_target
from drizzle_ops.engine.pooler import transaction_pooler, without_pooler_parameters
from drizzle_ops.errors import UserError
from tests.helpers import run_inv


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql://app@db.internal:6432/app?pgbouncer=true", "pgbouncer=true in the URL"),
        ("postgresql://app@db.internal:6432/app?sslmode=require&pgbouncer=1", "pgbouncer=true in the URL"),
        ("postgresql://app@db.internal:6432/app?pgbouncer=YES", "pgbouncer=true in the URL"),
        (
            "postgresql://postgres.abc:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres",
            "port 6543, Supabase's transaction pooler",
        ),
        (
            "postgresql://neondb_owner:pw@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/neondb?sslmode=require",
            "host ep-cool-darkness-123456-pooler, a Neon pooled endpoint",
        ),
        ("postgres://app@db-pooler:5432/app", "host db-pooler, a Neon pooled endpoint"),
    ],
)
def test_each_mark_of_a_transaction_pooler_is_recognised_and_named(url: str, reason: str) -> None:
    assert transaction_pooler(url) == reason


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:pw@db.example.com:5432/app",
        "postgresql://app:pw@db.example.com/app?sslmode=require",
        "postgresql://postgres:pw@db.abcdefgh.supabase.co:5432/postgres",  # Supabase's direct URL
        "postgresql://postgres.abc:pw@aws-0-eu-central-1.pooler.supabase.com:5432/postgres",  # its session mode
        "postgresql://neondb_owner:pw@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb",  # Neon, direct
        "postgresql://app@pooler.example.com/app",  # "-pooler" ends a first label, not "pooler" alone
        "postgresql://app@db.eu-pooler.example.com/app",  # only the first label counts
        "postgresql://app@db.internal:6432/app?pgbouncer=false",
        "postgresql://app:6543@db.internal/app",  # a password is no port
        "postgresql://app:p%3Fpgbouncer%3Dtrue@db.internal/app",  # nor is a password a parameter
        "postgresql://app@pgbouncer.internal/app",
    ],
)
def test_a_direct_url_is_not_taken_for_a_pooler(url: str) -> None:
    assert transaction_pooler(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "postgresql://app@db.internal:notaport/app?pgbouncer=true",
        "postgresql://app@db.internal:99999/app",
        "postgresql://[::1/app",
        "postgresql://app@[::1]:6543/app",
        "postgresql://app@h1:5432,h2:6543/app",
        "postgresql://%zz@db/app?pgbouncer=%zz",
    ],
)
def test_a_malformed_url_never_raises(url: str) -> None:
    transaction_pooler(url)  # a reason or None; the connection says what is wrong with the URL
    without_pooler_parameters(url)


def test_the_ipv6_supavisor_port_is_recognised() -> None:
    assert transaction_pooler("postgresql://app@[::1]:6543/app") == "port 6543, Supabase's transaction pooler"


def test_the_pgbouncer_mark_is_removed_and_everything_else_kept_as_written() -> None:
    url = (
        "postgresql://app:p%40ss@db:6432/app?options=-c%20statement_timeout%3D5s&pgbouncer=true&application_name=a%2Bb"
    )
    stripped = without_pooler_parameters(url)
    assert stripped == "postgresql://app:p%40ss@db:6432/app?options=-c%20statement_timeout%3D5s&application_name=a%2Bb"
    # what libpq reads from it: the space a space, the plus a plus, the password decoded
    params = conninfo_to_dict(stripped)
    assert (params["options"], params["application_name"], params["password"]) == (
        "-c statement_timeout=5s",
        "a+b",
        "p@ss",
    )
    assert without_pooler_parameters("postgresql://app@db:6432/app?pgbouncer=true") == "postgresql://app@db:6432/app"
    assert without_pooler_parameters("postgresql://app@db/app?pgbouncer=false&&x=1") == "postgresql://app@db/app?x=1"


def test_a_url_without_the_mark_is_returned_unchanged() -> None:
    for url in ("postgresql://app@pgbouncer.internal:6432/app?sslmode=require", "postgresql://app@db/app?a=%20"):
        assert without_pooler_parameters(url) == url


# -- invoke.yaml: pooler and direct_url_env ---------------------------------------------------------------------------


def settings(environments: Mapping[str, object], **top: object) -> Settings:
    return Settings.from_mapping({"environments": environments, **top}, Path("/project"))


def test_pooler_values_are_read_and_a_bad_one_is_a_user_error() -> None:
    envs = settings({"a": {"pooler": "transaction"}, "b": {"pooler": "session"}, "c": {"pooler": False}, "d": {}})
    assert [envs.environment(name).pooler for name in "abcd"] == ["transaction", "session", "none", None]
    with pytest.raises(UserError) as caught:
        settings({"staging": {"pooler": "pgbouncer"}})
    assert caught.value.exit_code == 2
    assert caught.value.message == (
        "invoke.yaml: environment staging: pooler must be one of transaction, session, none, not 'pgbouncer'"
    )


def test_a_bad_pooler_value_exits_2_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(json.dumps({"drizzle_ops": {"environments": {"staging": {"pooler": "always"}}}}))
    done = run_inv("-f", str(config), "status", "--env", "staging")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: invoke.yaml: environment staging: pooler must be one of transaction, session, none, not 'always'"
    ]


def test_the_direct_url_comes_from_the_environments_variable_else_the_top_level_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STAGING_URL", "postgresql://app@pooled:6543/app")
    monkeypatch.setenv("STAGING_DIRECT_URL", "postgresql://app@direct:5432/app")
    monkeypatch.setenv("DIRECT_URL", "postgresql://app@default-direct:5432/app")
    monkeypatch.setenv("SUPABASE_DIRECT", "postgresql://app@supabase-direct:5432/app")
    envs = {"staging": {"url_env": "STAGING_URL", "direct_url_env": "STAGING_DIRECT_URL"}, "prod": {}}
    own = resolve_target(settings(envs), None, settings(envs).environment("staging"))
    assert (own.direct_url, own.direct_variable) == ("postgresql://app@direct:5432/app", "STAGING_DIRECT_URL")
    assert own.direct_hint.startswith("set $STAGING_DIRECT_URL (direct_url_env of environment staging)")
    default = resolve_target(settings(envs), "postgresql://app@pooled:6543/app", settings(envs).environment("prod"))
    assert (default.direct_url, default.direct_variable) == ("postgresql://app@default-direct:5432/app", "DIRECT_URL")
    assert "name another variable with direct_url_env for environment prod" in default.direct_hint
    renamed = resolve_target(settings(envs, direct_url_env="SUPABASE_DIRECT"), "postgresql://app@pooled/app", None)
    assert (renamed.direct_url, renamed.direct_variable) == (
        "postgresql://app@supabase-direct:5432/app",
        "SUPABASE_DIRECT",
    )
    monkeypatch.delenv("STAGING_DIRECT_URL")
    unset = resolve_target(settings(envs), None, settings(envs).environment("staging"))
    assert (unset.direct_url, unset.direct_variable) == (None, "STAGING_DIRECT_URL")  # never the top-level one instead


def test_the_embedded_default_server_needs_no_direct_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DIRECT_URL", "postgresql://app@direct/app")
    target = resolve_target(settings({}), None, None)
    assert (target.url, target.direct_url, target.pooled) == (None, None, None)


def test_target_pooled_follows_the_environment_else_the_url() -> None:
    envs = settings(
        {"declared": {"pooler": "transaction"}, "session": {"pooler": "session"}, "none": {"pooler": "none"}}
    )
    direct, supavisor = "postgresql://app@db:5432/app", "postgresql://app@db:6543/app"
    assert (
        Target(direct, "--url", envs.environment("declared")).pooled == "environment declared says pooler: transaction"
    )
    assert Target(supavisor, "--url", envs.environment("session")).pooled is None  # session mode keeps the session
    assert Target(supavisor, "--url", envs.environment("none")).pooled is None
    assert Target(supavisor, "--url").pooled == "port 6543, Supabase's transaction pooler"
    assert Target(direct, "--url").pooled is None
    assert Target(None, "the embedded default server").pooled is None
