"""A batch statement: the marker line ``-- drizzle-ops: batch rows=N …`` and the UPDATE or DELETE right after it.

What it takes to run the statement in keyset batches, read from the file alone (engine/batch_migration.py runs it):

- the marker: a ``--`` comment directly before the statement (only other comments between), with
  ``rows=N`` (keys per batch), and optionally ``pause=`` (between batches) and ``max-lag=`` (wait while a
  standby's replay lag is above it);
- the statement stands alone in its file (a custom migration, ``generate --custom``) and is an UPDATE or
  a DELETE;
- an UPDATE has a WHERE that excludes the rows it has done (see :func:`where_problem`), so running it
  again, whole or from any batch, changes no row twice.

Each batch is the statement itself with one more condition, a range of the primary key, ANDed to its
WHERE. The statement is put back together by pglast's deparser (the parse tree with a placeholder
where the range goes); the result must parse back to the same tree, else it is refused.

Found from the comments the SQL scanner gives, never by a text search: a marker inside a string or a
block comment is no marker.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from drizzle_ops.engine.workspace import BOM, Statement

MARKER_WORDS = "drizzle-ops: batch"
MARKER = f"-- {MARKER_WORDS}"
EXAMPLE_MARKER = f"{MARKER} rows=1000"
_MARKER_LINE = re.compile(r"--\s*drizzle-ops:\s*batch(?=\s|$)(?P<options>.*)$", re.IGNORECASE | re.DOTALL)
_DURATION = re.compile(r"(?P<number>\d+(?:\.\d+)?)(?P<unit>ms|s|min)?")
_UNITS = {"ms": 0.001, "s": 1.0, "min": 60.0}
MAX_ROWS = 1_000_000  # more than this is no short transaction
MAX_PAUSE = 3600.0
KNOWN_OPTIONS = ("rows", "pause", "max-lag")
_COMMENTS = ("SQL_COMMENT", "C_COMMENT")


class BatchProblem(ValueError):
    """Why a file marked for batches cannot run in batches; ``line`` is in the file (1-based) when known."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass(frozen=True)
class BatchOptions:
    rows: int  # keys per batch
    pause: float = 0.0  # seconds between batches
    max_lag: float | None = None  # seconds of standby replay lag above which the next batch waits

    def describe(self) -> str:
        """``rows=1000 pause=50ms max-lag=10s``: the options as the marker spells them."""
        parts = [f"rows={self.rows}"]
        if self.pause:
            parts.append(f"pause={duration_text(self.pause)}")
        if self.max_lag is not None:
            parts.append(f"max-lag={duration_text(self.max_lag)}")
        return " ".join(parts)


