"""The migrations that must follow a fixed file: a batched backfill per column added without its volatile DEFAULT,
then the NOT NULLs those columns were declared with.

Pure: their names and text. Adding them to the workspace (drizzle-kit generate --custom, which writes the journal
entry and the snapshot) and keeping the snapshots true to the catalog is drizzle_kit/follow_ups.py's job.

A batch statement must stand alone in its file (require-resumable-batch), so each column gets a backfill of its
own. The NOT NULLs come after the last backfill, in one more migration, each proven by a CHECK that is validated
in a later transaction, as adding-not-nullable-field's rewrite does it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from drizzle_ops.engine.workspace import BREAKPOINT
from drizzle_ops.lint.fix.rewrites import Backfill, backfill_sql, drop_not_null, not_null_steps
from drizzle_ops.lint.fix.steps import place

BATCH_ROWS = 1000  # keys per batch: short row locks, and a few thousand batches for a few million rows
_NAME_LENGTH = 60  # characters of a generated migration name (drizzle-kit puts it into the file or folder name)
_UNSAFE = re.compile(r"[^A-Za-z0-9-]+")  # and runs of _, which become one

Column = tuple[str, str, str]  # schema, table, column


@dataclass(frozen=True)
class FollowUp:
    """A migration to add right after the fixed file (and after the follow-ups before it)."""

    name: str  # for `drizzle-kit generate --custom --name`
    purpose: str  # one line: what it does
    sql: str  # the file's text
    down: str  # the statements of its down file ("" when there is nothing to undo)
    not_null: tuple[Column, ...] = ()  # the columns it makes NOT NULL (its snapshot shows them so)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "purpose": self.purpose, "sql": self.sql, "down": self.down}


def shown(column: Column) -> str:
    schema, table, name = column
    return f"{table}.{name}" if schema == "public" else f"{schema}.{table}.{name}"


def _name(what: str, *columns: str) -> str:
    """A migration name drizzle-kit and `generate --name` accept (letters, digits, _ and -): ``what`` and as much
    of the columns' names as fits."""
    named = _UNSAFE.sub("_", "_".join(columns)).strip("_")[: _NAME_LENGTH - len(what) - 1].rstrip("_")
    return f"{what}_{named}" if named else what


def follow_ups(backfills: Sequence[Backfill], fixed_file: str) -> list[FollowUp]:
    """The backfills of ``fixed_file``'s columns, one migration each, then one migration with their NOT NULLs."""
    made: list[FollowUp] = []
    for backfill in backfills:
        column = shown(backfill.key)
        sql = (
            f"-- lint --fix: {column} in the rows that were there before {fixed_file} added it "
            "(new rows get its DEFAULT)\n"
            f"-- drizzle-ops: batch rows={BATCH_ROWS}\n"
            f"{backfill_sql(backfill)};\n"
        )
        made.append(
            FollowUp(_name("backfill", backfill.key[1], backfill.column), f"fills {column} in batches", sql, "")
        )
    required = [b for b in backfills if b.not_null]
    if required:
        columns = ", ".join(shown(b.key) for b in required)
        placed = place(not_null_steps(required))
        statements = [
            sql for one in placed for sql in (*(b.sql for b in one.before), one.step.sql, *(b.sql for b in one.after))
        ]
        sql = (
            f"-- lint --fix: {columns} NOT NULL, as {fixed_file} declared, now that the backfill has filled "
            f"{'it' if len(required) == 1 else 'them'}\n" + f";{BREAKPOINT}\n".join(statements) + ";\n"
        )
        down = "".join(f"{drop_not_null(b)};\n" for b in required)
        name = _name("not_null", *(f"{b.key[1]}_{b.column}" for b in required))
        made.append(FollowUp(name, f"makes {columns} NOT NULL", sql, down, tuple(b.key for b in required)))
    return made
