"""Disposable server: from the provider's call to the first query, local (initdb) and Docker."""

from __future__ import annotations

import contextlib
import os

from benchmarks.goals import CONTAINER_SECONDS
from benchmarks.harness import Bench, log
from benchmarks.report import CaseResult, Goal, MeasureTable, seconds
from benchmarks.timing import measure_call
from drizzle_ops.disposable.base import Server
from drizzle_ops.disposable.local import LocalProvider

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
        "wait until a query succeeds; includes the Docker API round trips). Each server is stopped and removed "
        "after its run, untimed.",
    )
    started: list[Server] = []
    local = LocalProvider()

    def local_down(_i: int) -> None:
        local.down(started.pop())

    try:
        rows = [
            measure_call(
                "local: initdb → first query",
                lambda _i: started.append(local.up(major=bench.server.major)),
                runs=runs,
                warmup=bench.options.warmup,
                display="LocalProvider().up()",
                after=local_down,
            )
        ]
    finally:
        while started:  # interrupted between up and down
            local.down(started.pop())
    log(f"  local: median {seconds(rows[0].median)}")
    docker_m = None
    docker_reason = docker_unavailable()
    if docker_reason is None:
        from drizzle_ops.disposable.docker import DockerProvider, remove_all

        owner = f"bench-{os.getpid()}"
        provider = DockerProvider(owner=owner)

        def docker_down(_i: int) -> None:
            provider.down(started.pop())

        try:
            docker_m = measure_call(
                "docker: docker run → first query",
                lambda _i: started.append(provider.up(major="15")),
                runs=runs,
                warmup=bench.options.warmup,
                display="DockerProvider().up(major='15')",
                after=docker_down,
            )
            log(f"  docker: median {seconds(docker_m.median)}")
            rows.append(docker_m)
        except Exception as exc:  # the engine is optional here: say what happened, keep the local figures
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            docker_reason = f"the Docker engine failed during the measurement ({type(exc).__name__}: {first})"
            log(f"  docker: {docker_reason}")
            case.notes.append(f"Docker case not measured: {bench.redact(docker_reason)}.")
        finally:
            started.clear()
            with contextlib.suppress(Exception):
                remove_all(owner)
    else:
        case.notes.append(f"Docker case not measured: {docker_reason}.")
    case.tables.append(MeasureTable("In-process", rows, []))
    case.goals.append(
        Goal(
            "disposable server",
            f"container ready ≤ {CONTAINER_SECONDS} s",
            seconds(docker_m.median) if docker_m else f"– ({docker_reason})",
            None if docker_m is None else docker_m.median <= CONTAINER_SECONDS,
        )
    )
    case.headline.append(
        f"Disposable server, start to first query: local (initdb + pg_ctl) {seconds(rows[0].median)}"
        + (f", docker {seconds(docker_m.median)}." if docker_m else f"; docker not measured ({docker_reason}).")
    )
    case.notes.append(
        f"local backend (no goal, reported as measured): {seconds(rows[0].median)} median from initdb to first query."
    )
    case.reproduce = [
        "time inv db.up --provider local && inv db.down",
        "time inv db.up --provider docker --pg 15 && inv db.down   # includes inv's own start-up",
    ]
    return case


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
