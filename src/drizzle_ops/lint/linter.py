"""Parse a migration file once, then run every rule over every statement.

pglast (libpg_query, Postgres' own parser) gives the statements with their
character offsets; its scanner gives the comments, which is where ignores and
drizzle's ``--> statement-breakpoint`` lines live. Nothing here reads SQL with
regular expressions.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

from pglast import ast, parser
from pglast.enums import TransactionStmtKind

from drizzle_ops.analysis.sqlast import TableKey, closes_transaction, opens_transaction, table_key
from drizzle_ops.engine.transactionality import MARKER, has_marker, needs_no_transaction
from drizzle_ops.errors import UserError
from drizzle_ops.lint.finding import Finding, Severity
from drizzle_ops.lint.rule import Rule, RuleContext, Statement
from drizzle_ops.lint.rules import ALL_RULES
from drizzle_ops.lint.version import DEFAULT_PG_VERSION, check_pg_version
from drizzle_ops.lint.volatility import Volatility, VolatilityLookup, as_lookup

# First line of a migration that the runner must not wrap in a transaction.
NO_TRANSACTION_MARKER = MARKER
INVALID_IGNORE = "invalid-ignore"  # the id of findings about broken ignore comments

_COMMENTS = frozenset({"SQL_COMMENT", "C_COMMENT"})


def is_marked_no_transaction(text: str) -> bool:
    """The runner's own test (transactionality.has_marker), so lint and runner agree."""
    return has_marker(text)


class _Lines:
    """Character offset -> 1-based line number."""

    def __init__(self, text: str) -> None:
        self._newlines = [i for i, char in enumerate(text) if char == "\n"]

    def __call__(self, offset: int) -> int:
        return bisect_right(self._newlines, offset - 1) + 1


@dataclass(frozen=True)
class _Comment:
    start: int
    end: int  # exclusive
    text: str


def _parse(text: str, path: str | None, lines: _Lines) -> tuple[list[tuple[int, int, ast.Node]], list[_Comment]]:
    """Statements as (start, end, node) spans over their tokens, and the comments."""
    try:
        raw = parser.parse_sql(text)
        tokens = parser.scan(text)
    except parser.ParseError as exc:
        message = str(exc.args[0]) if exc.args else str(exc)
        where = f"{path or '<sql>'}:{lines(int(exc.args[1]))}" if len(exc.args) > 1 else path or "<sql>"
        raise UserError(f"{where}: cannot parse the SQL ({message}); fix the statement and lint again") from None
    comments = [_Comment(t.start, t.end + 1, text[t.start : t.end + 1]) for t in tokens if t.name in _COMMENTS]
    code = [t for t in tokens if t.name not in _COMMENTS]
    spans: list[tuple[int, int, ast.Node]] = []
    at = 0
    for stmt in raw:
        begin = stmt.stmt_location or 0
        limit = begin + stmt.stmt_len if stmt.stmt_len else len(text)
        while at < len(code) and code[at].start < begin:
            at += 1
        first = at
        while at < len(code) and code[at].start < limit:
            at += 1
        last = at
        while last > first and code[last - 1].name == "ASCII_59":  # the last statement's stmt_len is 0
            last -= 1
        if last > first and stmt.stmt is not None:
            spans.append((code[first].start, code[last - 1].end + 1, stmt.stmt))
    return spans, comments


def _owner(comment: _Comment, spans: Sequence[tuple[int, int, ast.Node]], lines: _Lines) -> int | None:
    """The statement a comment is about: the one it is inside, the one whose line it
    ends (``CREATE INDEX …; -- lint: ignore …``), or else the next one."""
    for i, (start, end, _) in enumerate(spans):
        if start <= comment.start < end:
            return i
        if comment.start < start:
            if i > 0 and lines(spans[i - 1][1]) == lines(comment.start):
                return i - 1
            return i
    if spans and lines(spans[-1][1]) == lines(comment.start):
        return len(spans) - 1
    return None


def _leading(comments: Sequence[_Comment], spans: Sequence[tuple[int, int, ast.Node]], index: int) -> tuple[str, ...]:
    """The comments after statement ``index - 1`` ends and before statement ``index`` starts."""
    after = spans[index - 1][1] if index else 0
    return tuple(c.text for c in comments if after <= c.start < spans[index][0])


def _directive(comment: str) -> list[str] | None:
    """The rule ids of ``-- lint: ignore a, b (why)``; None if the comment is no lint directive.

    The ids end where a reason starts: at "(" or at "--".
    """
    body = comment[2:-2] if comment.startswith("/*") else comment[2:]
    body = body.strip()
    if not body.startswith("lint:"):
        return None
    words = body[len("lint:") :].replace(",", " ").split()
    if not words or words[0] != "ignore":
        return [""]  # a lint directive we do not understand
    ids: list[str] = []
    for word in words[1:]:
        if word.startswith(("(", "--")):
            break
        ids.append(word)
    return ids


