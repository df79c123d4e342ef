"""What a migration's SQL does that its two snapshots do not show: hand-written statements.

drizzle-kit writes a migration's SQL from the difference of two snapshots, so
each statement it writes creates, drops, alters or renames something that
difference holds. A statement that does anything else was written by a person
(an UPDATE backfill, a function, a trigger, an index the schema never
declared), and a down migration drafted from the snapshots does not undo it.

Each statement is matched with the difference by kind and by name: CREATE TABLE
of a table only the later snapshot has, ADD COLUMN of a column only it has,
DROP INDEX of an index only the earlier one has, and so on. Statements with no
effect on the schema (SET, BEGIN, COMMIT) match trivially; drizzle-kit 0.20's
``DO $$ BEGIN … EXCEPTION WHEN duplicate_object …`` wrappers are matched by the
statements inside them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pglast import ast, parse_sql
from pglast.enums import AlterTableType, ConstrType, ObjectType
from pglast.parser import ParseError

from drizzle_ops.analysis.sqlast import do_block_statements
from drizzle_ops.down_draft.snapshot import column_changed, fk_same, in_old_names, index_same, read_renames, unique_same
from drizzle_ops.engine.workspace import Statement
from drizzle_ops.snapshot_reader import PUBLIC, Key, Snapshot, Table, read_snapshot
from drizzle_ops.verify.identifiers import truncate

SHOWN = 60  # characters of a statement quoted in a note

_NO_EFFECT = (ast.TransactionStmt, ast.VariableSetStmt, ast.VariableShowStmt)
_COLUMN_CHANGES = frozenset(
    {
        AlterTableType.AT_AlterColumnType,
        AlterTableType.AT_ColumnDefault,
        AlterTableType.AT_SetNotNull,
        AlterTableType.AT_DropNotNull,
        AlterTableType.AT_AddIdentity,
        AlterTableType.AT_SetIdentity,
        AlterTableType.AT_DropIdentity,
        AlterTableType.AT_DropExpression,
        AlterTableType.AT_SetExpression,
    }
)
_SECURITY = frozenset(
    {
        AlterTableType.AT_EnableRowSecurity,
        AlterTableType.AT_DisableRowSecurity,
        AlterTableType.AT_ForceRowSecurity,
        AlterTableType.AT_NoForceRowSecurity,
    }
)


@dataclass(frozen=True)
class Unexplained:
    """One statement of the migration (numbered as the runner numbers them) that the snapshots do not show."""

    number: int
    text: str  # its first characters, on one line
    why: str  # what it does: "creates index x", "is an UPDATE", "does not parse"

    def __str__(self) -> str:
        return f"statement {self.number} ({self.text}) {self.why}"


def _shown(sql: str) -> str:
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    text = " ".join(" ".join(lines).split())
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def parsed(statements: Sequence[Statement]) -> Iterator[tuple[Statement, list[ast.Node] | None]]:
    """Each statement with its parse trees ([] for comments only, None when it does not parse)."""
    for statement in statements:
        try:
            yield statement, [raw.stmt for raw in parse_sql(statement.sql) if raw.stmt is not None]
        except ParseError:
            yield statement, None


def runs_anything(statements: Sequence[Statement]) -> bool:
    """False when the SQL is only comments and blanks (an unfilled `generate --custom` file)."""
    return any(nodes is None or nodes for _, nodes in parsed(statements))


class _Difference:
    """The two snapshots, asked by the names the SQL uses (the later snapshot's, before any rename went back)."""

    def __init__(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
        self.prev = read_snapshot(before)
        self.renames = read_renames(after)
        self.new = read_snapshot(after)
        self.new_old = in_old_names(self.new, self.renames)  # the later snapshot in the earlier names

    def old_key(self, key: Key) -> Key:
        return self.renames.tables.get(key, key)

    def tables(self, key: Key) -> tuple[Table | None, Table | None]:
        """(before, after) of the table the SQL calls ``key``, both in the earlier names."""
        if key in self.new.tables:
            old = self.old_key(key)
            return self.prev.tables.get(old), self.new_old.tables.get(old)
        return self.prev.tables.get(key), self.new_old.tables.get(key)

    def old_column(self, key: Key, column: str) -> str:
        return self.renames.columns.get(key, {}).get(column, column)

    def table_changed(self, key: Key) -> bool:
        before, after = self.tables(key)
        return before != after

    def extras_changed(self, part: str) -> bool:
        return self.prev.extras.get(part) != self.new.extras.get(part)

    def security_changed(self, key: Key) -> bool:
        before, after = self.tables(key)
        return (before.extras if before else None) != (after.extras if after else None)

    def indexes(self, name: str, snapshot: Snapshot, other: Snapshot) -> str | None:
        """The snapshot's name of an index the SQL calls ``name`` that is in ``snapshot`` and not, or not the
        same, in ``other``; None when there is none."""
        for key, table in snapshot.tables.items():
            found = _named(name, table.indexes)
            if found is not None:
                there = other.tables.get(key)
                theirs = there.indexes.get(found) if there is not None else None
                if theirs is None or not index_same(theirs, table.indexes[found]):
                    return found
        return None

    def constraint_in(self, table: Table | None, other: Table | None, name: str) -> str | None:
        """The snapshot's name of constraint ``name`` when it is on ``table`` and not, or not the same, on
        ``other``; None otherwise."""
        if table is None:
            return None
        theirs = other or Table(table.key)
        pk_name = _named(name, [table.pk[0] or f"{table.key[1]}_pkey"] if table.pk else [])
        if pk_name is not None:
            return pk_name if table.pk != theirs.pk else None
        found = _named(name, [*table.fks, *table.uniques, *table.checks])
        if found in table.fks:
            return found if found not in theirs.fks or not fk_same(theirs.fks[found], table.fks[found]) else None
        if found in table.uniques:
            same = found in theirs.uniques and unique_same(theirs.uniques[found], table.uniques[found])
            return None if same else found
        if found in table.checks:
            return found if theirs.checks.get(found) != table.checks[found] else None
        return None


def _named(name: str, names: Iterable[str]) -> str | None:
    """Which of ``names`` the SQL's ``name`` is: PostgreSQL's parser cuts an identifier at 63 bytes, a
    snapshot keeps the whole name."""
    names = list(names)
    if name in names:
        return name
    return next((n for n in names if truncate(n) == name), None)


def _key(relation: ast.RangeVar | None) -> Key:
    if relation is None:
        return (PUBLIC, "")
    return (relation.schemaname or PUBLIC, str(relation.relname or ""))


def _names(node: Any) -> Key:
    """(schema, name) from how pglast names an object: a String, a tuple of them, or a TypeName."""
    if isinstance(node, ast.TypeName):
        node = node.names
    if isinstance(node, ast.String):
        node = (node,)
    parts = [str(n.sval) for n in node if isinstance(n, ast.String)] if isinstance(node, tuple) else []
    if not parts:
        return (PUBLIC, "")
    return (parts[-2], parts[-1]) if len(parts) > 1 else (PUBLIC, parts[-1])


class _Matcher:
    def __init__(self, diff: _Difference) -> None:
        self.diff = diff
        self.covered: set[tuple[Any, ...]] = set()  # the creations of the difference that a statement makes
        self.handlers: dict[type[ast.Node], Callable[[Any], str | None]] = {
            ast.CreateStmt: self._create_table,
            ast.IndexStmt: self._create_index,
            ast.CreateEnumStmt: self._create_enum,
            ast.CreateSchemaStmt: self._create_schema,
            ast.CreateSeqStmt: self._create_sequence,
            ast.AlterSeqStmt: self._alter_sequence,
            ast.AlterTableStmt: self._alter_table,
            ast.DropStmt: self._drop,
            ast.RenameStmt: self._rename,
            ast.AlterObjectSchemaStmt: self._set_schema,
            ast.AlterEnumStmt: self._alter_enum,
            ast.DoStmt: self._do,
            ast.ViewStmt: lambda n: self._part("views", "creates a view"),
            ast.CreatePolicyStmt: lambda n: self._part("policies", "creates a policy"),
            ast.AlterPolicyStmt: lambda n: self._part("policies", "alters a policy"),
            ast.CreateRoleStmt: lambda n: self._part("roles", "creates a role"),
            ast.AlterRoleStmt: lambda n: self._part("roles", "alters a role"),
            ast.DropRoleStmt: lambda n: self._part("roles", "drops a role"),
            ast.GrantStmt: lambda n: self._part("privileges", "grants or revokes privileges"),
        }

    def why(self, node: ast.Node) -> str | None:
        """None when the snapshots show what ``node`` does; else what it does, for the note."""
        if isinstance(node, _NO_EFFECT):
            return None
        handler = self.handlers.get(type(node))
        if handler is None:
            return f"is {_kind(node)}"
        return handler(node)

    def _part(self, part: str, does: str) -> str | None:
        return None if self.diff.extras_changed(part) else does

    def _create_table(self, node: ast.CreateStmt) -> str | None:
        key = _key(node.relation)
        before, after = self.diff.tables(key)
        if after is None or before is not None:
            return f"creates table {_label(key)}"
        self.covered.add(("table", after.key))
        for element in node.tableElts or ():  # constraints written inside CREATE TABLE
            inline = [element] if isinstance(element, ast.Constraint) else []
            if isinstance(element, ast.ColumnDef):
                inline = [c for c in element.constraints or () if isinstance(c, ast.Constraint)]
            for constraint in inline:
                if constraint.conname:
                    self.covered.add(("constraint", after.key, str(constraint.conname)))
        return None

    def _create_index(self, node: ast.IndexStmt) -> str | None:
        name = str(node.idxname or "")
        found = self.diff.indexes(name, self.diff.new_old, self.diff.prev) if name else None
        if found is not None:
            self.covered.add(("index", found))
            return None
        return f"creates index {name or '(unnamed)'}"

    def _create_enum(self, node: ast.CreateEnumStmt) -> str | None:
        key = _names(node.typeName)
        found = key in self.diff.new.enums and (key not in self.diff.prev.enums or self._enum_changed(key))
        if found:
            self.covered.add(("enum", key))
        return None if found else f"creates type {_label(key)}"

    def _enum_changed(self, key: Key) -> bool:
        return self.diff.prev.enums.get(key) != self.diff.new.enums.get(key)

    def _create_schema(self, node: ast.CreateSchemaStmt) -> str | None:
        name = str(node.schemaname or "")
        if name in self.diff.new.schemas - self.diff.prev.schemas:
            self.covered.add(("schema", name))
            return None
        return f"creates schema {name}"

    def _create_sequence(self, node: ast.CreateSeqStmt) -> str | None:
        key = _key(node.sequence)
        if key in self.diff.new.sequences and key not in self.diff.prev.sequences:
            self.covered.add(("sequence", key))
            return None
        return f"creates sequence {_label(key)}"

    def _alter_sequence(self, node: ast.AlterSeqStmt) -> str | None:
        key = _key(node.sequence)
        changed = self.diff.prev.sequences.get(key) != self.diff.new.sequences.get(key)
        return None if changed else f"alters sequence {_label(key)}"

    def _alter_enum(self, node: ast.AlterEnumStmt) -> str | None:
        key = _names(node.typeName)
        return None if self._enum_changed(key) else f"alters type {_label(key)}"

    def _alter_table(self, node: ast.AlterTableStmt) -> str | None:
        key = _key(node.relation)
        if node.objtype is not ObjectType.OBJECT_TABLE:
            return None if self.diff.table_changed(key) else f"alters {_label(key)}"
        for cmd in node.cmds or ():
            if isinstance(cmd, ast.AlterTableCmd):
                why = self._table_command(key, cmd)
                if why:
                    return why
        return None

    def _table_command(self, key: Key, cmd: ast.AlterTableCmd) -> str | None:
        before, after = self.diff.tables(key)
        table = _label(key)
        known = [*(after.columns if after else ()), *(before.columns if before else ())]

        def column(sql_name: str) -> str:
            """The snapshots' name of a column the SQL names (in the earlier names)."""
            name = self.diff.old_column(key, sql_name)
            return _named(name, known) or name

        if cmd.subtype is AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
            name = column(str(cmd.def_.colname))
            if after is not None and name in after.columns and (before is None or name not in before.columns):
                self.covered.add(("column", after.key, name))
                return None
            return f"adds column {table}.{cmd.def_.colname}"
        if cmd.subtype is AlterTableType.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
            constraint = cmd.def_
            if constraint.conname:
                named = self.diff.constraint_in(after, before, str(constraint.conname))
                found = named is not None
                if named is not None and after is not None:
                    self.covered.add(("constraint", after.key, named))
            else:  # ADD PRIMARY KEY without a name: PostgreSQL names it
                found = constraint.contype is ConstrType.CONSTR_PRIMARY and (before.pk if before else None) != (
                    after.pk if after else None
                )
            return None if found else f"adds constraint {constraint.conname or '(unnamed)'} to {table}"
        if cmd.subtype is AlterTableType.AT_DropColumn:
            name = _named(str(cmd.name), known) or str(cmd.name)
            found = before is not None and name in before.columns and (after is None or name not in after.columns)
            return None if found else f"drops column {table}.{name}"
        if cmd.subtype is AlterTableType.AT_DropConstraint:
            name = str(cmd.name)
            gone = self.diff.constraint_in(before, after, name) is not None
            return None if gone else f"drops constraint {name} of {table}"
        if cmd.subtype in _COLUMN_CHANGES:
            name = column(str(cmd.name))
            old = before.columns.get(name) if before else None
            new = after.columns.get(name) if after else None
            changed = old is not None and new is not None and column_changed(old, new)
            created = old is None and new is not None  # added, backfilled, then SET NOT NULL: the drop undoes all
            return None if changed or created else f"alters column {table}.{cmd.name}"
        if cmd.subtype in _SECURITY:
            return None if self.diff.security_changed(key) else f"changes row-level security of {table}"
        return None if self.diff.table_changed(key) else f"alters table {table}"

    def _drop(self, node: ast.DropStmt) -> str | None:
        kind = node.removeType
        for obj in node.objects or ():
            key = _names(obj)
            if kind is ObjectType.OBJECT_TABLE:
                found = key in self.diff.prev.tables and key not in self.diff.new_old.tables
                what = f"drops table {_label(key)}"
            elif kind is ObjectType.OBJECT_INDEX:
                found = self.diff.indexes(key[1], self.diff.prev, self.diff.new_old) is not None
                what = f"drops index {key[1]}"
            elif kind is ObjectType.OBJECT_TYPE:
                found = key in self.diff.prev.enums and (key not in self.diff.new.enums or self._enum_changed(key))
                what = f"drops type {_label(key)}"
            elif kind is ObjectType.OBJECT_SCHEMA:
                found = key[1] in self.diff.prev.schemas - self.diff.new.schemas
                what = f"drops schema {key[1]}"
            elif kind is ObjectType.OBJECT_SEQUENCE:
                found = key in self.diff.prev.sequences and key not in self.diff.new.sequences
                what = f"drops sequence {_label(key)}"
            elif kind in (ObjectType.OBJECT_VIEW, ObjectType.OBJECT_MATVIEW):
                found, what = self.diff.extras_changed("views"), f"drops view {_label(key)}"
            elif kind is ObjectType.OBJECT_POLICY:
                found, what = self.diff.extras_changed("policies") or self._any_security_change(), "drops a policy"
            else:
                return f"drops a {kind.name.removeprefix('OBJECT_').lower() if kind else 'object'}"
            if not found:
                return what
        return None

    def _any_security_change(self) -> bool:
        return any(self.diff.security_changed(key) for key in self.diff.new.tables)

    def _rename(self, node: ast.RenameStmt) -> str | None:
        new_name, kind = str(node.newname or ""), node.renameType
        key = _key(node.relation) if node.relation is not None else _names(node.object)
        if kind is ObjectType.OBJECT_TABLE:
            found = (key[0], new_name) in self.diff.renames.tables
        elif kind is ObjectType.OBJECT_COLUMN:
            found = any(new_name in columns for columns in self.diff.renames.columns.values())
        elif kind is ObjectType.OBJECT_SCHEMA:
            found = new_name in self.diff.renames.schemas
        elif kind is ObjectType.OBJECT_TYPE:
            found = (key[0], new_name) in self.diff.new.enums and key not in self.diff.new.enums
        elif kind is ObjectType.OBJECT_INDEX:
            found = self.diff.indexes(new_name, self.diff.new_old, self.diff.prev) is not None
        elif kind is ObjectType.OBJECT_TABCONSTRAINT:
            before, after = self.diff.tables(key)
            found = self.diff.constraint_in(after, before, new_name) is not None
        else:
            found = False
        return None if found else f"renames {node.subname or key[1]} to {new_name}"

    def _set_schema(self, node: ast.AlterObjectSchemaStmt) -> str | None:
        key = _key(node.relation) if node.relation is not None else _names(node.object)
        moved = (str(node.newschema), key[1])
        if node.objectType is ObjectType.OBJECT_TABLE:
            found = moved in self.diff.renames.tables
        else:
            found = moved in self.diff.new.enums and key not in self.diff.new.enums
        return None if found else f"moves {_label(key)} to schema {node.newschema}"

    def _do(self, node: ast.DoStmt) -> str | None:
        inner = do_block_statements(node)
        if inner is None:
            return "is a DO block"
        for statement in inner:
            why = self.why(statement)
            if why:
                return f"{why} (in a DO block)"
        return None


def _label(key: Key) -> str:
    return key[1] if key[0] == PUBLIC else f"{key[0]}.{key[1]}"


_KINDS = {
    ast.InsertStmt: "an INSERT",
    ast.UpdateStmt: "an UPDATE",
    ast.DeleteStmt: "a DELETE",
    ast.SelectStmt: "a SELECT",
    ast.TruncateStmt: "a TRUNCATE",
    ast.CopyStmt: "a COPY",
    ast.CreateFunctionStmt: "a CREATE FUNCTION",
    ast.CreateTrigStmt: "a CREATE TRIGGER",
    ast.CreateExtensionStmt: "a CREATE EXTENSION",
    ast.CommentStmt: "a COMMENT",
    ast.CreateTableAsStmt: "a CREATE TABLE AS",
    ast.CreateDomainStmt: "a CREATE DOMAIN",
}


def _kind(node: ast.Node) -> str:
    if isinstance(node, ast.CreateFunctionStmt) and node.is_procedure:
        return "a CREATE PROCEDURE"
    known = _KINDS.get(type(node))
    if known:
        return known
    name = type(node).__name__.removesuffix("Stmt")
    return f"a statement of kind {name}"


@dataclass(frozen=True)
class SqlCheck:
    """A migration's SQL against its snapshots: what it does beyond them, what they hold that it never made."""

    unexplained: list[Unexplained]
    never_created: list[str]  # "column users.nickname": created by the snapshots, by no statement of the SQL

    @property
    def clean(self) -> bool:
        return not self.unexplained and not self.never_created


def _creations(diff: _Difference) -> list[tuple[tuple[Any, ...], str]]:
    """What the difference creates, as the matcher records it, each with how a note names it."""
    prev, new = diff.prev, diff.new_old
    found: list[tuple[tuple[Any, ...], str]] = []
    for key, table in new.tables.items():
        old = prev.tables.get(key)
        if old is None:
            found.append((("table", key), f"table {_label(key)}"))
        for name in table.columns:
            if old is not None and name not in old.columns:
                found.append((("column", key, name), f"column {_label(key)}.{name}"))
        for name, index in table.indexes.items():
            if old is None or name not in old.indexes or not index_same(old.indexes[name], index):
                found.append((("index", name), f"index {name}"))
        # a created table's unique and check constraints are made inside its CREATE TABLE, named or not
        names = [*table.fks, *table.uniques, *table.checks] if old is not None else list(table.fks)
        for name in names:
            if diff.constraint_in(table, old, name) is not None:
                found.append((("constraint", key, name), f"constraint {name} on {_label(key)}"))
    found += [(("enum", key), f"type {_label(key)}") for key in diff.new.enums if key not in prev.enums]
    found += [(("sequence", key), f"sequence {_label(key)}") for key in diff.new.sequences if key not in prev.sequences]
    created_schemas = diff.new.schemas - prev.schemas - set(diff.renames.schemas)  # a renamed one is no creation
    found += [(("schema", name), f"schema {name}") for name in sorted(created_schemas)]
    return found


def check_sql(statements: Sequence[Statement], before: Mapping[str, Any], after: Mapping[str, Any]) -> SqlCheck:
    """The migration's statements against the difference from ``before`` to ``after`` (version-7 snapshots)."""
    diff = _Difference(before, after)
    matcher = _Matcher(diff)
    found = []
    for statement, nodes in parsed(statements):
        if nodes is None:
            found.append(Unexplained(statement.number, _shown(statement.sql), "does not parse"))
            continue
        # a chunk may hold several statements (no breakpoint between them): each is matched, for the coverage too
        whys = [why for why in (matcher.why(node) for node in nodes) if why]
        if whys:
            found.append(Unexplained(statement.number, _shown(statement.sql), "; ".join(dict.fromkeys(whys))))
    never = [shown for mark, shown in _creations(diff) if mark not in matcher.covered]
    return SqlCheck(found, never)
