"""Disposable server: from the provider's call to the first query, local (initdb) and Docker."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from benchmarks.goals import CONTAINER_VS_LOCAL
from benchmarks.harness import Bench, log
from benchmarks.report import CaseResult, MeasureTable, ratio_goal, seconds, times
from benchmarks.timing import CallSpec, measure_calls_round_robin, ratio
from drizzle_ops.disposable.base import Server
from drizzle_ops.disposable.local import LocalProvider

if TYPE_CHECKING:  # the docker package is optional: imported only when an engine answers
    from drizzle_ops.disposable.docker import DockerProvider

KEY = "server"
TITLE = "Disposable server: start to first query"


def run(bench: Bench) -> CaseResult:
    runs = bench.options.server_runs
    case = CaseResult(
        KEY,
        TITLE,
        "Timed in-process from the call to the first successful query, through the providers users get from "
        "`inv db.up`: `LocalProvider().up()` (initdb, `pg_ctl start`, wait until a query succeeds) and "
        "`DockerProvider().up()` (`docker run` of the local `postgres:15` image with tmpfs data and fsync off, "
        "wait until a query succeeds; includes the Docker API round trips). The two run in turns (local, docker, "
        "local, docker, …): the local cluster is the container's baseline. Each server is stopped and removed "
        "after its run, untimed.",
    )
    started: list[Server] = []
    local = LocalProvider()

    def down(provider: LocalProvider | DockerProvider) -> Callable[[int], None]:
        return lambda _i: provider.down(started.pop())

    specs = [
        CallSpec(
            "local: initdb → first query",
            lambda _i: started.append(local.up(major=bench.server.major)),
            "LocalProvider().up()",
            after=down(local),
        )
    ]
    docker_reason = docker_unavailable()
    owner = f"bench-{os.getpid()}"
    if docker_reason is None:
        from drizzle_ops.disposable.docker import DockerProvider

        docker = DockerProvider(owner=owner)
        specs.append(
            CallSpec(
                "docker: docker run → first query",
                lambda _i: started.append(docker.up(major="15")),
                "DockerProvider().up(major='15')",
                after=down(docker),
            )
        )
    try:
        rows = measure_calls_round_robin(specs, runs=runs, warmup=bench.options.warmup)
    except Exception as exc:
        if docker_reason is not None:
            raise
        # the engine is optional here: say what happened, and time the local provider alone
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        docker_reason = f"the Docker engine failed during the measurement ({type(exc).__name__}: {first})"
        log(f"  docker: {docker_reason}")
        _stop(started, local, owner)
        rows = measure_calls_round_robin(specs[:1], runs=runs, warmup=bench.options.warmup)
    finally:
        _stop(started, local, owner)
    for m in rows:
        log(f"  {m.name}: median {seconds(m.median)}")
    local_m = rows[0]
    docker_m = rows[1] if len(rows) > 1 else None
    if docker_reason is not None:
        case.notes.append(f"Docker case not measured: {bench.redact(docker_reason)}.")
    case.tables.append(MeasureTable("In-process, in turns", rows, [("local", local_m)]))
    goal = ratio_goal(
        "disposable server",
        f"container ready ≤ {CONTAINER_VS_LOCAL}× a local initdb cluster",
        docker_m or local_m,
        local_m if docker_m else None,
        CONTAINER_VS_LOCAL,
    )
    if docker_m is None:
        goal.measured = f"– ({docker_reason})"
    case.goals.append(goal)
    case.headline.append(
        f"Disposable server, start to first query: local (initdb + pg_ctl) {seconds(local_m.median)}"
        + (
            f", docker {seconds(docker_m.median)} ({times(ratio(docker_m, local_m))})."
            if docker_m
            else f"; docker not measured ({docker_reason})."
        )
    )
    case.reproduce = [
        "time inv db.up --provider local && inv db.down",
        "time inv db.up --provider docker --pg 15 && inv db.down   # includes inv's own start-up",
    ]
    return case


def _stop(started: list[Server], local: LocalProvider, owner: str) -> None:
    """Whatever a failed or interrupted run left: local clusters by record, containers by owner label."""
    while started:
        server = started.pop()
        if server.provider == local.name:
            local.down(server)
    with contextlib.suppress(Exception):
        from drizzle_ops.disposable.docker import remove_all

        remove_all(owner)


def docker_unavailable() -> str | None:
    try:
        from drizzle_ops.disposable.docker import engine_answers, has_image
    except ImportError:
        return "the docker Python package is not installed"
    if not engine_answers():
        return "no Docker engine answers"
    if not has_image("15"):
        return "no local postgres:15 image (build it with `bash .ci/docker/build-postgres-images.sh 15`)"
    return None
