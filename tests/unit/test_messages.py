"""Error messages never carry a password, and bad URLs are bad input."""

from __future__ import annotations

import pytest

from drizzle_ops.engine.connection import check_url, connect_reason, redact
from drizzle_ops.engine.lock import lock_key
from drizzle_ops.errors import UserError


@pytest.mark.parametrize(
    ("url", "text", "expected"),
    [
        ("postgresql://u:s3cret-pass@h/d", "x s3cret-pass y", "x *** y"),
        ("postgresql://u:x@h/d", "next to x: fails", "next to ***: fails"),  # short: standalone only
        ("postgresql://u@h/d", "no password here", "no password here"),
    ],
)
def test_redact(url: str, text: str, expected: str) -> None:
    assert redact(text, url) == expected


@pytest.mark.parametrize(
    "url",
    ["mysql://u:p@h/d", "postgresql://u:p@h:port/d", "postgres://u:p@h:5432,h2:x/d", "not a url"],
)
def test_malformed_urls_are_user_errors_that_do_not_echo_the_url(url: str) -> None:
    with pytest.raises(UserError) as caught:
        check_url(url, "--url")
    assert ":p@" not in caught.value.message and "--url" in caught.value.message


def test_valid_url_passes() -> None:
    check_url("postgresql://u:p%40ss@localhost:5432/db?sslmode=disable", "--url")


def test_connect_reason_keeps_the_useful_part() -> None:
    exc = Exception(
        'connection failed: connection to server at "127.0.0.1", port 5 failed: FATAL:  password authentication '
        'failed for user "app"\n\tmore'
    )
    assert connect_reason(exc) == 'password authentication failed for user "app"'


def test_lock_key_is_stable_and_per_table() -> None:
    assert lock_key("drizzle", "__drizzle_migrations") == lock_key("drizzle", "__drizzle_migrations")
    assert lock_key("drizzle", "__drizzle_migrations") != lock_key("ops", "__drizzle_migrations")
    assert -(2**63) <= lock_key("a", "b") < 2**63
