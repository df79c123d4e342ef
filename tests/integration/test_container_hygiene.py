"""A test session removes its own container when interrupted, and the next one removes a killed session's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import NO_DOCKER, ROOT, docker_engine_answers, only_when, only_with_backend, requires

HOLD = "DRIZZLE_OPS_HYGIENE_HOLD"
pytestmark = [
    only_with_backend("docker", reason="needs the docker backend (nox -t containers)"),
    requires(docker_engine_answers, NO_DOCKER),
]


@only_when(HOLD in os.environ, reason="the inner session that the container-hygiene tests start themselves")
def test_hold_the_server(pg_server) -> None:  # type: ignore[no-untyped-def]
    time.sleep(120)


def _containers_of(pid: int) -> list[str]:
    from drizzle_ops.disposable.docker import LABEL, labelled

    return [name for _, name, _ in labelled(f"{LABEL}.owner=pytest-{pid}")]


def _start_inner_session() -> subprocess.Popen[bytes]:
    inner = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", f"{__file__}::test_hold_the_server"],
        cwd=ROOT,
        env={**os.environ, HOLD: "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while not _containers_of(inner.pid):
        assert inner.poll() is None and time.monotonic() < deadline, "the inner session never started a container"
        time.sleep(0.2)
    time.sleep(2)  # past start-up: the server answers and the test is sleeping
    return inner


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_session_removes_its_container(sig: signal.Signals) -> None:
    inner = _start_inner_session()
    inner.send_signal(sig)
    inner.wait(timeout=60)
    assert _containers_of(inner.pid) == []


def test_killed_session_is_cleaned_up_by_the_next_one() -> None:
    from drizzle_ops.disposable.docker import remove_orphans

    inner = _start_inner_session()
    inner.send_signal(signal.SIGKILL)
    inner.wait(timeout=30)
    left = _containers_of(inner.pid)
    assert left, "SIGKILL leaves no chance to clean up: the container is still there"
    assert set(left) <= set(remove_orphans("pytest-"))  # what the next session's start runs
    assert _containers_of(inner.pid) == []
