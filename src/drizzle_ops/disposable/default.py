"""The embedded default database: one disposable server, started on demand and reused.

Its URL (with a random password) is kept in a git-ignored state file readable
only by its owner.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from drizzle_ops.disposable.base import Provider, Server, answers
from drizzle_ops.errors import OpsError, UserError
from drizzle_ops.image import in_image

STATE_FILE = "default-server.json"
PROVIDERS = ("auto", "docker", "local")


def make_provider(name: str, major: str | None = None) -> Provider:
    """``auto``: docker when the image is already here, else local binaries, else docker (which pulls)."""
    if name not in PROVIDERS:
        raise UserError(f"unknown provider {name!r}; choose one of {', '.join(PROVIDERS)}")
    if name == "auto":
        from drizzle_ops.disposable.docker import engine_answers, has_image
        from drizzle_ops.disposable.local import has_binaries

        name = "docker" if has_image(major) else "local" if has_binaries(major) else "docker"
        if name == "docker" and in_image() and not engine_answers():
            raise UserError(
                "the drizzle-ops image has no PostgreSQL server of its own: give the database with DATABASE_URL, "
                "--url or --env"
            )
    if name == "docker":
        from drizzle_ops.disposable.docker import DockerProvider

        return DockerProvider()
    from drizzle_ops.disposable.local import LocalProvider

    return LocalProvider()


def provider_for(server: Server) -> Provider:
    return make_provider(server.provider)


class DefaultServer:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.path = state_dir / STATE_FILE

    def load(self) -> Server | None:
        try:
            return Server.from_dict(json.loads(self.path.read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError):
            return None  # a damaged state file means no known server

    def save(self, server: Server) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(server.as_dict(), fh, indent=2)
        tmp.replace(self.path)

    def running(self) -> Server | None:
        server = self.load()
        return server if server is not None and answers(server.url) else None

    def ensure(self, *, provider: str = "auto", major: str | None = None) -> tuple[Server, bool]:
        """The running default server, starting one if needed; True when it was started now."""
        if provider not in PROVIDERS:  # checked even when a server runs: a typo should never pass silently
            raise UserError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
        server = self.running()
        if server is not None:
            if major and server.major != major:
                raise UserError(
                    f"the default server runs PostgreSQL {server.major}, not {major}; run `inv db.down` first"
                )
            return server, False
        stale = self.load()
        if stale is not None:
            try:
                self._forget(stale)
            except OpsError:
                self.path.unlink(missing_ok=True)  # its provider is gone too: nothing left to stop
        server = make_provider(provider, major).up(major=major)
        self.save(server)
        return server, True

    def down(self) -> Server | None:
        server = self.load()
        if server is None:
            return None
        self._forget(server)
        return server

    def _forget(self, server: Server) -> None:
        try:
            provider_for(server).down(server)
        finally:
            self.path.unlink(missing_ok=True)
