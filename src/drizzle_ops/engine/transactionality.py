"""Which migrations cannot run inside a transaction, decided by the SQL parser.

Postgres refuses CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY and VACUUM
inside a transaction block. drizzle-kit runs every pending migration in one
transaction, so such a migration can never work there; we run it statement by
statement instead. A file can also ask for that with a first-line marker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from drizzle_ops.engine.workspace import BOM, Statement

MARKER = "-- drizzle-ops: no-transaction"

# cheap pre-check so files without these words never pay for the parser
_WORDS = ("concurrently", "vacuum")


@dataclass(frozen=True)
class ConcurrentIndex:
    """An index built CONCURRENTLY: after a failure it is left INVALID and must be dropped before a retry."""

    schema: str | None
    name: str


class SqlSource(Protocol):
    """Anything with SQL text and its statements: a migration, a down file."""

    @property
    def text(self) -> str: ...

    @property
    def statements(self) -> list[Statement]: ...


def has_marker(text: str) -> bool:
    first = text.removeprefix(BOM).lstrip().split("\n", 1)[0]
    return first.strip().lower() == MARKER


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


def is_non_transactional(source: SqlSource) -> bool:
    if has_marker(source.text):
        return True
    lowered = source.text.lower()
    if not any(word in lowered for word in _WORDS):
        return False
    return any(needs_no_transaction(node) for s in source.statements for node in _parse(s.sql))


def concurrent_indexes(source: SqlSource) -> list[ConcurrentIndex]:
    from pglast import ast

    found = []
    for statement in source.statements:
        for node in _parse(statement.sql):
            if isinstance(node, ast.IndexStmt) and node.concurrent and node.idxname:
                schema = node.relation.schemaname if node.relation is not None else None
                found.append(ConcurrentIndex(schema, node.idxname))
    return found
