"""Where a run goes: one database or a fleet of them, decided once, at the edge.

``resolve`` is the only place that asks whether an environment is a fleet. It returns the
single database's Request or the Fleet, and the edge branches once on which it got. The flags
that only make sense on one side are refused here, each in one line (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from drizzle_ops.context.config import Settings
from drizzle_ops.context.request import Ask, Log, Reading, Request, build_request, read_workspace
from drizzle_ops.errors import UserError

if TYPE_CHECKING:  # the fleet machinery loads only when a fleet is named
    from drizzle_ops.context.fleet.build import Fleet, Shard

NEEDS_A_FLEET = "only with --env naming a fleet (targets_env, targets_file or targets_query)"


@dataclass(frozen=True)
class FleetFlags:
    """The flags that choose and run a fleet's targets (migrate, status, verify)."""

    shard: Shard | None = None
    only: tuple[str, ...] = ()
    keep_going: bool = False

    def given(self, only_flag: str = "--only") -> list[str]:
        named = {"--shard": self.shard, only_flag: self.only, "--keep-going": self.keep_going}
        return [flag for flag, value in named.items() if value]


@dataclass(frozen=True)
class Where:
    """What decides where a run goes: --url, --env, and how the task reads and confirms."""

    url: str | None = None
    env: str | None = None
    reading: Reading = Reading.MIGRATIONS
    as_json: bool = False
    yes: bool = False


def resolve(
    settings: Settings,
    where: Where,
    *,
    fleet: FleetFlags | None = None,
    only_flag: str = "--only",
    not_on_fleet: Sequence[str] = (),
    then: Callable[[], None] | None = None,
    ask: Ask | None = None,
    log: Log | None = None,
) -> Request | Fleet:
    """One database's request, or the fleet (``fleet``: the task runs on fleets, with these flags).

    ``not_on_fleet``: flags given that a fleet run does not take; ``only_flag``: what the task calls
    its target selection (verify's --only names checks, so its targets are --targets); ``then``:
    the task's own checks of its flags, run once those here passed and before anything is read.
    """
    environment = settings.environment(where.env) if where.env else None
    to_fleet = not where.url and environment is not None and environment.is_fleet
    given = (fleet or FleetFlags()).given(only_flag)
    if given and not to_fleet:
        place = (
            "--url names one database"
            if where.url
            else f"environment {where.env} is one database"
            if where.env
            else "no --env"
        )
        flags = f"{', '.join(given[:-1])} and {given[-1]} work" if len(given) > 1 else f"{given[0]} works"
        raise UserError(f"{flags} {NEEDS_A_FLEET}; {place}")
    if to_fleet and fleet is not None and not_on_fleet:
        raise UserError(
            f"{', '.join(not_on_fleet)} cannot be used on a fleet (environment {where.env}); name one with --url"
        )
    if then is not None:
        then()
    if not to_fleet:
        return build_request(
            settings,
            url=where.url,
            environment=environment,
            reading=where.reading,
            as_json=where.as_json,
            yes=where.yes,
            ask=ask,
            log=log,
        )
    assert environment is not None
    if fleet is None:
        read_workspace(settings, log, chain=where.reading is Reading.SNAPSHOT_CHAIN)  # its warnings first, as always
        # its url_env, if any, names the control database of targets_query: never a target by itself
        raise UserError(
            f"environment {environment.name} is a fleet of databases: only migrate, status and verify run on a "
            "fleet (or name one database with --url)"
        )
    from drizzle_ops.context.fleet.build import build_fleet

    return build_fleet(
        settings,
        environment=environment,
        shard=fleet.shard,
        only=fleet.only,
        reading=where.reading,
        as_json=where.as_json,
        yes=where.yes,
        ask=ask,
        log=log,
    )