def excerpt(text: str, limit: int = 100) -> str:
    """The statement's first line on one line; past ``limit`` it ends at a space, never inside a name."""
    first = " ".join(text.splitlines()[0].split()) if text else ""
    if len(first) <= limit:
        return first
    cut = first.rfind(" ", 0, limit - 1)
    return (first[:cut] if cut > 0 else first.split(" ", 1)[0]) + " …"


def lint_sql(
    text: str,
    *,
    path: str | None = None,
    migration_is_transactional: bool = True,
    rules: Sequence[Rule] = ALL_RULES,
    pg_version: int = DEFAULT_PG_VERSION,
    volatility: VolatilityLookup | None = None,
) -> list[Finding]:
    """Findings for one migration file, ordered by line. Raises UserError if it does not parse.

    ``pg_version`` is the PostgreSQL major to judge for (14, the oldest supported, when not
    told); ``volatility`` answers how volatile a function is (a mapping or a callable, see
    lint.volatility; ``catalogue_volatility(conn)`` asks a database) and overrides the offline list.
    """
    options = _Options(check_pg_version(pg_version), as_lookup(volatility) if volatility is not None else None)
    return _analyse(text, path, migration_is_transactional, rules, (), options).findings


def lint_migrations(
    sources: Sequence[tuple[str, str]],
    *,
    rules: Sequence[Rule] = ALL_RULES,
    pg_version: int = DEFAULT_PG_VERSION,
    volatility: VolatilityLookup | None = None,
) -> list[Finding]:
    """Findings for (path, text) migrations that run in this order; each may rely on the ones before.

    ``pg_version`` and ``volatility`` as for ``lint_sql``.
    """
    return [
        finding
        for analysis in analyse_migrations(sources, rules=rules, pg_version=pg_version, volatility=volatility)
        for finding in analysis.findings
    ]


def analyse_migrations(
    sources: Sequence[tuple[str, str]],
    *,
    rules: Sequence[Rule] = ALL_RULES,
    pg_version: int = DEFAULT_PG_VERSION,
    volatility: VolatilityLookup | None = None,
) -> list[Analysis]:
    """What lint_migrations finds, file by file, with each statement, its context and the rules it broke
    (what `lint --fix` rewrites from)."""
    options = _Options(check_pg_version(pg_version), as_lookup(volatility) if volatility is not None else None)
    analyses: list[Analysis] = []
    history: list[Statement] = []
    for path, text in sources:
        analysis = _analyse(text, path, True, rules, tuple(history), options)
        analyses.append(analysis)
        history += analysis.applied
    return analyses


@dataclass(frozen=True)
class _Options:
    pg_version: int
    volatility: Callable[[str], Volatility | None] | None


@dataclass(frozen=True)
class _Transactions:
    """Which transaction each statement of a file runs in, as drizzle-ops applies the file."""

    inside: list[bool]  # the statement runs inside a transaction
    explicit: list[bool]  # ... one that the file opened with BEGIN
    number: list[int | None]  # the transaction's number, None for a statement that runs on its own
    rolled_back: frozenset[int]


def _transactions(nodes: Sequence[ast.Node], transactional: bool) -> _Transactions:
    """Follow BEGIN, COMMIT and ROLLBACK through a file.

    A file the runner wraps starts inside transaction 0. BEGIN inside a transaction
    changes nothing (Postgres only warns); COMMIT or ROLLBACK ends it, and until the
    next BEGIN each statement commits on its own (the runner's connection is in
    autocommit). COMMIT AND CHAIN starts the next transaction at once.
    """
    inside, explicit, number = [], [], []
    rolled_back: set[int] = set()
    current: int | None = 0 if transactional else None
    opened, count = False, 1 if transactional else 0
    for node in nodes:
        if opens_transaction(node):
            if current is None:
                current, count = count, count + 1
            opened = True
        inside.append(current is not None)
        explicit.append(current is not None and opened)
        number.append(current)
        if closes_transaction(node) and current is not None:
            if isinstance(node, ast.TransactionStmt) and node.kind is TransactionStmtKind.TRANS_STMT_ROLLBACK:
                rolled_back.add(current)
            current, opened = None, False
            if isinstance(node, ast.TransactionStmt) and node.chain:
                current, count, opened = count, count + 1, True
    return _Transactions(inside, explicit, number, frozenset(rolled_back))


def _starts_in_a_transaction(nodes: Sequence[ast.Node]) -> bool:
    """Whether the runner starts an unmarked file inside a transaction (engine/outside.py decides the same).

    A file without transaction control runs in one transaction, unless CONCURRENTLY (or VACUUM) in it
    makes the runner go statement by statement. A file with its own BEGIN/COMMIT starts inside
    drizzle-kit's transaction unless what comes before its first control cannot run in one (a BEGIN
    first then nests in it, a COMMIT first ends it: the same grouping the runner gives).
    """
    controls = [i for i, node in enumerate(nodes) if isinstance(node, ast.TransactionStmt)]
    before = nodes[: controls[0]] if controls else nodes
    return not any(needs_no_transaction(node) for node in before)


