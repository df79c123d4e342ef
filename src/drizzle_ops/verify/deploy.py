"""`migrate --verify`: deploy, verify, revert, per migration (what sqitch does).

After each migration commits, the live schema is compared with that
migration's snapshot. On any difference the migration is undone with its down
file (still under the migrate lock) and the run stops, naming the differences.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

import psycopg

from drizzle_ops.engine import pg
from drizzle_ops.engine.rollback import DownFile, revert
from drizzle_ops.engine.runner import ExecutionPolicy
from drizzle_ops.engine.workspace import Migration, Workspace
from drizzle_ops.errors import OperationFailed
from drizzle_ops.verify.compare import Difference
from drizzle_ops.verify.conformance import check_conformance

SHOWN = 5  # differences in the one-line error; all of them go to the log


class VerifyFailed(OperationFailed):
    """A migration applied cleanly but the schema did not match its snapshot; it was reverted."""

    def __init__(self, tag: str, differences: list[Difference], reverted_with: str | None) -> None:
        self.tag = tag
        self.differences = differences
        self.reverted_with = reverted_with
        shown = "; ".join(str(d) for d in differences[:SHOWN])
        more = f"; and {len(differences) - SHOWN} more" if len(differences) > SHOWN else ""
        if reverted_with:
            outcome = f"it was reverted with {reverted_with}"
        else:
            outcome = "it stays applied (no down file to revert it)"
        super().__init__(
            f"{tag} does not match its snapshot after applying ({len(differences)} difference(s): {shown}{more}); "
            f"{outcome}; fix the migration or regenerate its snapshot, then migrate again"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "tag": self.tag,
            "differences": [str(d) for d in self.differences],
            "reverted_with": self.reverted_with,
        }


def verify_each(
    workspace: Workspace,
    downs: Mapping[str, DownFile],
    *,
    policy: ExecutionPolicy | None = None,
    log: Callable[[str], None] | None = None,
    accepted: Collection[str] | None = None,
) -> Callable[[psycopg.Connection, Migration], None]:
    """The runner's after_each hook: check conformance, revert and stop on a difference.

    ``accepted``: the reviewed differences (verify --accept) that do not count.
    """

    def after_each(conn: psycopg.Connection, migration: Migration) -> None:
        result = check_conformance(conn, workspace, migration, accepted)
        if result.skipped:
            if log:
                log(f"  not verified: {migration.tag} ({result.skipped})")
            return
        if result.ok:
            if log:
                log(f"  verified: {migration.tag} matches its snapshot")
            return
        if log:
            log(f"  {migration.tag} does not match its snapshot:")
            for difference in result.differences:
                log(f"    {difference}")
        down = downs.get(migration.tag)
        if down is None:
            raise VerifyFailed(migration.tag, result.differences, None)
        rows = pg.read_applied(conn, workspace.migrations_schema, workspace.migrations_table)
        row = max((r for r in rows if r.created_at == migration.when), key=lambda r: r.id)
        revert(conn, workspace, down, row.id, policy=policy)
        if log:
            log(f"  reverted {migration.tag} with {down.display}")
        raise VerifyFailed(migration.tag, result.differences, down.display)

    return after_each
