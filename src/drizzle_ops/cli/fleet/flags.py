"""Whether a run is a fleet run, and the flags that make sense only on one side (cheap: `inv migrate` imports it)."""

from __future__ import annotations

from collections.abc import Sequence

from drizzle_ops.context.config import Settings
from drizzle_ops.context.fleet.build import is_fleet
from drizzle_ops.errors import UserError

FLEET_FLAGS_NEED_A_FLEET = "only with --env naming a fleet (targets_env, targets_file or targets_query)"


def refuse_fleet_flags(settings: Settings, env: str | None, url: str | None, given: Sequence[str]) -> bool:
    """True when this run is a fleet run; fleet flags on one database are bad input (exit 2)."""
    fleet = not url and is_fleet(settings, env)
    if given and not fleet:
        where = "--url names one database" if url else f"environment {env} is one database" if env else "no --env"
        flags = f"{', '.join(given[:-1])} and {given[-1]} work" if len(given) > 1 else f"{given[0]} works"
        raise UserError(f"{flags} {FLEET_FLAGS_NEED_A_FLEET}; {where}")
    return fleet


def refuse_on_fleet(env: str, unsupported: Sequence[str]) -> None:
    if unsupported:
        raise UserError(f"{', '.join(unsupported)} cannot be used on a fleet (environment {env}); name one with --url")
