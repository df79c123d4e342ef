"""`migrate --verify`: deploy, verify, revert, per migration (what sqitch does).

Each migration's live schema is compared with its snapshot: inside its own transaction
before COMMIT, or, for one that ran outside a single transaction, after it committed, with
its down file to revert it. On any difference the run stops, naming the differences.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

import psycopg

from drizzle_ops.engine import bookkeeping
from drizzle_ops.engine.execution import ExecutionPolicy
from drizzle_ops.engine.lock import MigrationLock
from drizzle_ops.engine.rollback import DownFile, revert
from drizzle_ops.engine.workspace import Migration, Workspace
from drizzle_ops.errors import OperationFailed
from drizzle_ops.verify.compare import Difference
from drizzle_ops.verify.conformance import check_conformance

SHOWN = 5  # differences in the one-line error; all of them go to the log


class VerifyFailed(OperationFailed):
    """A migration applied cleanly but the schema did not match its snapshot; it was reverted."""

    def __init__(
        self, tag: str, differences: list[Difference], reverted_with: str | None, *, rolled_back: bool = False
    ) -> None:
        self.tag = tag
        self.differences = differences
        self.reverted_with = reverted_with
        self.rolled_back = rolled_back
        shown = "; ".join(str(d) for d in differences[:SHOWN])
        more = f"; and {len(differences) - SHOWN} more" if len(differences) > SHOWN else ""
        if rolled_back:
            outcome = "its transaction was rolled back, so nothing of it stays"
        elif reverted_with:
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
            "rolled_back": self.rolled_back,
        }


class DeployVerifier:
    """The runner's ``--verify`` hooks: check each migration against its snapshot.

    A migration in one transaction is checked inside it, before COMMIT, and rolled back on a
    difference: nothing of it stays. One that ran outside a single transaction has committed by
    then, so it is checked afterwards (still under the lock) and reverted with its down file.
    ``accepted``: the reviewed differences (verify --accept) that do not count.
    """

    def __init__(
        self,
        workspace: Workspace,
        downs: Mapping[str, DownFile],
        *,
        policy: ExecutionPolicy | None = None,
        log: Callable[[str], None] | None = None,
        accepted: Collection[str] | None = None,
    ) -> None:
        self.workspace = workspace
        self.downs = downs
        self.policy = policy
        self.log = log or (lambda _message: None)
        self.accepted = accepted

    def _differences(self, conn: psycopg.Connection, migration: Migration) -> list[Difference]:
        result = check_conformance(conn, self.workspace, migration, self.accepted)
        if result.skipped:
            self.log(f"  not verified: {migration.tag} ({result.skipped})")
            return []
        if result.ok:
            self.log(f"  verified: {migration.tag} matches its snapshot")
            return []
        self.log(f"  {migration.tag} does not match its snapshot:")
        for difference in result.differences:
            self.log(f"    {difference}")
        return result.differences

    def in_transaction(self, conn: psycopg.Connection, migration: Migration) -> None:
        differences = self._differences(conn, migration)
        if differences:
            self.log(f"  rolled back {migration.tag}")
            raise VerifyFailed(migration.tag, differences, None, rolled_back=True)

    def after_commit(self, conn: psycopg.Connection, migration: Migration, lock: MigrationLock) -> None:
        differences = self._differences(conn, migration)
        if not differences:
            return
        down = self.downs.get(migration.tag)
        if down is None:
            raise VerifyFailed(migration.tag, differences, None)
        rows = bookkeeping.read_applied(conn, self.workspace.migrations_schema, self.workspace.migrations_table)
        row = max((r for r in rows if r.created_at == migration.when), key=lambda r: r.id)
        revert(conn, self.workspace, down, row.id, lock=lock, policy=self.policy)
        self.log(f"  reverted {migration.tag} with {down.display}")
        raise VerifyFailed(migration.tag, differences, down.display)
