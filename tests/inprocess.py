"""The `inv` and `drizzle-ops` programs run inside the test process, exactly as their console scripts run them.

A subprocess per command case costs a Python start and every import: about a second each on a loaded
machine, for hundreds of cases. ``run`` instead calls the program's console-script entry point (the one
`pip install` wrote the script for: ``invoke.main:program.run``, ``drizzle_ops.cli.program:main``) with
what a fresh process would have:

- ``sys.argv`` as the script sees it; the environment and the working folder given (both restored after);
- stdout, stderr and stdin on their own files at the descriptor level (fds 1, 2 and 0), with Python's
  ``sys.stdout``/``sys.stderr``/``sys.stdin`` on them as the interpreter makes them: so what a child the
  program starts writes to its inherited stderr (drizzle-kit) is captured too, in order;
- the exit code as the interpreter would turn it out: ``SystemExit`` (invoke's ``Exit`` ends in one), an
  uncaught exception is its traceback on stderr and 1;
- the state a fresh process starts with: every rich Console that drizzle-ops made is built again under the
  run's environment (rich reads COLUMNS, NO_COLOR and whether it writes to a terminal when a Console is
  made); every invoke task gets back the help texts it was made with (invoke hands each to the parser
  once, and takes it out of the task); the warnings logged by an earlier run are forgotten; ``tempfile``
  looks at $TMPDIR again; Python's own warning filters; a root logger without handlers (pytest's capture
  of log records would hide what a process prints on stderr). The signal handlers, logging, ``sys.path``,
  the ``tasks`` module `inv` loads and ``sys.dont_write_bytecode`` are put back after.

A Ctrl-C (or the session's SIGTERM) during a run is not swallowed: the program sees it as it would
(Python's KeyboardInterrupt, or its own handler's), and once the run is over it is raised again here, so
pytest stops. A run longer than ``timeout`` raises ``subprocess.TimeoutExpired``, as ``subprocess.run``
would. One run at a time, on the main thread (signal handlers can be set only there; pytest-xdist workers
run tests on it too): several programs at once, a signal sent from outside, a real terminal, or a process
that dies use a process of their own (``tests.helpers.run_inv_process``, ``tests.processes``).
tests/integration/test_in_process.py proves the two give the same bytes.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
import warnings
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import FrameType
from typing import IO, Any

from invoke.tasks import Task
from rich.console import Console

PROGRAMS = ("inv", "drizzle-ops")

# what a fresh process would make anew, remembered as it is made (see _fresh_objects)
_consoles: weakref.WeakKeyDictionary[Console, tuple[tuple[Any, ...], dict[str, Any]]] = weakref.WeakKeyDictionary()
_tasks: list[tuple[weakref.ref[Task[Any]], dict[str, Any]]] = []
_running = threading.Lock()


class _TimedOut(BaseException):
    """Raised into the program when the run is over its time: not an Exception, so no handler swallows it."""


def _remember_what_is_made() -> None:
    """Note how drizzle-ops makes each Console, and the help each invoke task is made with."""
    if "drizzle_ops.cli.render" in sys.modules or "drizzle_ops.cli.tasks" in sys.modules:
        raise ImportError("import tests.inprocess before drizzle_ops.cli: what the CLI makes must be seen being made")
    make_console, make_task = Console.__init__, Task.__init__
    if getattr(make_console, "remembered_by_tests", False):
        return

    def console(self: Console, *args: Any, **kwargs: Any) -> None:
        make_console(self, *args, **kwargs)
        if str(sys._getframe(1).f_globals.get("__name__", "")).startswith("drizzle_ops."):
            _consoles[self] = (args, kwargs)

    def task(self: Task[Any], *args: Any, **kwargs: Any) -> None:
        make_task(self, *args, **kwargs)
        _tasks[:] = [(ref, made) for ref, made in _tasks if ref() is not None]
        _tasks.append((weakref.ref(self), dict(self.help)))

    console.remembered_by_tests = True  # type: ignore[attr-defined]
    Console.__init__ = console  # type: ignore[method-assign]
    Task.__init__ = task  # type: ignore[method-assign]


_remember_what_is_made()


@dataclass
class _Program:
    """A console script: where the file is (its argv[0]) and the function it calls."""

    script: str
    entry: Callable[[], object]


@functools.cache
def _program(name: str) -> _Program:
    if name not in PROGRAMS:
        raise ValueError(f"no program {name!r}: {', '.join(PROGRAMS)}")
    (point,) = entry_points(group="console_scripts", name=name)
    script = shutil.which(name) or str(Path(sys.executable).with_name(name))
    return _Program(script, point.load())


def run(
    program: str,
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    stdin: str | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``program`` (`inv` or `drizzle-ops`) with ``args`` in this process; ``env`` is its whole environment."""
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("an in-process run needs the main thread: use a real subprocess from another thread")
    if env.get("FORCE_COLOR") or env.get("TTY_COMPATIBLE") == "1":
        # what a stream has drawn so far decides how it writes at a terminal: only a fresh process starts blank
        raise ValueError("a run rich takes for a terminal (FORCE_COLOR, TTY_COMPATIBLE) needs a process of its own")
    if not _running.acquire(blocking=False):
        raise RuntimeError("in-process runs go one at a time: start programs that overlap as real subprocesses")
    try:
        target = _program(program)
        argv = [target.script, *args]
        outcome = _Outcome()
        with (
            _captured(stdin) as captured,
            _process_state(argv, env, cwd),
            _signals(outcome, timeout),
            _python_warnings(),
        ):
            outcome.code = _exit_code(target.entry, outcome)
        stdout, stderr = captured.texts()
    finally:
        _running.release()
    if outcome.interrupted:
        raise KeyboardInterrupt
    if outcome.timed_out:
        raise subprocess.TimeoutExpired(argv, timeout or 0, output=stdout, stderr=stderr)
    if outcome.threads_left:
        raise RuntimeError(f"{program} {' '.join(args)} left threads running: {outcome.threads_left}")
    return subprocess.CompletedProcess(argv, outcome.code, stdout, stderr)


