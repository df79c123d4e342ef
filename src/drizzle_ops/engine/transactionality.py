"""How a migration (or a down file) must run: in one transaction, statement by statement, or as its own transactions.

- In one transaction of ours: the default, with its bookkeeping row.
- Statement by statement, each committed: Postgres refuses CREATE/DROP INDEX CONCURRENTLY,
  REINDEX CONCURRENTLY and VACUUM inside a transaction block, so a file with one of them (or
  the marker line ``-- drizzle-ops: no-transaction``) runs outside any transaction.
- In batches: a file whose UPDATE or DELETE follows the line ``-- drizzle-ops: batch rows=N``
  (engine/batch_statement.py), each batch its own transaction (engine/batch_migration.py).
- As its own transactions: a file with transaction control (BEGIN, COMMIT, ROLLBACK,
  SAVEPOINT, PREPARE TRANSACTION, …). Teams write ``COMMIT;`` before a CREATE INDEX
  CONCURRENTLY and ``BEGIN;`` after it because drizzle-kit runs every pending migration in one
  transaction; such a file is run the way its author meant, with its own boundaries.

Decided from the parse tree (pglast, libpq_query's parser), never from the text; a cheap scan
first, so that most files never pay for the parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from drizzle_ops.engine.batch_statement import has_batch_marker
from drizzle_ops.engine.scan import contains_lowered, first_words
from drizzle_ops.engine.workspace import BOM, Migration, Statement, leading_bytes

MARKER = "-- drizzle-ops: no-transaction"

# cheap pre-check so files without these words never pay for the parser
_WORDS = ("concurrently", "vacuum")
# the first words of the statements the parser reads as transaction control, and as the statements that
# cannot run in a transaction (IndexStmt, DropStmt, ReindexStmt, VacuumStmt: VACUUM and ANALYZE): a chunk
# whose statements start with none of them needs no parse to know it holds none
_CONTROL_WORDS = frozenset({"begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release", "prepare"})
_OUTSIDE_WORDS = frozenset({"create", "drop", "reindex", "vacuum", "analyze", "analyse"})
_CREATE = frozenset({"create"})
# the marker as the first line with text (str.strip's whitespace around it), its letters in any case as
# in the lower-cased line: only ASCII letters lower to ASCII letters here (see engine/scan.py)
_MARKER_LINE = re.compile(
    r"\s*" + "".join(f"[{c}{c.upper()}]" if c.isalpha() else re.escape(c) for c in MARKER) + r"[^\S\n]*(?:\n|\Z)"
)


class Mode(str, Enum):
    TRANSACTION = "transaction"
    NO_TRANSACTION = "no-transaction"  # statement by statement, each committed on its own
    OWN_TRANSACTIONS = "own-transactions"  # the file's BEGIN/COMMIT statements decide
    BATCH = "batch"  # one UPDATE or DELETE in keyset batches, each its own transaction

    @property
    def description(self) -> str:
        """How plan, status and the reports say it."""
        return {
            Mode.TRANSACTION: "one transaction",
            Mode.NO_TRANSACTION: "outside a transaction",
            Mode.OWN_TRANSACTIONS: "manages its own transactions",
            Mode.BATCH: "in batches",
        }[self]


@dataclass(frozen=True)
class ConcurrentIndex:
    """An index built CONCURRENTLY: after a failure it is left INVALID and must be dropped before a retry."""

    schema: str | None
    name: str


class Control(str, Enum):
    """A transaction-control statement, by what it does to the transaction."""

    BEGIN = "begin"  # BEGIN, START TRANSACTION
    COMMIT = "commit"  # COMMIT, END (AND CHAIN: a new transaction starts at once)
    ROLLBACK = "rollback"  # ROLLBACK, ABORT
    SAVEPOINT = "savepoint"
    RELEASE = "release"
    ROLLBACK_TO = "rollback to"
    PREPARE = "prepare transaction"  # ends the transaction; COMMIT PREPARED decides it later
    COMMIT_PREPARED = "commit prepared"
    ROLLBACK_PREPARED = "rollback prepared"


@dataclass(frozen=True)
class ControlStatement:
    kind: Control
    savepoint: str | None = None
    chain: bool = False  # COMMIT/ROLLBACK AND CHAIN


class SqlSource(Protocol):
    """Anything with SQL text and its statements: a migration, a down file."""

    @property
    def text(self) -> str: ...

    @property
    def statements(self) -> list[Statement]: ...


def has_marker(text: str) -> bool:
    """Whether the first line with text is the marker; read in place, never copying a large text."""
    return _MARKER_LINE.match(text, 1 if text.startswith(BOM) else 0) is not None


def marked(source: SqlSource) -> bool:
    """``has_marker(source.text)``; for a migration, read from the start of its file without decoding all of it."""
    if not isinstance(source, Migration):
        return has_marker(source.text)
    chunks = source.file.chunks
    first = chunks[0]
    start = leading_bytes(first)
    end = first.find(b"\n", start)
    if end < 0:
        if len(chunks) > 1:  # the line goes on into the breakpoint
            return False
        end = len(first)
    # the first line with text is short when it is the marker (with blanks after it): decoded only then
    if first[start : start + len(MARKER)].lower() != MARKER.encode():
        return False
    return has_marker(first[start:end].decode("utf-8"))


def _parse(sql: str) -> list[object]:
    from pglast import parse_sql  # imported here: most migrations never need the parser
    from pglast.parser import ParseError

    try:
        return [raw.stmt for raw in parse_sql(sql)]
    except ParseError:
        return []  # the server will report the syntax error with its position


def needs_no_transaction(node: object) -> bool:
    from pglast import ast

    if isinstance(node, (ast.IndexStmt, ast.DropStmt)):
        return bool(node.concurrent)
    if isinstance(node, ast.ReindexStmt):
        return any(isinstance(p, ast.DefElem) and p.defname == "concurrently" for p in node.params or ())
    return isinstance(node, ast.VacuumStmt)


_KINDS = [  # pglast's TransactionStmtKind, in its order
    Control.BEGIN,
    Control.BEGIN,  # START TRANSACTION
    Control.COMMIT,
    Control.ROLLBACK,
    Control.SAVEPOINT,
    Control.RELEASE,
    Control.ROLLBACK_TO,
    Control.PREPARE,
    Control.COMMIT_PREPARED,
    Control.ROLLBACK_PREPARED,
]


def control_of(node: object) -> ControlStatement | None:
    """The transaction control a parsed statement is, or None for any other statement."""
    from pglast import ast

    if not isinstance(node, ast.TransactionStmt):
        return None
    return ControlStatement(_KINDS[int(node.kind or 0)], node.savepoint_name, bool(node.chain))


def statement_controls(statement: Statement) -> list[ControlStatement]:
    """The transaction-control statements in one chunk (usually none, at most one): parsed only if the scan flags it."""
    return chunk_controls(statement)[0]


def chunk_controls(statement: Statement) -> tuple[list[ControlStatement], bool]:
    """The chunk's transaction-control statements, and whether it also holds any other statement (work)."""
    if _starts_with_none(statement, _CONTROL_WORDS):
        return [], True  # the scan read every statement's first word, and none starts or ends a transaction
    nodes = _parse(statement.sql)
    controls = [control for node in nodes if (control := control_of(node)) is not None]
    return controls, len(controls) < len(nodes) or not nodes


