"""`drizzle-ops`: the same tasks and flags as `inv` here, for any Drizzle project after `pip install drizzle-ops`.

Two things differ from plain `inv`: the tasks come with the package (no tasks.py needed), with
`invoke.yaml` read from the current folder; and a command line invoke cannot parse (an unknown
flag or task) exits 2, as every other bad input does, instead of invoke's 1.
"""

from __future__ import annotations

import os

from invoke.exceptions import Exit, ParseError
from invoke.program import Program

from drizzle_ops.cli.tasks import namespace

BAD_INPUT = 2


class DrizzleOps(Program):
    def parse_core(self, argv: list[str] | None) -> None:
        with _parse_errors_exit_2():
            super().parse_core(argv)

    def parse_collection(self) -> None:
        super().parse_collection()
        # a given namespace skips invoke's search for tasks.py, and with it the project's invoke.yaml:
        # read that from the folder drizzle-ops runs in
        self.config.set_project_location(os.getcwd())
        self.config.load_project()

    def parse_tasks(self) -> None:
        with _parse_errors_exit_2():
            super().parse_tasks()

    def parse_cleanup(self) -> None:
        with _parse_errors_exit_2():
            super().parse_cleanup()

    def print_version(self) -> None:
        self.version = _version()  # looked up when asked: it reads the installed packages' metadata
        super().print_version()


class _parse_errors_exit_2:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        if isinstance(error, ParseError):
            raise Exit(f"error: {error} (see `drizzle-ops --help`, or `drizzle-ops <task> --help`)", code=BAD_INPUT)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("drizzle-ops")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


program = DrizzleOps(name="drizzle-ops", binary="drizzle-ops", namespace=namespace())


def main() -> None:
    program.run()
