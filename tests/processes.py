"""Programs at once, each in a process of its own, started in milliseconds.

Tests of concurrent runs need separate processes (each with its own connections, locks and signals), not
the interpreter's start: eight `inv` processes at once spend seconds of a loaded CI machine importing
Python before any of them connects, and start one after another as they finish importing. Here each program
is a process forked from a server that has imported the CLI already (multiprocessing's forkserver, started
once per test session), running the console script's entry point as ``tests.inprocess`` does. So they all
start within milliseconds of each other, which is the harder case for the lock.

What a process shows only when it is the real `inv` started from its script (its exit status as the
interpreter leaves it, a signal from outside) stays with ``tests.helpers.run_inv_process`` and Popen.
"""

from __future__ import annotations

import multiprocessing
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from tests import inprocess
from tests.helpers import ROOT, command_env

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["tests.processes", "drizzle_ops.cli.program", "invoke.main"])


@dataclass
class Started:
    """A program running in a process of its own; ``result`` waits for it, as ``Popen.communicate`` would."""

    argv: list[str]
    process: BaseProcess
    receiver: Connection

    def result(self, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        if not self.receiver.poll(timeout):
            self.process.kill()
            self.process.join()
            raise subprocess.TimeoutExpired(self.argv, timeout)
        outcome = self.receiver.recv()
        self.process.join()
        if isinstance(outcome, BaseException):
            raise outcome
        assert isinstance(outcome, subprocess.CompletedProcess)
        return outcome


def start(program: str, *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> Started:
    """``program`` (`inv` or `drizzle-ops`) on ``args`` in a new process, with run_inv's environment plus ``env``."""
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(target=_run, args=(sender, program, args, command_env(env), cwd), daemon=True)
    process.start()
    sender.close()
    return Started([program, *args], process, receiver)


def _run(sender: Connection, program: str, args: Sequence[str], env: dict[str, str], cwd: Path) -> None:
    try:
        outcome: object = inprocess.run(program, args, env=env, cwd=cwd)
    except BaseException as error:  # the test sees what went wrong in the child, not a silent pipe
        outcome = RuntimeError(f"{program} {' '.join(args)}: {error!r}")
    sender.send(outcome)