def transaction_control(source: SqlSource) -> dict[int, list[ControlStatement]]:
    """The chunks (by statement number) that hold transaction control, with what each one does."""
    found = {}
    for statement in source.statements:
        controls = statement_controls(statement)
        if controls:
            found[statement.number] = controls
    return found


def needs_outside(statement: Statement) -> bool:
    """Whether a chunk must run outside any transaction block (CONCURRENTLY, VACUUM)."""
    if not contains_lowered(statement.source, _WORDS) or _starts_with_none(statement, _OUTSIDE_WORDS):
        return False
    return any(needs_no_transaction(node) for node in _parse(statement.sql))


def _starts_with_none(statement: Statement, words: frozenset[str]) -> bool:
    """Whether the scan is sure that no statement of the chunk starts with one of ``words``."""
    found = first_words(statement.source)
    return found is not None and found.isdisjoint(words)


def _may_hold_a_marker(source: SqlSource) -> bool:
    """False when a migration's bytes cannot hold a batch marker: a large seed is then never decoded to look."""
    if not isinstance(source, Migration):
        return True
    return any(b"drizzle-ops:" in chunk for chunk in source.file.chunks)


def mode_of(source: SqlSource) -> Mode:
    """How ``source`` must run (see the module's docstring): a batch marker wins (the file must then hold its
    statement alone, engine/batch_statement.py checks), then its own transaction control, then the rest."""
    if _may_hold_a_marker(source) and has_batch_marker(source.text):
        return Mode.BATCH
    if transaction_control(source):
        return Mode.OWN_TRANSACTIONS
    if marked(source) or any(needs_outside(s) for s in source.statements):
        return Mode.NO_TRANSACTION
    return Mode.TRANSACTION


def is_non_transactional(source: SqlSource) -> bool:
    """Whether ``source`` cannot run as one transaction of ours (outside one, or with its own transactions)."""
    return mode_of(source) is not Mode.TRANSACTION


def concurrent_indexes(source: SqlSource) -> list[ConcurrentIndex]:
    from pglast import ast

    found = []
    for statement in source.statements:
        if not contains_lowered(statement.source, ("concurrently",)) or _starts_with_none(statement, _CREATE):
            continue
        for node in _parse(statement.sql):
            if isinstance(node, ast.IndexStmt) and node.concurrent and node.idxname:
                schema = node.relation.schemaname if node.relation is not None else None
                found.append(ConcurrentIndex(schema, node.idxname))
    return found
