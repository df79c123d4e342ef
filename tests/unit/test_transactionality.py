"""How a file must run, decided from the parse tree; what of it stays after a failure (the ledger). No database."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import pytest

from drizzle_ops.engine.outside import Ledger, numbers, starts_inside_a_transaction, statements_numbered
from drizzle_ops.engine.transactionality import (
    Control,
    ControlStatement,
    Mode,
    chunk_controls,
    mode_of,
    transaction_control,
)
from drizzle_ops.engine.workspace import BREAKPOINT, Statement, split_statements


@dataclass(frozen=True)
class File:
    text: str
    _cache: dict[str, object] = field(default_factory=dict, compare=False)

    @cached_property
    def statements(self) -> list[Statement]:
        return split_statements(self.text)


def file(*chunks: str) -> File:
    return File(f"{BREAKPOINT}\n".join(chunks))


HACK = file(
    "COMMIT;",
    'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "t_new" ON "t" ("a","b");',
    "BEGIN;",
    'ALTER TABLE "t" DROP CONSTRAINT IF EXISTS "t_unique";',
    "COMMIT;",
    'DROP INDEX CONCURRENTLY IF EXISTS "t_unique";',
    "BEGIN;",
    'ALTER TABLE "t" ADD CONSTRAINT "t_unique" UNIQUE USING INDEX "t_new";',
)


@pytest.mark.parametrize(
    ("source", "mode"),
    [
        (file('CREATE TABLE "t" (id int);', 'ALTER TABLE "t" ADD COLUMN "x" int;'), Mode.TRANSACTION),
        (file('CREATE INDEX CONCURRENTLY "i" ON "t" ("a");'), Mode.NO_TRANSACTION),
        (File('-- drizzle-ops: no-transaction\nVACUUM "t";'), Mode.NO_TRANSACTION),
        (HACK, Mode.OWN_TRANSACTIONS),
        (file("BEGIN;", 'UPDATE "t" SET "a" = 1;', "COMMIT;"), Mode.OWN_TRANSACTIONS),
        (file('UPDATE "t" SET "a" = 1;', "SAVEPOINT s;", "ROLLBACK TO s;"), Mode.OWN_TRANSACTIONS),
        (file("START TRANSACTION ISOLATION LEVEL SERIALIZABLE;", "END;"), Mode.OWN_TRANSACTIONS),
        (file("PREPARE TRANSACTION 'x';", "COMMIT PREPARED 'x';"), Mode.OWN_TRANSACTIONS),
        # words, not statements: a DO block's BEGIN/END, a string, a comment, a column called "commit"
        (
            file("DO $$ BEGIN CREATE TYPE e AS ENUM ('a'); EXCEPTION WHEN duplicate_object THEN null; END $$;"),
            Mode.TRANSACTION,
        ),
        (
            file("SELECT 'BEGIN; COMMIT;' AS note; -- COMMIT", 'ALTER TABLE "t" ADD COLUMN "commit" int;'),
            Mode.TRANSACTION,
        ),
        (file("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;"), Mode.TRANSACTION),
    ],
)
def test_the_mode_comes_from_the_parse_tree(source: File, mode: Mode) -> None:
    assert mode_of(source) is mode


def test_each_control_statement_is_named_with_what_it_does() -> None:
    found = transaction_control(HACK)
    assert {number: [c.kind for c in controls] for number, controls in found.items()} == {
        1: [Control.COMMIT],
        3: [Control.BEGIN],
        5: [Control.COMMIT],
        7: [Control.BEGIN],
    }
    assert chunk_controls(Statement(1, "COMMIT AND CHAIN;", 1)) == (
        [ControlStatement(Control.COMMIT, None, True)],
        False,
    )
    assert chunk_controls(Statement(1, 'ROLLBACK TO SAVEPOINT "s";', 1))[0] == [
        ControlStatement(Control.ROLLBACK_TO, "s")
    ]
    assert chunk_controls(Statement(1, 'COMMIT;\nCREATE INDEX CONCURRENTLY "i" ON "t" ("a");', 1))[1] is True


@pytest.mark.parametrize(
    ("source", "inside"),
    [
        (HACK, False),  # opens with its own COMMIT
        (file("BEGIN;", 'UPDATE "t" SET "a" = 1;', "COMMIT;"), False),  # opens with its own BEGIN
        (
            file(
                'ALTER TABLE "t" ADD COLUMN "x" int;',
                "COMMIT;",
                'CREATE INDEX CONCURRENTLY "i" ON "t" ("x");',
                "BEGIN;",
            ),
            True,
        ),  # drizzle-kit's BEGIN holds the ALTER until the file's COMMIT
        (
            file('CREATE INDEX CONCURRENTLY "i" ON "t" ("x");', "BEGIN;", 'UPDATE "t" SET "a" = 1;', "COMMIT;"),
            False,
        ),  # what comes first cannot run in a transaction at all
        (File("-- drizzle-ops: no-transaction\nSELECT 1;" + BREAKPOINT + "\nBEGIN;"), False),  # the marker says none
    ],
)
def test_whether_the_file_starts_inside_drizzle_kits_transaction(source: File, inside: bool) -> None:
    assert starts_inside_a_transaction(source) is inside


def run(ledger: Ledger, number: int, *kinds: Control, work: bool = True, inside: bool, name: str | None = None) -> None:
    ledger.ran(number, [ControlStatement(k, name) for k in kinds], work=work, in_transaction=inside)


def test_the_ledger_of_the_commit_hack_failing_at_its_last_statement() -> None:
    ledger = Ledger()
    run(ledger, 1, Control.COMMIT, work=False, inside=False)
    run(ledger, 2, inside=False)  # the concurrent build, on its own
    run(ledger, 3, Control.BEGIN, work=False, inside=True)
    run(ledger, 4, inside=True)
    run(ledger, 5, Control.COMMIT, work=False, inside=False)
    run(ledger, 6, inside=False)
    run(ledger, 7, Control.BEGIN, work=False, inside=True)
    assert (ledger.stays, ledger.open) == ([2, 4, 6], [])
    run(ledger, 8, inside=True)
    assert ledger.failed() == [8]  # what the open transaction held goes with it
    assert ledger.stays == [2, 4, 6]


def test_the_ledger_follows_rollbacks_and_savepoints() -> None:
    ledger = Ledger()
    run(ledger, 1, inside=True)  # drizzle-kit's own transaction
    run(ledger, 2, Control.SAVEPOINT, work=False, inside=True, name="s")
    run(ledger, 3, inside=True)
    run(ledger, 4, Control.ROLLBACK_TO, work=False, inside=True, name="s")
    run(ledger, 5, inside=True)
    assert (ledger.open, ledger.undone) == ([1, 5], [3])
    run(ledger, 6, Control.COMMIT, work=False, inside=False)
    assert ledger.stays == [1, 5]
    run(ledger, 7, Control.BEGIN, work=False, inside=True)
    run(ledger, 8, inside=True)
    run(ledger, 9, Control.ROLLBACK, work=False, inside=False)
    assert ledger.undone == [3, 8] and ledger.stays == [1, 5] and ledger.failed() == []


def test_numbers_are_said_as_ranges_with_the_verb_agreeing() -> None:
    assert numbers([5, 1, 2, 3, 3]) == "1-3, 5"
    assert statements_numbered([4], "stays", "stay") == "statement 4 stays"
    assert statements_numbered([2, 4], "stays", "stay") == "statements 2, 4 stay"
