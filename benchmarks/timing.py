"""Time whole processes (or one in-process operation) over repeated runs.

Each measurement does ``warmup`` untimed runs, then ``runs`` timed ones. A ``prepare`` hook runs
before every run (warm-up included) and is never timed: it creates a fresh empty database, for
example. A process is timed from just before ``fork``/``exec`` to its exit as seen by ``os.wait4``,
which also gives its peak resident memory (``ru_maxrss``; for a process that starts children, such
as npx, the largest of the processes it waited for). Linux counts in a child's ``ru_maxrss`` the
peak of the process it was started from (subprocess starts it with vfork: the exec records the
harness's own peak), so the harness forgets its own peak before each start (``/proc/self/clear_refs``);
what stays counted is the harness's size at that moment, below what `inv` itself takes.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class BenchError(RuntimeError):
    """A measured command failed; the message never holds a password (see ``redact``)."""


@dataclass
class Measurement:
    """One row of the report: what ran, how often, and how long each timed run took."""

    name: str
    display: str  # the command as the report shows it: secrets replaced by placeholders ($URL)
    seconds: list[float] = field(default_factory=list)
    max_rss_kb: list[int] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)  # user + system, of the process and its children
    warmup: int = 0
    in_process: bool = False
    cwd: str | None = None  # relative to the repository root, for the report
    note: str = ""

    @property
    def runs(self) -> int:
        return len(self.seconds)

    @property
    def min(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def max(self) -> float:
        return max(self.seconds)

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu_seconds) if self.cpu_seconds else None

    @property
    def peak_rss_mb(self) -> float | None:
        return max(self.max_rss_kb) / 1024 if self.max_rss_kb else None


def display_command(
    argv: Sequence[str], placeholders: Mapping[str, str] | None = None, env: Mapping[str, str] | None = None
) -> str:
    """``argv`` as a shell line, each secret or temporary value replaced by its placeholder."""

    def hide(text: str) -> str:
        # longest first, so a URL is replaced before a path that is part of it
        for value, placeholder in sorted((placeholders or {}).items(), key=lambda kv: -len(kv[0])):
            if value:
                text = text.replace(value, placeholder)
        return text

    words = [hide(word) for word in argv]
    line = " ".join(w if w.startswith("$") and " " not in w else shlex.quote(w) for w in words)
    prefix = " ".join(f"{k}={hide(v)}" for k, v in (env or {}).items())
    return f"{prefix} {line}" if prefix else line


def forget_own_peak() -> None:
    """Reset this process's peak RSS to its current RSS (Linux), so a child started now does not report it."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def run_process(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 900,
    redact: Callable[[str], str] = lambda s: s,
) -> tuple[float, int, float]:
    """Run once; returns (wall seconds, max RSS in KiB, CPU seconds). Output goes to temporary files, never to a pipe
    that could fill up while we wait. A non-zero exit raises BenchError with the tail of stderr."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        forget_own_peak()
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; tell Popen so it never waits again
        if proc.returncode != 0:
            err.seek(0)
            out.seek(0)
            tail = (err.read().decode(errors="replace").strip() or out.read().decode(errors="replace").strip())[-600:]
            raise BenchError(redact(f"`{Path(argv[0]).name} {' '.join(argv[1:3])} …` exited {proc.returncode}: {tail}"))
        return elapsed, int(usage.ru_maxrss), usage.ru_utime + usage.ru_stime


def measure_process(
    name: str,
    argv: Sequence[str],
    *,
    runs: int,
    warmup: int = 1,
    display: str,
    cwd: Path | None = None,
    cwd_label: str | None = None,
    env: Mapping[str, str] | None = None,
    prepare: Callable[[int], None] | None = None,
    redact: Callable[[str], str] = lambda s: s,
    note: str = "",
    timeout: float = 900,
) -> Measurement:
    m = Measurement(name=name, display=display, warmup=warmup, cwd=cwd_label, note=note)
    for i in range(warmup + runs):
        if prepare is not None:
            prepare(i)
        seconds, rss, cpu = run_process(argv, cwd=cwd, env=env, timeout=timeout, redact=redact)
        if i >= warmup:
            m.seconds.append(seconds)
            m.max_rss_kb.append(rss)
            m.cpu_seconds.append(cpu)
    return m


@dataclass
class ProcessSpec:
    """One command to time, with its own untimed ``prepare`` (before) and ``verify`` (after) hooks."""

    name: str
    argv: Sequence[str]
    display: str
    cwd: Path | None = None
    cwd_label: str | None = None
    env: Mapping[str, str] | None = None
    prepare: Callable[[int], None] | None = None
    verify: Callable[[int], None] | None = None
    note: str = ""


def measure_round_robin(
    specs: Sequence[ProcessSpec],
    *,
    runs: int,
    warmup: int = 1,
    redact: Callable[[str], str] = lambda s: s,
    timeout: float = 900,
    on_done: Callable[[Measurement], None] | None = None,
) -> list[Measurement]:
    """Time several commands in turns (A B C, A B C, ...), so that a slow spell of a shared machine
    lands on all of them alike instead of on whichever command happened to run during it."""
    results = [Measurement(s.name, s.display, warmup=warmup, cwd=s.cwd_label, note=s.note) for s in specs]
    for i in range(warmup + runs):
        for spec, m in zip(specs, results, strict=True):
            if spec.prepare is not None:
                spec.prepare(i)
            elapsed, rss, cpu = run_process(spec.argv, cwd=spec.cwd, env=spec.env, timeout=timeout, redact=redact)
            if spec.verify is not None:
                spec.verify(i)
            if i >= warmup:
                m.seconds.append(elapsed)
                m.max_rss_kb.append(rss)
                m.cpu_seconds.append(cpu)
    if on_done is not None:
        for m in results:
            on_done(m)
    return results


def measure_call(
    name: str,
    fn: Callable[[int], object],
    *,
    runs: int,
    warmup: int = 1,
    display: str,
    prepare: Callable[[int], None] | None = None,
    after: Callable[[int], None] | None = None,
    note: str = "",
) -> Measurement:
    """Time ``fn(i)`` in this process (perf_counter); ``prepare`` and ``after`` are untimed."""
    m = Measurement(name=name, display=display, warmup=warmup, in_process=True, note=note)
    for i in range(warmup + runs):
        if prepare is not None:
            prepare(i)
        started = time.perf_counter()
        fn(i)
        elapsed = time.perf_counter() - started
        if after is not None:
            after(i)
        if i >= warmup:
            m.seconds.append(elapsed)
    return m


@dataclass
class CallSpec:
    """One in-process operation to time, with untimed ``prepare`` (before) and ``after`` hooks."""

    name: str
    fn: Callable[[int], object]
    display: str
    prepare: Callable[[int], None] | None = None
    after: Callable[[int], None] | None = None
    note: str = ""


def measure_calls_round_robin(specs: Sequence[CallSpec], *, runs: int, warmup: int = 1) -> list[Measurement]:
    """measure_call for several operations, in turns, like measure_round_robin."""
    results = [Measurement(s.name, s.display, warmup=warmup, in_process=True, note=s.note) for s in specs]
    for i in range(warmup + runs):
        for spec, m in zip(specs, results, strict=True):
            if spec.prepare is not None:
                spec.prepare(i)
            started = time.perf_counter()
            spec.fn(i)
            elapsed = time.perf_counter() - started
            if spec.after is not None:
                spec.after(i)
            if i >= warmup:
                m.seconds.append(elapsed)
    return results


def ratio(candidate: Measurement | None, baseline: Measurement | None) -> float | None:
    """Median over median: how many times the baseline's time the candidate takes."""
    if candidate is None or baseline is None or not candidate.seconds or not baseline.seconds:
        return None
    return candidate.median / baseline.median