def duration_text(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    return f"{seconds:g}s"


def _duration(name: str, value: str) -> float:
    found = _DURATION.fullmatch(value)
    if found is None or (found["unit"] is None and float(found["number"]) != 0):
        raise BatchProblem(f"{name}={value} is not a duration; write it with a unit: {name}=50ms, {name}=2s")
    return float(found["number"]) * _UNITS[found["unit"] or "s"]


def parse_options(text: str) -> BatchOptions:
    """The options after ``-- drizzle-ops: batch`` (``rows=1000 pause=50ms max-lag=10s``); BatchProblem if wrong."""
    values: dict[str, str] = {}
    for word in text.split():
        name, equals, value = word.partition("=")
        name = name.lower()
        if not equals or not value:
            raise BatchProblem(f"`{word}` in the batch marker is not name=value; write e.g. `{EXAMPLE_MARKER}`")
        if name not in KNOWN_OPTIONS:
            raise BatchProblem(
                f"unknown batch option `{name}`; the options are rows=N, pause=DURATION and max-lag=DURATION"
            )
        if name in values:
            raise BatchProblem(f"batch option `{name}` is given twice")
        values[name] = value
    if "rows" not in values:
        raise BatchProblem(f"the batch marker needs rows=N (keys per batch), e.g. `{EXAMPLE_MARKER}`")
    if not values["rows"].isdigit() or not 1 <= int(values["rows"]) <= MAX_ROWS:
        raise BatchProblem(f"rows={values['rows']} must be a whole number from 1 to {MAX_ROWS:,}")
    pause = _duration("pause", values["pause"]) if "pause" in values else 0.0
    if pause > MAX_PAUSE:
        raise BatchProblem(f"pause={values['pause']} is longer than an hour; give a shorter pause")
    max_lag = _duration("max-lag", values["max-lag"]) if "max-lag" in values else None
    if max_lag is not None and max_lag <= 0:
        raise BatchProblem("max-lag must be more than 0; leave it out to never wait for standbys")
    return BatchOptions(int(values["rows"]), pause, max_lag)


def marker_options(comment: str) -> str | None:
    """The options text of a ``--`` comment that is a batch marker, or None for any other comment."""
    found = _MARKER_LINE.fullmatch(comment.strip())
    return found["options"] if found else None


def might_have_marker(text: str) -> bool:
    """The cheap test before the scanner: most files never pay for it."""
    return "drizzle-ops:" in text and "batch" in text.lower()


@dataclass(frozen=True)
class Marker:
    """A marker comment in a file, and where the statement after it starts (None: nothing follows)."""

    options_text: str
    line: int  # 1-based line of the marker in the file
    statement_start: int | None  # character offset of the next token that is not a comment


def find_markers(text: str) -> list[Marker]:
    """Every batch marker comment of ``text``, from the SQL scanner (never inside a string or a block comment)."""
    if not might_have_marker(text):
        return []
    from pglast import parser

    body = text.removeprefix(BOM)
    shift = len(text) - len(body)
    try:
        tokens = parser.scan(body)
    except parser.ParseError:
        return _markers_by_line(body, shift)
    found = []
    for index, token in enumerate(tokens):
        if token.name != "SQL_COMMENT":
            continue
        options = marker_options(body[token.start : token.end + 1])
        if options is None:
            continue
        following = next((t.start for t in tokens[index + 1 :] if t.name not in _COMMENTS), None)
        found.append(
            Marker(options, body.count("\n", 0, token.start) + 1, None if following is None else following + shift)
        )
    return found


def _markers_by_line(text: str, shift: int) -> list[Marker]:
    """A file the scanner refuses (an unclosed quote): marker lines still make it a batch file, to be refused."""
    return [
        Marker(options, number, None)
        for number, line in enumerate(text.split("\n"), 1)
        if (options := marker_options(line)) is not None
    ]


def has_batch_marker(text: str) -> bool:
    return bool(find_markers(text))


# -- the statement --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchStatement:
    """The statement of a batch migration, ready to be cut into keyset batches."""

    options: BatchOptions
    kind: str  # "UPDATE" or "DELETE"
    schema: str | None  # as written; None: found on the search_path
    table: str
    only: bool  # UPDATE ONLY / DELETE FROM ONLY: the parent alone, not its inheritance children
    qualifier: tuple[str, ...]  # how the statement names its table: the alias, else the name as written
    assigned: tuple[str, ...]  # the columns an UPDATE's SET assigns
    statement: Statement  # the file's chunk that holds it
    position: int  # 1-based character position of its first word in that chunk (for reports: file:line)
    marker_line: int
    template: str  # the statement with a placeholder where the range goes
    placeholder: str

    @property
    def shown_table(self) -> str:
        return f"{self.schema}.{self.table}" if self.schema else self.table

    def batch_sql(self, conn: psycopg.Connection, keys: list[KeyColumn], after: Key | None, upto: Key | None) -> str:
        """The statement for the keys after ``after`` up to ``upto`` (inclusive); None: from the start, to the end."""
        columns = [sql.Identifier(*self.qualifier, key.name) for key in keys]
        conditions = [
            key_condition(conn, columns, ">", keys, after) if after is not None else None,
            key_condition(conn, columns, "<=", keys, upto) if upto is not None else None,
        ]
        shown = [c for c in conditions if c is not None]
        condition = "(" + " AND ".join(shown) + ")" if shown else "true"
        return self.template.replace(self.placeholder, condition, 1)


Key = list[str]  # one key's values as text literals, in the key's column order


@dataclass(frozen=True)
class KeyColumn:
    name: str
    type: str  # format_type(): a type name as SQL writes it


def key_condition(
    conn: psycopg.Connection, columns: list[sql.Identifier], op: str, keys: list[KeyColumn], key: Key
) -> str:
    """``"id" > '5'::bigint``, or for a key of several columns a row comparison (btree order, index-friendly)."""
    values = [
        sql.SQL("{}::{}").format(sql.Literal(value), sql.SQL(column.type))
        for value, column in zip(key, keys, strict=True)
    ]
    if len(columns) == 1:
        text = sql.SQL("{} " + op + " {}").format(columns[0], values[0])
    else:
        text = sql.SQL("({}) " + op + " ({})").format(sql.SQL(", ").join(columns), sql.SQL(", ").join(values))
    return text.as_string(conn)


def key_of(json_text: str) -> Key:
    """A key read as ``jsonb_build_array(k1, k2, …)::text``: its values as text, exactly as the server wrote them."""
    values = json.loads(json_text, parse_float=str, parse_int=str)
    return ["true" if v is True else "false" if v is False else str(v) for v in values]


def batch_statement(source_text: str, statements: list[Statement]) -> BatchStatement:
    """The batch statement of a file with a marker; BatchProblem says why it cannot run in batches."""
    from pglast import ast, parse_sql
    from pglast.parser import ParseError

    markers = find_markers(source_text)
    if not markers:
        raise BatchProblem("the file has no batch marker")
    marker = markers[0]
    if len(markers) > 1:
        raise BatchProblem(
            "a migration holds one batch statement: put each marked statement in a migration of its own "
            "(`inv generate --custom`)",
            markers[1].line,
        )
    try:
        options = parse_options(marker.options_text)
    except BatchProblem as problem:
        raise BatchProblem(problem.reason, marker.line) from None
    found: list[tuple[Statement, object]] = []
    for chunk in statements:  # a chunk of comments alone (a breakpoint after the marker) holds no statement
        try:
            found += [(chunk, raw.stmt) for raw in parse_sql(chunk.sql) if raw.stmt is not None]
        except ParseError as exc:
            reason = exc.args[0] if exc.args else exc
            raise BatchProblem(f"the statement does not parse ({reason})", marker.line) from None
    if len(found) != 1:
        raise BatchProblem(_ALONE if found else _AFTER, marker.line)
    statement, node = found[0]
    if marker.statement_start is None or marker.statement_start != _first_code(source_text):
        raise BatchProblem(_AFTER, marker.line)
    shape = shape_problem(node)
    if shape is not None:
        raise BatchProblem(shape, marker.line)
    assert isinstance(node, (ast.UpdateStmt, ast.DeleteStmt)) and node.relation is not None
    relation = node.relation
    alias = relation.alias.aliasname if relation.alias is not None else None
    qualifier = (str(alias),) if alias else tuple(str(p) for p in (relation.schemaname, relation.relname) if p)
    template, placeholder = _template(node)
    return BatchStatement(
        options=options,
        kind="UPDATE" if isinstance(node, ast.UpdateStmt) else "DELETE",
        schema=str(relation.schemaname) if relation.schemaname else None,
        table=str(relation.relname),
        only=not relation.inh,
        qualifier=qualifier,
        assigned=tuple(assigned_columns(node)) if isinstance(node, ast.UpdateStmt) else (),
        statement=statement,
        position=(_first_code(statement.sql) or 0) + 1,
        marker_line=marker.line,
        template=template,
        placeholder=placeholder,
    )


_ALONE = (
    "a batch statement stands alone in its migration: move the other statements to a migration of their own "
    "(`inv generate --custom` makes an empty one)"
)
_AFTER = "the batch marker must be the line directly before an UPDATE or a DELETE (only comments between)"


def _first_code(text: str) -> int | None:
    """Where the file's first token that is not a comment starts (an offset into ``text``)."""
    from pglast import parser

    body = text.removeprefix(BOM)
    try:
        tokens = parser.scan(body)
    except parser.ParseError:
        return None
    first = next((t.start for t in tokens if t.name not in _COMMENTS), None)
    return None if first is None else first + len(text) - len(body)


def shape_problem(node: object) -> str | None:
    """Why a statement cannot be a batch statement, from its parse tree alone (None: it can)."""
    from pglast import ast

    if not isinstance(node, (ast.UpdateStmt, ast.DeleteStmt)):
        return "the batch marker must be directly before an UPDATE or a DELETE"
    if node.relation is None or not node.relation.relname:
        return "the statement names no table"
    if isinstance(node, ast.UpdateStmt):
        return where_problem(node)
    return None


def assigned_columns(node: Any) -> list[str]:
    """The columns an UPDATE's SET assigns (``SET a = …, (b, c) = …``)."""
    from pglast import ast

    return [str(target.name) for target in node.targetList or () if isinstance(target, ast.ResTarget) and target.name]


def where_problem(node: Any) -> str | None:
    """Whether an UPDATE's WHERE excludes the rows it has done; None when it does, else why not.

    The rule is read from the parse tree, not proven: the WHERE must have, among the conditions it ANDs
    together, one that names a column the SET assigns, in every branch of an OR (``WHERE "display_name" IS
    NULL`` for ``SET "display_name" = …``). A row the statement changed then reads differently to that
    condition. It cannot tell whether the new value really fails it (``SET n = n + 1 WHERE n < 10``
    passes, and changes a row up to ten times over reruns); write the condition as the new value's
    opposite (``WHERE n IS DISTINCT FROM <new value>``).
    """
    assigned = {name.lower() for name in assigned_columns(node)}
    if node.whereClause is None:
        return (
            "the UPDATE has no WHERE, so a rerun would update every row again; add a WHERE that excludes the rows "
            "it has done, e.g. `WHERE <column> IS DISTINCT FROM <new value>`"
        )
    if not _excludes(node.whereClause, assigned):
        names = ", ".join(sorted(assigned)) or "?"
        return (
            f"the WHERE does not exclude the rows already done: it must test a column the SET assigns ({names}) "
            "in every branch, e.g. `WHERE <column> IS NULL` or `WHERE <column> IS DISTINCT FROM <new value>`, "
            "so a rerun leaves done rows alone"
        )
    return None


def _excludes(expr: Any, assigned: set[str]) -> bool:
    from pglast import ast
    from pglast.enums import BoolExprType

    if isinstance(expr, ast.BoolExpr):
        args = list(expr.args or ())
        if expr.boolop is BoolExprType.AND_EXPR:
            return any(_excludes(arg, assigned) for arg in args)
        if expr.boolop is BoolExprType.OR_EXPR:
            return bool(args) and all(_excludes(arg, assigned) for arg in args)
    return _names_assigned(expr, assigned)


def _names_assigned(expr: Any, assigned: set[str]) -> bool:
    from pglast import ast

    for child in _walk(expr):
        if isinstance(child, ast.ColumnRef):
            last = (child.fields or ())[-1:]
            if last and isinstance(last[0], ast.String) and str(last[0].sval).lower() in assigned:
                return True
    return False


def _walk(node: object) -> Iterator[object]:
    """Every node below ``node`` (itself included), depth first."""
    from pglast import ast

    if isinstance(node, ast.Node):
        yield node
        for attribute in node:
            yield from _walk(getattr(node, attribute))
    elif isinstance(node, tuple):
        for item in node:
            yield from _walk(item)


def _template(node: Any) -> tuple[str, str]:
    """The statement deparsed with a placeholder ANDed to its WHERE; refused unless it parses back the same."""
    from pglast import ast, parse_sql
    from pglast.enums import BoolExprType
    from pglast.stream import RawStream

    placeholder = f"drizzle_ops_batch_range_{secrets.token_hex(6)}"
    select = parse_sql(f"SELECT 1 WHERE {placeholder}")[0].stmt
    assert isinstance(select, ast.SelectStmt)
    marked = select.whereClause
    where = node.whereClause
    node.whereClause = marked if where is None else ast.BoolExpr(boolop=BoolExprType.AND_EXPR, args=(where, marked))
    try:
        text = RawStream()(node)
        again = parse_sql(text)[0].stmt
        same = again == node
    finally:
        node.whereClause = where
    if not same or text.count(placeholder) != 1:
        raise BatchProblem(
            "drizzle-ops cannot rebuild this statement exactly from its parse tree to add the batches' key range; "
            "simplify it, or run it without the batch marker"
        )
    return text, placeholder
