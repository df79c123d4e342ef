"""The request context: everything a command needs to know about one run, resolved once at the edge.

The edge (drizzle_ops.cli) builds it from flags and invoke.yaml; commands read it and never
resolve a flag again. A fleet (context/fleet/build.py) is many targets under one such context: each target
runs under a copy that differs only in its target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum

from drizzle_ops.context.config import Environment, Settings
from drizzle_ops.context.safety import confirm_protected
from drizzle_ops.context.target import Target, resolve_target
from drizzle_ops.engine.execution import ExecutionPolicy
from drizzle_ops.engine.workspace import Workspace, load_workspace
from drizzle_ops.errors import OperationFailed, UserError

Log = Callable[[str], None]
Ask = Callable[[str], str]


class Reading(Enum):
    """How much of the workspace a task reads before it starts."""

    NONE = "none"  # db.up/db.down/db.url
    MIGRATIONS = "migrations"  # the journal and the SQL files (what migrate and status need)
    SNAPSHOT_CHAIN = "snapshot chain"  # also every snapshot, for breaks in their chain (the schema tasks)


@dataclass(frozen=True)
class Request:
    settings: Settings
    target: Target
    workspace_or_none: Workspace | None = None
    as_json: bool = False
    yes: bool = False  # --yes: the confirmation a protected environment needs
    ask: Ask | None = None  # given only when a person is at a terminal: they also type the environment's name
    log: Log | None = None  # progress and warnings, on stderr

    @property
    def workspace(self) -> Workspace:
        if self.workspace_or_none is None:
            raise UserError("this task needs a Drizzle workspace (give --workspace, or set it in invoke.yaml)")
        return self.workspace_or_none

    @property
    def policy(self) -> ExecutionPolicy:
        """The target environment's limits, with how long to wait for another run's lock (--lock-wait)."""
        return replace(self.target.policy, lock_wait=self.settings.lock_wait)

    def say(self, message: str) -> None:
        if self.log is not None:
            self.log(message)

    def confirm(self, action: str) -> None:
        """Refuse ``action`` on a protected target unless --yes (and, at a terminal, the typed name) confirm it."""
        confirm_protected(self.target.environment, yes=self.yes, action=action, ask=self.ask)


def read_workspace(settings: Settings, log: Log | None = None, *, chain: bool = False) -> Workspace:
    """The workspace, its warnings logged (or, with --strict, the first one raised) before any work starts.

    ``chain``: also read every snapshot for breaks in their chain (the schema tasks; costs a parse of each).
    """
    workspace = load_workspace(settings.workspace, settings.overrides)
    if chain:
        problem = workspace.snapshot_chain_problem()
        if problem:
            note = f"{problem}; drizzle-kit migrate ignores it, only `generate` needs an intact chain"
            workspace = replace(workspace, warnings=(*workspace.warnings, note))
        from drizzle_ops.verify.commutativity import conflict_warning  # reads and folds every v1 snapshot

        conflicts = conflict_warning(workspace)
        if conflicts:
            workspace = replace(workspace, warnings=(*workspace.warnings, conflicts))
    if workspace.warnings and settings.strict:
        raise OperationFailed(f"{workspace.warnings[0]} (--strict turns warnings into failures)")
    for warning in workspace.warnings:
        if log:
            log(f"warning: {warning}")
    return workspace


def build_request(
    settings: Settings,
    *,
    url: str | None = None,
    environment: Environment | None = None,
    reading: Reading = Reading.MIGRATIONS,
    as_json: bool = False,
    yes: bool = False,
    ask: Ask | None = None,
    log: Log | None = None,
) -> Request:
    """Read the workspace (its warnings first, as every task shows them), then resolve the target once."""
    workspace = None
    if reading is not Reading.NONE:
        workspace = read_workspace(settings, log, chain=reading is Reading.SNAPSHOT_CHAIN)
    target = resolve_target(settings, url, environment)
    return Request(settings, target, workspace, as_json=as_json, yes=yes, ask=ask, log=log)