@dataclass
class _Outcome:
    code: int = 0
    interrupted: bool = False
    timed_out: bool = False
    threads_left: list[str] = field(default_factory=list)


def _exit_code(entry: Callable[[], object], outcome: _Outcome) -> int:
    """The exit status the interpreter would give: the script is ``sys.exit(entry())``."""
    before = set(threading.enumerate())
    try:
        try:
            raise SystemExit(entry())
        finally:
            outcome.threads_left = _join_new_threads(before)
    except SystemExit as done:
        return _status(done.code)
    except KeyboardInterrupt:  # what got past the program: Python prints it and dies of SIGINT
        outcome.interrupted = True
        traceback.print_exc()
        return -signal.SIGINT
    except _TimedOut:
        outcome.timed_out = True
        return -signal.SIGKILL
    except BaseException:  # the interpreter's own last resort: the traceback, and 1
        traceback.print_exc()
        return 1


def _status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)  # sys.exit("text"): the text on stderr, and 1
    return 1


def _join_new_threads(before: set[threading.Thread]) -> list[str]:
    """Wait, as the interpreter does at exit, for the threads the run started; name any left running."""
    left = []
    for thread in set(threading.enumerate()) - before:
        if not thread.daemon:
            thread.join(timeout=30)
        if thread.is_alive():
            left.append(thread.name)
    return left


class _Captured:
    def __init__(self) -> None:
        self.stdout = tempfile.TemporaryFile()  # noqa: SIM115 - closed by texts()
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115

    def texts(self) -> tuple[str, str]:
        """Both streams as ``subprocess.run(..., text=True)`` reads them (universal newlines)."""
        return _text(self.stdout), _text(self.stderr)


def _text(file: IO[bytes]) -> str:
    file.seek(0)
    data = file.read().decode()
    file.close()
    return data.replace("\r\n", "\n").replace("\r", "\n")


@contextmanager
def _captured(stdin: str | None) -> Iterator[_Captured]:
    """fds 0, 1 and 2 on files of their own, and sys.stdin/stdout/stderr on those fds as Python makes them."""
    captured = _Captured()
    with tempfile.TemporaryFile() as given:
        given.write((stdin or "").encode())
        given.seek(0)
        for stream in (sys.stdout, sys.stderr):
            with suppress(Exception):
                stream.flush()
        saved_fds = {fd: os.dup(fd) for fd in (0, 1, 2)}
        saved_streams = (sys.stdin, sys.stdout, sys.stderr)
        try:
            os.dup2(given.fileno(), 0)
            os.dup2(captured.stdout.fileno(), 1)
            os.dup2(captured.stderr.fileno(), 2)
            # as the interpreter makes them for pipes: stdout block-buffered, stderr line-buffered and lenient
            sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)  # noqa: SIM115
            yield captured
        finally:
            for stream in (sys.stdout, sys.stderr):
                with suppress(Exception):
                    stream.flush()
            own = (sys.stdin, sys.stdout, sys.stderr)
            sys.stdin, sys.stdout, sys.stderr = saved_streams
            for stream in own:
                with suppress(Exception):
                    stream.close()
            for fd, saved in saved_fds.items():
                os.dup2(saved, fd)
                os.close(saved)


