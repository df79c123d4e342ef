"""The interface between the engine and the rules.

A rule is data (its id, severity and docs) plus one ``check`` function that looks
at one statement, with the context of the rest of the migration, and yields
violations. Rules never parse SQL themselves: the engine parses each file once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from pglast import ast

from drizzle_ops.analysis.sqlast import TableKey, alter_table_commands, table_key
from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.version import DEFAULT_PG_VERSION, assumed
from drizzle_ops.lint.volatility import Volatility, offline_volatility

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
    comments: tuple[str, ...] = ()  # the comments between the statement before it and this one (a marker line)


@dataclass(frozen=True)
class RuleContext:
    """What a rule may know beyond the statement itself."""

    statements: Sequence[Statement]  # the whole file
    index: int  # position of the current statement in ``statements``
    transactional: bool  # the runner wraps the whole file in one transaction
    marked_no_transaction: bool  # the author asked for no transaction (first-line marker)
    in_transaction: bool  # the current statement runs inside a transaction
    explicit_transaction: bool  # ... one the file opened itself with BEGIN
    new_tables: frozenset[TableKey]  # tables created earlier in this file
    history: Sequence[Statement] = ()  # statements of the migrations linted before this one, in order
    # per statement of the file, the transaction it runs in (numbered in file order), or None: on its own
    transactions: Sequence[int | None] = ()
    rolled_back: frozenset[int] = frozenset()  # transactions of the file that end with ROLLBACK
    pg_version: int = DEFAULT_PG_VERSION  # the PostgreSQL major the verdicts are for
    volatility: Callable[[str], Volatility | None] | None = None  # the catalogue's answer, when connected

    @property
    def earlier(self) -> Sequence[Statement]:
        """Every earlier statement of this file, whatever transaction it ran in."""
        return self.statements[: self.index]

    @property
    def later(self) -> Sequence[Statement]:
        return self.statements[self.index + 1 :]

    def _transaction(self, index: int) -> int | None:
        return self.transactions[index] if index < len(self.transactions) else None

    @property
    def earlier_in_transaction(self) -> Sequence[Statement]:
        """The earlier statements of the transaction the current statement runs in; () when it runs on its own.

        The one answer to "did this transaction already …?": a COMMIT or ROLLBACK ends
        the transaction (and releases its locks), BEGIN starts one; a migration without
        BEGIN is one transaction as drizzle-ops applies it, unless it runs statement by
        statement (`-- drizzle-ops: no-transaction`, or CONCURRENTLY in it).
        """
        current = self._transaction(self.index)
        if current is None or not self.in_transaction:
            return ()
        return [s for i, s in enumerate(self.earlier) if self._transaction(i) == current]

    @property
    def later_in_transaction(self) -> Sequence[Statement]:
        """The later statements of the current transaction, up to its COMMIT or ROLLBACK."""
        current = self._transaction(self.index)
        if current is None or not self.in_transaction:
            return ()
        start = self.index + 1
        return [s for i, s in enumerate(self.later, start) if self._transaction(i) == current]

    @property
    def applied_before(self) -> Sequence[Statement]:
        """What the database has seen before this statement: earlier migrations, then the earlier
        statements of this file, without those of transactions that were rolled back."""
        current = self._transaction(self.index)
        kept = [
            s
            for i, s in enumerate(self.earlier)
            if (tx := self._transaction(i)) is None or tx == current or tx not in self.rolled_back
        ]
        return [*self.history, *kept]

    @property
    def assumed_version(self) -> str:
        """ "judged for PostgreSQL 14": the end of every finding whose verdict depends on the version."""
        return assumed(self.pg_version)

    def function_volatility(self, name: str) -> tuple[Volatility | None, str]:
        """How volatile a function is and how we know: the catalogue where connected, else the offline list."""
        if self.volatility is not None and (found := self.volatility(name)) is not None:
            return found, "read from the database's catalogue (pg_proc.provolatile)"
        return offline_volatility(name), "judged offline from drizzle-ops' list of common volatile functions"

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


Check = Callable[[Statement, RuleContext], Iterator[Violation]]


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
