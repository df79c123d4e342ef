"""What every disposable-server provider offers, and the server record we keep."""

from __future__ import annotations

import secrets
import socket
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import psycopg

from drizzle_ops.errors import OperationFailed

LABEL = "org.drizzle-ops.managed"
DEFAULT_MAJOR = "15"


@dataclass
class Server:
    provider: str
    url: str
    major: str
    details: dict[str, Any] = field(default_factory=dict)  # container id, data dir, ...

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Server:
        return cls(
            provider=data["provider"], url=data["url"], major=str(data["major"]), details=data.get("details", {})
        )


class Provider(Protocol):
    name: str

    def up(self, *, major: str | None = None) -> Server: ...
    def down(self, server: Server) -> None: ...


def new_password() -> str:
    return secrets.token_urlsafe(18)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def answers(url: str, timeout: int = 2) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=timeout, autocommit=True) as conn:
            conn.execute("select 1")
        return True
    except psycopg.Error:
        return False


def wait_until_ready(url: str, *, timeout: float, still_starting: Any = None) -> float:
    """Poll until a query succeeds; ``still_starting()`` may raise to stop early."""
    started = time.monotonic()
    while True:
        if answers(url, timeout=1):
            return time.monotonic() - started
        if still_starting is not None:
            still_starting()
        if time.monotonic() - started > timeout:
            raise OperationFailed(f"the disposable server did not answer within {timeout:g}s; see its log")
        time.sleep(0.05)