@contextmanager
def _process_state(argv: list[str], env: Mapping[str, str], cwd: Path) -> Iterator[None]:
    """argv, environment, folder and the interpreter-wide state a fresh process would start with."""
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_argv, saved_path = sys.argv, list(sys.path)
    saved_tasks = sys.modules.get("tasks")
    saved_bytecode = sys.dont_write_bytecode
    saved_tempdir = tempfile.tempdir
    root = logging.getLogger()
    saved_logging = (root.handlers[:], root.level)
    try:
        root.handlers, root.level = [], logging.WARNING  # as Python starts: warnings to stderr (logging.lastResort)
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        sys.argv = list(argv)
        tempfile.tempdir = None  # read $TMPDIR again, as a fresh process does
        _fresh_objects()
        _forget_logged_warnings()
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        sys.argv = saved_argv
        sys.path[:] = saved_path
        if saved_tasks is None:
            sys.modules.pop("tasks", None)
        else:
            sys.modules["tasks"] = saved_tasks
        sys.dont_write_bytecode = saved_bytecode
        tempfile.tempdir = saved_tempdir
        root.handlers, root.level = saved_logging


def _fresh_objects() -> None:
    """Each Console drizzle-ops made, made again now (rich reads the environment and the stream when a Console
    is made); each task's help as it was made (invoke pops it when it builds the parser)."""
    for console, (args, kwargs) in list(_consoles.items()):
        Console.__init__(console, *args, **kwargs)
    for ref, help in _tasks:
        made = ref()
        if made is not None:
            made.help = dict(help)


def _forget_logged_warnings() -> None:
    """render keeps the warnings of the run for its JSON document: a fresh process starts with none."""
    render = sys.modules.get("drizzle_ops.cli.render")
    logged = getattr(render, "logged_warnings", None)
    if logged is not None:
        logged.clear()


@contextmanager
def _signals(outcome: _Outcome, timeout: float | None) -> Iterator[None]:
    """Ctrl-C reaches the program as KeyboardInterrupt, as in a fresh process; SIGALRM ends an overlong run.

    Whoever handles a SIGINT or SIGTERM during the run (Python's default, the test session's own, or the
    program's: a fleet stops starting targets), the signal is seen through the wakeup fd and remembered, so the
    test session stops after the run as it would have without it.
    """
    handled = (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)
    saved = {sig: signal.getsignal(sig) for sig in handled}

    def over_time(signum: int, frame: FrameType | None) -> None:
        raise _TimedOut

    seen, wakeup = socket.socketpair()
    seen.setblocking(False)
    wakeup.setblocking(False)
    saved_wakeup = signal.set_wakeup_fd(wakeup.fileno(), warn_on_full_buffer=False)
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if timeout:
            signal.signal(signal.SIGALRM, over_time)
            signal.setitimer(signal.ITIMER_REAL, timeout)
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(saved_wakeup)
        with suppress(BlockingIOError):
            delivered = seen.recv(4096)
            outcome.interrupted |= signal.SIGINT in delivered or signal.SIGTERM in delivered
        seen.close()
        wakeup.close()


# the filters Python starts with (no -W, no PYTHONWARNINGS): pytest's own would turn a warning into a record
_PYTHON_FILTERS: list[tuple[str, type[Warning], str]] = [
    ("default", DeprecationWarning, "__main__"),
    ("ignore", DeprecationWarning, ""),
    ("ignore", PendingDeprecationWarning, ""),
    ("ignore", ImportWarning, ""),
    ("ignore", ResourceWarning, ""),
]


@contextmanager
def _python_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.resetwarnings()
        for action, category, module in reversed(_PYTHON_FILTERS):
            warnings.filterwarnings(action, category=category, module=module)  # type: ignore[arg-type]
        warnings.showwarning = _show_on_stderr
        yield


def _show_on_stderr(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: IO[str] | None = None,
    line: str | None = None,
) -> None:
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))
