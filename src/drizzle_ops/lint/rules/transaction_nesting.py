"""transaction-nesting: BEGIN, COMMIT, ROLLBACK, savepoints and two-phase commit written into a migration.

The migration tool owns the transaction a migration runs in. A file that opens, ends or
prepares transactions itself fights it: drizzle-kit's migrate runs every pending migration
in one transaction, so a COMMIT in one file commits the ones before it too. The clean way
to run a migration outside a transaction is the first-line marker; in a file that has it,
BEGIN … COMMIT may group statements, and only what does not do what it seems is flagged.
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import TransactionStmtKind as Kind

from drizzle_ops.analysis.sqlast import closes_transaction
from drizzle_ops.engine.transactionality import MARKER
from drizzle_ops.lint.finding import Severity
from drizzle_ops.lint.rule import Rule, RuleContext, Statement, Violation

_SAVEPOINTS = frozenset({Kind.TRANS_STMT_SAVEPOINT, Kind.TRANS_STMT_RELEASE, Kind.TRANS_STMT_ROLLBACK_TO})
_TWO_WORDS = {
    Kind.TRANS_STMT_ROLLBACK_TO: "ROLLBACK TO",
    Kind.TRANS_STMT_PREPARE: "PREPARE TRANSACTION",
    Kind.TRANS_STMT_COMMIT_PREPARED: "COMMIT PREPARED",
    Kind.TRANS_STMT_ROLLBACK_PREPARED: "ROLLBACK PREPARED",
}
_USE_THE_MARKER = f"make `{MARKER}` the file's first line instead"


def _spelled(statement: Statement, kind: Kind) -> str:
    """The statement as the author wrote it: END rather than COMMIT, START TRANSACTION rather than BEGIN."""
    if kind in _TWO_WORDS:
        return _TWO_WORDS[kind]
    words = statement.text.split()
    first = words[0].upper() if words else "BEGIN"
    return "START TRANSACTION" if first == "START" else first


def _ends(node: ast.Node) -> bool:
    """COMMIT, ROLLBACK or PREPARE TRANSACTION, without AND CHAIN (which starts the next transaction at once)."""
    return closes_transaction(node) and not (isinstance(node, ast.TransactionStmt) and node.chain)


def _open_before(context: RuleContext) -> bool:
    """A transaction is open when the current statement starts."""
    if context.index == 0:
        return context.transactional
    previous = context.index - 1
    number = context.transactions[previous] if previous < len(context.transactions) else None
    return number is not None and not _ends(context.statements[previous].node)


def _never_closed(context: RuleContext, start: int) -> bool:
    """The transaction that statement ``start`` runs in is still open at the end of the file."""
    numbers = context.transactions
    if start >= len(numbers) or numbers[start] is None:
        return True  # e.g. COMMIT AND CHAIN as the last statement: its new transaction has nothing after it
    same = [i for i in range(start, len(numbers)) if numbers[i] == numbers[start]]
    return not any(closes_transaction(context.statements[i].node) for i in same)


def _in_managed_file(word: str, kind: Kind, open_before: bool) -> Violation:
    """A migration without the marker: the tool runs it in a transaction (or, with CONCURRENTLY, statement by
    statement)."""
    if kind in (Kind.TRANS_STMT_BEGIN, Kind.TRANS_STMT_START):
        if open_before:
            return Violation(
                f"{word} in a migration nests nothing: the migration tool already runs it in a transaction, "
                "so Postgres ignores this one with a warning, and a COMMIT after it ends the tool's transaction"
            )
        return Violation(
            f"{word} in a migration opens a transaction of the file's own, which drizzle-kit's migrate closes "
            f"only with its own final COMMIT; to run without a transaction, {_USE_THE_MARKER}"
        )
    if kind is Kind.TRANS_STMT_COMMIT:
        return Violation(
            f"{word} in a migration ends the migration tool's transaction: what follows is no longer undone "
            "when a later statement fails, and drizzle-kit's migrate commits the pending migrations before "
            f"this one with it; to run without a transaction, {_USE_THE_MARKER}"
        )
    if kind is Kind.TRANS_STMT_ROLLBACK:
        return Violation(
            f"{word} in a migration throws away what its transaction did so far (under drizzle-kit's migrate, "
            "the pending migrations before this one too), and what follows runs outside a transaction"
        )
    if kind in _SAVEPOINTS:
        return _savepoint(word, kind, open_before)
    if kind is Kind.TRANS_STMT_PREPARE:
        return _prepare(word)
    return _finish_prepared(word, open_before)


def _in_marked_file(word: str, kind: Kind, context: RuleContext, open_before: bool) -> Violation | None:
    """A `-- drizzle-ops: no-transaction` migration: BEGIN … COMMIT groups statements, as the author means."""
    node = context.statements[context.index].node
    if kind in (Kind.TRANS_STMT_BEGIN, Kind.TRANS_STMT_START):
        if open_before:
            return Violation(
                f"{word} inside a transaction this file already opened: Postgres ignores it with a warning, "
                "and the first COMMIT ends both"
            )
        if _never_closed(context, context.index):
            return Violation(
                f"{word} with no COMMIT after it in the file: the statements after it are never committed",
                help="End the transaction with COMMIT before the end of the file.",
            )
        return None
    if kind in (Kind.TRANS_STMT_COMMIT, Kind.TRANS_STMT_ROLLBACK):
        if not open_before:
            return Violation(
                f"{word} with no transaction open: it does nothing but draw a warning (this migration runs "
                "without a transaction, so each statement outside BEGIN … COMMIT commits on its own)",
                help=f"Remove the {word}, or open the transaction it ends with BEGIN.",
            )
        if isinstance(node, ast.TransactionStmt) and node.chain and _never_closed(context, context.index + 1):
            return Violation(
                f"{word} AND CHAIN opens the next transaction at once, and nothing in the file commits it",
                help="End the chained transaction with COMMIT before the end of the file.",
            )
        return None
    if kind in _SAVEPOINTS:
        return _savepoint(word, kind, open_before)
    if kind is Kind.TRANS_STMT_PREPARE:
        return _prepare(word)
    return _finish_prepared(word, open_before)


def _savepoint(word: str, kind: Kind, open_before: bool) -> Violation:
    if not open_before:
        return Violation(
            f"{word} outside a transaction block fails: Postgres allows savepoints only between BEGIN and COMMIT",
            severity=Severity.ERROR,
        )
    if kind is Kind.TRANS_STMT_ROLLBACK_TO:
        return Violation(f"{word} undoes the statements since its savepoint on every run: a migration cannot branch")
    return Violation(f"{word} in a migration protects nothing: a migration file cannot catch an error and go on")


def _prepare(word: str) -> Violation:
    return Violation(
        f"{word} hands the transaction to two-phase commit: with the default max_prepared_transactions = 0 "
        "Postgres rejects it, and otherwise its locks stay held and its changes unseen until someone runs "
        "COMMIT PREPARED",
        severity=Severity.ERROR,
    )


def _finish_prepared(word: str, open_before: bool) -> Violation:
    if open_before:
        return Violation(
            f"{word} cannot run inside a transaction block: Postgres rejects it and the migration fails",
            severity=Severity.ERROR,
        )
    return Violation(f"{word} finishes another session's two-phase transaction: that is an operator's job")


def check(statement: Statement, context: RuleContext) -> Iterator[Violation]:
    node = statement.node
    if not isinstance(node, ast.TransactionStmt) or node.kind is None:
        return
    kind = Kind(node.kind)
    word = _spelled(statement, kind)
    open_before = _open_before(context)
    if context.marked_no_transaction:
        found = _in_marked_file(word, kind, context, open_before)
    else:
        found = _in_managed_file(word, kind, open_before)
    if found is not None:
        yield found


RULE = Rule(
    id="transaction-nesting",
    squawk="transaction-nesting",
    severity=Severity.WARNING,
    summary="Leave BEGIN, COMMIT, ROLLBACK and savepoints to the migration tool; mark a file no-transaction instead.",
    problem=(
        "The migration tool owns the transaction a migration runs in: drizzle-ops opens one per migration, "
        "drizzle-kit's migrate one for every pending migration together. A BEGIN inside it nests nothing "
        "(Postgres ignores it with a warning); a COMMIT ends it early, so a later failure leaves the migration "
        "half applied and, under drizzle-kit, commits the migrations before it as well; a ROLLBACK throws their "
        "work away. `COMMIT; CREATE INDEX CONCURRENTLY …; BEGIN;` is the usual workaround for drizzle-kit's "
        "single transaction, and it depends on exactly that. A savepoint protects nothing in a file that cannot "
        "catch an error, and PREPARE TRANSACTION leaves the migration's locks held until someone commits it."
    ),
    fix=(
        f"Remove the transaction control. To run a migration outside a transaction (CREATE INDEX CONCURRENTLY, "
        f"ALTER TYPE … ADD VALUE before PostgreSQL 12), make `{MARKER}` its first line; in such a file "
        "BEGIN … COMMIT may group statements that must succeed together."
    ),
    bad=(
        "COMMIT;\n"
        "--> statement-breakpoint\n"
        'CREATE INDEX CONCURRENTLY "orders_ref_idx" ON "orders" ("ref");\n'
        "--> statement-breakpoint\n"
        "BEGIN;"
    ),
    good=(
        f"{MARKER}\n"
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_ref_idx" ON "orders" ("ref");\n'
        "--> statement-breakpoint\n"
        "BEGIN;\n"
        'UPDATE "orders" SET "ref" = upper("ref");\n'
        'UPDATE "invoices" SET "order_ref" = upper("order_ref");\n'
        "COMMIT;"
    ),
    squawk_differences=(
        (
            "SAVEPOINT and RELEASE are flagged too (squawk passes them, though it flags ROLLBACK TO): a "
            "migration file cannot catch an error, so a savepoint protects nothing; outside BEGIN … COMMIT "
            "they fail, which is an error."
        ),
        (
            "PREPARE TRANSACTION is an error (squawk passes it): Postgres rejects it unless "
            "max_prepared_transactions is raised, and otherwise it leaves the migration's locks held until "
            "someone runs COMMIT PREPARED."
        ),
        (
            f"A file whose first line is `{MARKER}` is judged as squawk judges a file without "
            "--assume-in-transaction (a nested BEGIN, a COMMIT or ROLLBACK with no transaction open), and "
            "a BEGIN that nothing in the file commits is flagged too (squawk reports that as "
            "ban-uncommitted-transaction)."
        ),
    ),
    check=check,
)
