"""A throwaway server in a ``postgres:<major>`` container: tmpfs data, fsync off, random port."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from typing import Any

from drizzle_ops.disposable.base import DEFAULT_MAJOR, LABEL, Server, new_password, wait_until_ready
from drizzle_ops.errors import OperationFailed, UserError

DATA_DIR = "/var/lib/postgresql/data"
SERVER_ARGS = ["postgres", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]


def client(timeout: int = 30) -> Any:
    try:
        import docker  # imported here: tasks that never start a container don't pay for it
    except ImportError:  # pragma: no cover - docker is a declared dependency
        raise UserError("the docker package is not installed; pip install docker, or use --provider local") from None
    try:
        c = docker.from_env(timeout=timeout)
        c.ping()
        return c
    except Exception:  # the SDK raises several unrelated types when no engine answers
        raise OperationFailed(
            "no Docker engine answers (DOCKER_HOST or /var/run/docker.sock); start Docker or use --provider local"
        ) from None


def engine_answers() -> bool:
    if not (os.environ.get("DOCKER_HOST") or os.path.exists("/var/run/docker.sock")):
        return False
    try:
        client(timeout=2)
        return True
    except OperationFailed:
        return False


def has_image(major: str | None) -> bool:
    """True when an engine answers and ``postgres:<major>`` is already on this machine."""
    if not engine_answers():
        return False
    import docker.errors

    try:
        client(timeout=5).images.get(f"postgres:{major or DEFAULT_MAJOR}")
        return True
    except docker.errors.ImageNotFound:
        return False


class DockerProvider:
    name = "docker"

    def __init__(self, owner: str = "cli") -> None:
        self.owner = owner  # label value, so a test session can clean up only its own containers

    def up(self, *, major: str | None = None) -> Server:
        import docker.errors

        major = major or DEFAULT_MAJOR
        image = f"postgres:{major}"
        c = client()
        try:
            c.images.get(image)
        except docker.errors.ImageNotFound:
            try:
                c.images.pull("postgres", tag=major)
            except docker.errors.APIError:
                raise OperationFailed(
                    f"image {image} is not on this machine and cannot be pulled; "
                    f"build it with `bash .ci/docker/build-postgres-images.sh {major}` or use --provider local"
                ) from None
        password = new_password()
        name = f"drizzle-ops-pg{major}-{uuid.uuid4().hex[:10]}"
        container = c.containers.run(
            image,
            command=SERVER_ARGS,
            name=name,
            detach=True,
            # PGDATA spelled out: the official postgres:18 image moved its default away from DATA_DIR
            environment={
                "POSTGRES_PASSWORD": password,
                "POSTGRES_USER": "postgres",
                "POSTGRES_DB": "postgres",
                "PGDATA": DATA_DIR,
            },
            ports={"5432/tcp": ("127.0.0.1", None)},
            tmpfs={DATA_DIR: "rw"},
            labels={LABEL: "true", f"{LABEL}.owner": self.owner},
        )
        try:

            def still_starting() -> None:
                container.reload()
                if container.status in ("exited", "dead"):
                    tail = container.logs(tail=3).decode(errors="replace").strip().replace("\n", " | ")
                    raise OperationFailed(f"container {name} exited while starting: {tail}")

            port = _published_port(container, still_starting)
            url = f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
            wait_until_ready(url, timeout=60, still_starting=still_starting)
        except BaseException:
            container.remove(force=True)
            raise
        return Server(provider=self.name, url=url, major=major, details={"container": container.id, "name": name})

    def down(self, server: Server) -> None:
        import docker.errors

        with contextlib.suppress(docker.errors.NotFound):
            client().containers.get(server.details["container"]).remove(force=True, v=True)


def _published_port(container: Any, still_starting: Any, timeout: float = 30) -> str:
    """The engine publishes the port only once the container runs: poll for it."""
    deadline = time.monotonic() + timeout
    while True:
        still_starting()
        bindings = (container.ports or {}).get("5432/tcp")
        if bindings:
            return str(bindings[0]["HostPort"])
        if time.monotonic() > deadline:
            raise OperationFailed(f"container {container.name} published no port for 5432 within {timeout:g}s")
        time.sleep(0.02)


def labelled(label: str) -> list[tuple[str, str, dict[str, str]]]:
    """(id, name, labels) of every container carrying ``label``, from one list call.

    Sparse: the SDK's full listing inspects each container in turn, which fails with
    404 when another session removes one in between (parallel test workers clean up).
    """
    found = client().containers.list(all=True, sparse=True, filters={"label": label})
    return [(c.id, str((c.attrs.get("Names") or [c.id])[0]).lstrip("/"), c.attrs.get("Labels") or {}) for c in found]


def _remove(container_id: str) -> bool:
    """Remove one container; False when it was already gone (someone else removed it first)."""
    import docker.errors

    try:
        client().api.remove_container(container_id, force=True, v=True)
    except docker.errors.NotFound:
        return False
    return True


def remove_all(owner: str | None = None) -> list[str]:
    """Remove every container we labelled (or only ``owner``'s): leftovers of killed runs."""
    label = f"{LABEL}.owner={owner}" if owner else LABEL
    return [name for container_id, name, _ in labelled(label) if _remove(container_id)]


def remove_orphans(prefix: str = "pytest-") -> list[str]:
    """Remove containers whose owner label names a process that is gone (``<prefix><pid>``): killed runs."""
    removed = []
    for container_id, name, labels in labelled(LABEL):
        owner = labels.get(f"{LABEL}.owner", "")
        if owner.startswith(prefix) and not _pid_alive(owner.removeprefix(prefix)) and _remove(container_id):
            removed.append(name)
    return removed


def _pid_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True  # alive, just not ours
    return True
