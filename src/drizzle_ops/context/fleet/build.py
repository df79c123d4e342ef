"""A fleet: many targets under one request context (settings and workspace shared), resolved once at the edge.

``--shard K/N`` and ``--only LABEL,…`` choose from the fleet's stable order (fleet_targets.py). Each
target then runs under its own context, which differs from the shared one only in its target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from drizzle_ops.context.config import Environment, FleetSource, Settings
from drizzle_ops.context.fleet.targets import FleetTarget, fleet_targets
from drizzle_ops.context.request import Ask, Log, Reading, Request, read_workspace
from drizzle_ops.context.target import Target
from drizzle_ops.errors import UserError


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based: K of K/N
    count: int  # N

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def in_shard(items: Sequence[FleetTarget], shard: Shard) -> list[FleetTarget]:
    """Every N-th target from the K-th on: over 1/N … N/N each target lands in exactly one shard, sizes within one."""
    return [item for position, item in enumerate(items) if position % shard.count == shard.index - 1]


def split_labels(values: Sequence[str] | str | None) -> tuple[str, ...]:
    """--only LABEL,… (repeatable): the labels in the order given, each once."""
    if not values:
        return ()
    given = [values] if isinstance(values, str) else list(values)
    return tuple(dict.fromkeys(part.strip() for value in given for part in value.split(",") if part.strip()))


def only_labels(items: Sequence[FleetTarget], labels: Sequence[str]) -> list[FleetTarget]:
    """The named targets, in the fleet's order; an unknown label is bad input."""
    known = {item.label for item in items}
    unknown = [label for label in labels if label not in known]
    if unknown:
        raise UserError(
            f"--only: no target labelled {', '.join(unknown)} in this fleet "
            "(labels are host:port/dbname, or the label column of targets_query; `inv status --env …` lists them)"
        )
    wanted = set(labels)
    return [item for item in items if item.label in wanted]


@dataclass(frozen=True)
class Fleet:
    request: Request  # shared by every target; its target names the environment, not a database
    environment: Environment
    targets: tuple[FleetTarget, ...]  # the selected ones, in the fleet's order
    size: int  # how many the whole fleet holds, before --shard and --only
    shard: Shard | None = None
    only: tuple[str, ...] = ()

    @property
    def source(self) -> FleetSource:
        assert self.environment.fleet is not None
        return self.environment.fleet

    @property
    def parallel(self) -> int:
        return self.source.parallel

    @property
    def canary(self) -> int:
        return min(self.source.canary, len(self.targets))

    def confirm(self, action: str) -> Fleet:
        """Once for the whole fleet: a protected environment needs --yes (and, at a terminal, its typed name).

        Returns the fleet as confirmed, which never asks again: the edge confirms before it turns Ctrl-C
        into "start nothing new", so Ctrl-C at the prompt still ends the run.
        """
        self.request.confirm(f"{action} {len(self.targets)} database(s)")
        return replace(self, request=replace(self.request, yes=True, ask=None))

    def request_for(self, member: FleetTarget) -> Request:
        """The target's own request: confirmed already (``confirm`` asked once for all), so it never asks again."""
        return replace(self.request, target=member.target, yes=True, ask=None)


def build_fleet(
    settings: Settings,
    *,
    environment: Environment,
    shard: Shard | None = None,
    only: Sequence[str] | str | None = None,
    reading: Reading = Reading.MIGRATIONS,
    as_json: bool = False,
    yes: bool = False,
    ask: Ask | None = None,
    log: Log | None = None,
) -> Fleet:
    """Read the workspace once, list the fleet's targets once, then apply --shard or --only (context/resolve.py)."""
    labels = split_labels(only)
    if shard and labels:
        raise UserError("--shard and --only: use one (--only names targets anywhere in the fleet)")
    workspace = read_workspace(settings, log, chain=reading is Reading.SNAPSHOT_CHAIN)
    everyone = fleet_targets(settings, environment)
    selected = everyone
    if shard:
        selected = in_shard(everyone, shard)
    elif labels:
        selected = only_labels(everyone, labels)
    shared = Request(
        settings,
        Target(None, f"fleet {environment.name}", environment),
        workspace,
        as_json=as_json,
        yes=yes,
        ask=ask,
        log=log,
    )
    return Fleet(shared, environment, tuple(selected), len(everyone), shard, labels)
