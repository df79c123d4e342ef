"""Where a task goes, resolved once: one database's request or a fleet (context/resolve.py), with a person's prompt
when one is at a terminal and the log on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from drizzle_ops.cli import render
from drizzle_ops.cli.flags import Given
from drizzle_ops.context.request import Reading, Request
from drizzle_ops.context.resolve import FleetFlags, resolve

if TYPE_CHECKING:
    from drizzle_ops.context.fleet.build import Fleet


def terminal_prompt() -> Callable[[str], str] | None:
    """``input`` when a person is at a terminal, else None (scripts confirm with --yes alone)."""
    return input if sys.stdin.isatty() and sys.stderr.isatty() else None


def where_to(
    given: Given,
    reading: Reading = Reading.MIGRATIONS,
    *,
    fleet: FleetFlags | None = None,
    only_flag: str = "--only",
    not_on_fleet: Sequence[str] = (),
    then: Callable[[], None] | None = None,
) -> Request | Fleet:
    """One database's request, or the fleet when the task runs on fleets (``fleet``): call it inside ``guarded``."""
    return resolve(
        given.settings,
        given.where(reading),
        fleet=fleet,
        only_flag=only_flag,
        not_on_fleet=not_on_fleet,
        then=then,
        ask=terminal_prompt(),
        log=render.log,
    )


def one_database(given: Given, reading: Reading = Reading.MIGRATIONS) -> Request:
    """The request of a task that runs on one database (a fleet environment is refused, in ``resolve``)."""
    request = where_to(given, reading)
    assert isinstance(request, Request)  # resolve has refused a fleet: this task takes none
    return request


def lock_wait_line(holder: object) -> None:
    render.log(f"waiting for the migration lock, held by {holder or 'another process'} …")