@dataclass(frozen=True)
class Analysis:
    """One file as the rules saw it."""

    path: str | None
    text: str
    statements: list[Statement]
    spans: list[tuple[int, int]]  # each statement's characters in ``text``, without its semicolon
    contexts: list[RuleContext]  # each statement's context, as its rules got it
    found: list[list[Finding]]  # per statement, its findings (after its ignores)
    findings: list[Finding]  # all of them (and those about broken ignores), ordered by line
    applied: list[Statement]  # the statements that take effect (not rolled back), for the next file
    rules: tuple[Rule, ...] = ALL_RULES
    history: tuple[Statement, ...] = ()
    options: _Options = _Options(DEFAULT_PG_VERSION, None)

    @cached_property
    def broken(self) -> list[frozenset[str]]:
        """Per statement, the ids of the rules it broke (read in loops over the statements: built once)."""
        return [frozenset(f.rule for f in found) for found in self.found]

    def again(self, text: str) -> Analysis:
        """Another text of the same file, judged as this one was (same rules, history, version)."""
        return _analyse(text, self.path, True, self.rules, self.history, self.options)


def _analyse(
    text: str,
    path: str | None,
    migration_is_transactional: bool,
    rules: Sequence[Rule],
    history: Sequence[Statement],
    options: _Options,
) -> Analysis:
    """This file's findings, statement by statement."""
    lines = _Lines(text)
    spans, comments = _parse(text, path, lines)
    marked = not migration_is_transactional or has_marker(text)
    transactional = not marked and _starts_in_a_transaction([node for _, _, node in spans])
    known = {rule.id for rule in (*ALL_RULES, *rules)}  # ignoring an excluded rule is no mistake
    ignores: list[set[str]] = [set() for _ in spans]
    findings: list[Finding] = []

    for comment in comments:
        ids = _directive(comment.text)
        if ids is None:
            continue
        line = lines(comment.start)
        owner = _owner(comment, spans, lines)
        problem = None
        if not ids:
            problem = "`-- lint: ignore` names no rule; write `-- lint: ignore <rule-id>`"
        elif ids == [""]:
            problem = "unknown lint directive; the only one is `-- lint: ignore <rule-id>[, <rule-id>…]`"
        elif unknown := [i for i in ids if i not in known]:
            problem = (
                f"`-- lint: ignore` names unknown rule(s) {', '.join(unknown)}; `inv lint --rules` lists them "
                "(put a reason in parentheses or after `--`)"
            )
        elif owner is None:
            problem = "`-- lint: ignore` is not next to any statement; put it on the line above the statement"
        if problem:
            fix = "Write `-- lint: ignore <rule-id>[, <rule-id>…] (reason)` with ids from `inv lint --rules`."
            findings.append(Finding(INVALID_IGNORE, Severity.WARNING, problem, path, line, comment.text, fix))
        if owner is not None:
            ignores[owner].update(i for i in ids if i in known)

    statements = [
        Statement(n + 1, node, text[start:end], lines(start), frozenset(ignores[n]), _leading(comments, spans, n))
        for n, (start, end, node) in enumerate(spans)
    ]
    tx = _transactions([statement.node for statement in statements], transactional)
    created: set[TableKey] = set()
    contexts: list[RuleContext] = []
    found: list[list[Finding]] = []
    for index, statement in enumerate(statements):
        node = statement.node
        context = RuleContext(
            statements,
            index,
            transactional,
            marked,
            tx.inside[index],
            tx.explicit[index],
            frozenset(created),
            history,
            transactions=tx.number,
            rolled_back=tx.rolled_back,
            pg_version=options.pg_version,
            volatility=options.volatility,
        )
        contexts.append(context)
        found.append([])
        for rule in rules:
            if rule.id in statement.ignores:
                continue
            for violation in rule.check(statement, context):
                found[-1].append(
                    Finding(
                        rule=rule.id,
                        severity=violation.severity or rule.severity,
                        message=violation.message,
                        file=path,
                        line=statement.line,
                        statement=excerpt(statement.text),
                        help=violation.help or rule.fix,
                    )
                )
        findings += found[-1]
        if isinstance(node, ast.CreateStmt) and node.relation is not None:
            created.add(table_key(node.relation))
        elif isinstance(node, ast.CreateTableAsStmt) and node.into is not None and node.into.rel is not None:
            created.add(table_key(node.into.rel))
    findings.sort(key=lambda f: f.line)
    applied = [s for s, n in zip(statements, tx.number, strict=True) if n is None or n not in tx.rolled_back]
    spans_only = [(start, end) for start, end, _ in spans]
    return Analysis(
        path, text, statements, spans_only, contexts, found, findings, applied, tuple(rules), tuple(history), options
    )
