"""Where a fixed migration must commit and begin again, so that drizzle-kit 0.31, 1.0 and drizzle-ops all run it.

drizzle-kit runs every pending migration in one transaction. A rewritten statement that cannot run in a
transaction (CONCURRENTLY) gets `COMMIT;` before it and `BEGIN;` after it, each a chunk of its own between
`--> statement-breakpoint`s; a VALIDATE CONSTRAINT gets `COMMIT;` and `BEGIN;` before it, so that it runs
in a later transaction than the NOT VALID constraint it checks and holds nothing stronger than its own
SHARE UPDATE EXCLUSIVE lock while it scans; a migration that a backfill follows ends with `COMMIT;` and
`BEGIN;`, so that drizzle-kit runs the backfill's UPDATE after this file's locks are gone. drizzle-ops runs
such a file as drizzle-kit does (engine/outside.py), and the file always ends inside a transaction, where
both tools write its row.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# what each boundary says to the reader, and to transaction-nesting, which would otherwise warn about it
_IGNORE = "-- lint: ignore transaction-nesting (lint --fix: {})"


class Boundary(str, Enum):
    """A COMMIT or BEGIN that lint --fix writes, by why it is there."""

    LEAVE = "CONCURRENTLY cannot run inside drizzle-kit's transaction"
    RETURN = "the rest of the migration runs in a transaction again"
    COMMIT_ADDED = "commit the NOT VALID constraint, so that VALIDATE scans in a later transaction"
    BEGIN_VALIDATE = "VALIDATE CONSTRAINT holds only its SHARE UPDATE EXCLUSIVE lock while it scans"
    COMMIT_BEFORE_BACKFILL = "commit before the backfill migration after this one, so that it holds none of its locks"
    BEGIN_RECORD = "the migration ends in a transaction, where both tools record it"

    @property
    def sql(self) -> str:
        opening = (Boundary.RETURN, Boundary.BEGIN_VALIDATE, Boundary.BEGIN_RECORD)
        word = "BEGIN" if self in opening else "COMMIT"
        return f"{_IGNORE.format(self.value)}\n{word}"


@dataclass(frozen=True)
class Step:
    """One statement of the fixed file, without its semicolon."""

    sql: str
    outside: bool = False  # cannot run in a transaction block (CONCURRENTLY)
    validates: bool = False  # VALIDATE CONSTRAINT: a scan that must not share a transaction with stronger locks
    ends_before_backfill: bool = False  # the file's last step, and a backfill migration follows the file


@dataclass(frozen=True)
class Placed:
    """A step with the boundaries that go right before and right after it."""

    step: Step
    before: tuple[Boundary, ...] = ()
    after: tuple[Boundary, ...] = ()


def place(steps: list[Step]) -> list[Placed]:
    """The boundaries each step needs, in a file that starts inside drizzle-kit's transaction.

    That transaction may already hold the earlier pending migrations' work, so a VALIDATE first in
    the file still commits it first. After a run of outside steps a BEGIN comes at once: the file
    never ends outside a transaction, and the next statements are as atomic as they can be.
    """
    placed: list[Placed] = []
    inside, only_validations = True, False
    for index, step in enumerate(steps):
        before: list[Boundary] = []
        after: list[Boundary] = []
        if step.outside:
            if inside:
                before.append(Boundary.LEAVE)
                inside = False
        elif step.validates:
            if not only_validations:
                before += [Boundary.COMMIT_ADDED, Boundary.BEGIN_VALIDATE]
            only_validations = True
        else:
            only_validations = False
        following = steps[index + 1] if index + 1 < len(steps) else None
        if step.outside and (following is None or not following.outside):
            after.append(Boundary.RETURN)
            inside, only_validations = True, True  # a fresh transaction holds nothing yet
        elif step.ends_before_backfill:  # (after a RETURN the transaction holds nothing already)
            after += [Boundary.COMMIT_BEFORE_BACKFILL, Boundary.BEGIN_RECORD]
        placed.append(Placed(step, tuple(before), tuple(after)))
    return placed
