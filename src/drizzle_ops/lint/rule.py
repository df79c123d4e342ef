"""The interface between the engine and the rules.

A rule is data (its id, severity and docs) plus one ``check`` function that looks
at one statement, with the context of the rest of the migration, and yields
violations. Rules never parse SQL themselves: the engine parses each file once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from pglast import ast

from drizzle_ops.engine.sqlast import TableKey, alter_table_commands, table_key
from drizzle_ops.lint.finding import Severity

# squawk flags these statements on a table created in the same transaction; we do not.
NEW_TABLE_EXEMPTION = (
    "A table created earlier in the same migration is exempt: it is empty and no other session can see it"
    " until the migration commits, so there is nothing to scan and nobody to block. squawk flags it."
)


@dataclass(frozen=True)
class Statement:
    number: int  # 1-based, in file order
    node: ast.Node  # the parsed statement (RawStmt.stmt)
    text: str  # its source text, without the trailing semicolon
    line: int  # 1-based line of its first token
    ignores: frozenset[str] = field(default=frozenset())


@dataclass(frozen=True)
class Context:
    """What a rule may know beyond the statement itself."""

    statements: Sequence[Statement]  # the whole file
    index: int  # position of the current statement in ``statements``
    transactional: bool  # the runner wraps the whole file in one transaction
    marked_no_transaction: bool  # the author asked for no transaction (first-line marker)
    in_transaction: bool  # the current statement runs inside a transaction
    explicit_transaction: bool  # ... one the file opened itself with BEGIN
    new_tables: frozenset[TableKey]  # tables created earlier in this file
    history: Sequence[Statement] = ()  # statements of the migrations linted before this one, in order

    @property
    def earlier(self) -> Sequence[Statement]:
        return self.statements[: self.index]

    @property
    def later(self) -> Sequence[Statement]:
        return self.statements[self.index + 1 :]

    def is_new_table(self, relation: ast.RangeVar | None) -> bool:
        """True for a table created earlier in this migration: empty, and unseen by other sessions."""
        return relation is not None and table_key(relation) in self.new_tables

    def alters_existing_table(self, node: ast.Node) -> tuple[ast.RangeVar, list[ast.AlterTableCmd]] | None:
        """An ALTER TABLE's table and subcommands, when the table existed before this migration (else None).

        What most lock rules ask first: a table created a few lines above is empty
        and invisible to other sessions, so nothing there can block anyone.
        """
        relation = getattr(node, "relation", None)
        commands = alter_table_commands(node)
        if not commands or relation is None or self.is_new_table(relation):
            return None
        return relation, commands


@dataclass(frozen=True)
class Violation:
    message: str
    severity: Severity | None = None  # None: the rule's own severity
    help: str | None = None  # None: the rule's ``fix``


Check = Callable[[Statement, Context], Iterator[Violation]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str  # one line
    problem: str  # why it is dangerous
    fix: str  # the safe alternative, short enough to print under a finding
    bad: str  # example SQL that is flagged
    good: str  # the same change done safely
    check: Check
    squawk: str | None = None  # squawk's id when squawk has the same rule
    squawk_differences: tuple[str, ...] = ()  # where we decide differently from squawk on purpose, and why
