"""drizzle-kit v1 snapshot rows: their keys, the deltas between them, and reading them into the schema model.

Both v1 snapshot versions describe a schema as rows of drizzle-kit's postgres
ddl, each with an ``entityType``: version "8" (1.0.0-beta.x to rc.4) keeps every
row in each snapshot's ``ddl``, version "9" (rc.5) keeps them in its base and then
``deltas`` (v1_history.py follows both). A delta is one of:

- ``{"op": "create", "row": {...}}`` adds a row (the same row again is no change);
- ``{"op": "drop", "key": K}`` removes the row with key ``K``, and only that row
  (dropping a table comes with one drop per column, index, constraint...);
- ``{"op": "alter", "key": K, "set": {...}}`` changes fields of a row;
- ``{"op": "rename", "key": K, "set": {...}}`` changes fields that name it; the
  rows that refer to it follow (a renamed table takes its columns, indexes and
  constraints along, a renamed column is renamed inside indexes and keys, a
  renamed enum inside the columns of that type, a renamed schema takes its
  tables, enums, sequences and views).

A key is ``<entityType>`` NUL ``<JSON array of the row's identity fields>``, e.g.
``columns\\0["public","users","email"]``. An alter, rename or drop of a row that
is not there changes nothing (two branches may both drop one column), as in
drizzle-kit.

The rows are then read into the same ``Schema`` that ``from_snapshot`` builds for
0.31 snapshots. Views, policies, roles, privileges and row-level security are
not compared (the catalog side does not read them either).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from drizzle_ops.errors import UserError
from drizzle_ops.snapshot_reader import fk_action, fk_target, v1_column_type, v1_opclass, v1_storage_parameters
from drizzle_ops.verify import model
from drizzle_ops.verify.identifiers import as_stored
from drizzle_ops.verify.snapshot import column_from_snapshot, index_from_snapshot

Row = dict[str, Any]
Key = tuple[str, tuple[Any, ...]]  # (entityType, identity values)

# the fields that identify a row of each entity type (drizzle-kit's postgres ddl)
IDENTITY: dict[str, tuple[str, ...]] = {
    "schemas": ("name",),
    "tables": ("schema", "name"),
    "enums": ("schema", "name"),
    "columns": ("schema", "table", "name"),
    "indexes": ("schema", "name"),
    "fks": ("schema", "table", "name"),
    "pks": ("schema", "table", "name"),
    "uniques": ("schema", "table", "name"),
    "checks": ("schema", "table", "name"),
    "sequences": ("schema", "name"),
    "roles": ("name",),
    "privileges": ("schema", "table", "grantor", "grantee", "type"),
    "policies": ("schema", "table", "name"),
    "views": ("schema", "name"),
}
IGNORED = frozenset({"roles", "privileges", "policies", "views"})  # read and folded, never compared

_WORDS = {
    "schemas": "schema",
    "tables": "table",
    "enums": "enum",
    "columns": "column",
    "indexes": "index",
    "fks": "foreign key",
    "pks": "primary key",
    "uniques": "unique constraint",
    "checks": "check constraint",
    "sequences": "sequence",
    "roles": "role",
    "privileges": "privilege",
    "policies": "policy",
    "views": "view",
}


@dataclass(frozen=True)
class Reference:
    """How rows of ``holder`` name a row of ``target``, so a rename can follow.

    ``fields`` pairs a field of the target with the holder's field that must hold
    the same value. ``names``, when set, is the holder's list of the target's
    ``name`` values (column lists); ``pick`` is the key of the name in a list of
    objects and ``skip`` a key that, when true, marks an element that names
    nothing (an index expression).
    """

    holder: str
    target: str
    fields: tuple[tuple[str, str], ...]
    names: str | None = None
    pick: str | None = None
    skip: str | None = None
    applies: Callable[[Row], bool] | None = None

    def patch(self, row: Row, before: Row, after: Row) -> Row | None:
        """The fields of ``row`` to change now that ``before`` became ``after``; None if it doesn't refer to it."""
        if self.applies is not None and not self.applies(row):
            return None
        if any(row.get(mine) != before.get(theirs) for theirs, mine in self.fields):
            return None
        patch = {mine: after.get(theirs) for theirs, mine in self.fields}
        if self.names is None:
            return patch
        elements = row.get(self.names)
        if not isinstance(elements, list):
            return None
        renamed, changed = [], False
        for element in elements:
            if self.pick is not None and isinstance(element, dict):
                if not (self.skip and element.get(self.skip)) and element.get(self.pick) == before.get("name"):
                    element, changed = {**element, self.pick: after.get("name")}, True
            elif self.pick is None and element == before.get("name"):
                element, changed = after.get("name"), True
            renamed.append(element)
        return {**patch, self.names: renamed} if changed else None


_IN_TABLE = (("schema", "schema"), ("name", "table"))
_OF_COLUMN = (("schema", "schema"), ("table", "table"))
REFERENCES: tuple[Reference, ...] = (
    *(Reference(holder, "schemas", (("name", "schema"),)) for holder in ("tables", "enums", "sequences", "views")),
    *(
        Reference(holder, "tables", _IN_TABLE)
        for holder in ("columns", "indexes", "pks", "uniques", "fks", "checks", "policies", "privileges")
    ),
    Reference(
        "columns",
        "enums",
        (("schema", "typeSchema"), ("name", "type")),
        applies=lambda row: bool(row.get("typeSchema")) and row.get("typeSchema") != "pg_catalog",
    ),
    Reference("indexes", "columns", _OF_COLUMN, names="columns", pick="value", skip="isExpression"),
    Reference("pks", "columns", _OF_COLUMN, names="columns"),
    Reference("uniques", "columns", _OF_COLUMN, names="columns"),
    Reference("fks", "columns", _OF_COLUMN, names="columns"),
    Reference("fks", "tables", (("schema", "schemaTo"), ("name", "tableTo"))),
    Reference("fks", "columns", (("schema", "schemaTo"), ("table", "tableTo")), names="columnsTo"),
    Reference("policies", "roles", (), names="roles"),
    Reference("privileges", "roles", (("name", "grantee"),)),
    Reference("privileges", "roles", (("name", "grantor"),)),
)


def key_of(row: Mapping[str, Any]) -> Key:
    entity = row["entityType"]
    return entity, tuple(row.get(field) for field in IDENTITY[entity])


def describe(key: Key) -> str:
    """'column public.users.email', as errors name an entity."""
    entity, identity = key
    return f"{_WORDS.get(entity, entity)} {'.'.join(str(part) for part in identity if part is not None)}"


def parse_key(text: Any, source: str) -> Key:
    """``columns\\0["public","users","email"]`` -> ('columns', ('public', 'users', 'email'))."""
    entity, sep, identity = text.partition("\0") if isinstance(text, str) else ("", "", "")
    try:
        values = json.loads(identity) if sep else None
    except json.JSONDecodeError:
        values = None
    if entity not in IDENTITY or not isinstance(values, list) or len(values) != len(IDENTITY[entity]):
        raise UserError(f"{source}: cannot read the delta key {text!r}; regenerate the snapshot with drizzle-kit")
    return entity, tuple(values)


def encode_key(key: Key) -> str:
    """The text form of a key, as deltas write it (the inverse of ``parse_key``)."""
    entity, identity = key
    return entity + "\0" + json.dumps(list(identity), separators=(",", ":"))


def deltas_between(before: Mapping[Key, Row], after: Iterable[Row]) -> list[Row]:
    """The deltas that turn the rows ``before`` into the rows ``after`` (two whole version "8" snapshots).

    Without the snapshots' rename hints a renamed entity is a drop and a create,
    as drizzle-kit's own `check` compares two snapshots.
    """
    wanted = {key_of(row): row for row in after if isinstance(row, dict) and row.get("entityType") in IDENTITY}
    deltas: list[Row] = [{"op": "drop", "key": encode_key(key)} for key in before if key not in wanted]
    for key, row in wanted.items():
        held = before.get(key)
        if held is None:
            deltas.append({"op": "create", "row": row})
        elif not same_row(held, row):
            fields = (set(held) | set(row)) - {"entityType", *IDENTITY[key[0]]}
            deltas.append({"op": "alter", "key": encode_key(key), "set": {f: row.get(f) for f in sorted(fields)}})
    return deltas


def same_row(a: Row, b: Row) -> bool:
    """Equal rows, a missing field counting as null (drizzle-kit fills missing fields with null)."""
    return {k: v for k, v in a.items() if v is not None} == {k: v for k, v in b.items() if v is not None}


class SchemaRows:
    """The rows of a schema, by key, with the file that last wrote each one (for errors)."""

    def __init__(self) -> None:
        self.rows: dict[Key, Row] = {}
        self.origin: dict[Key, str] = {}

    def copy(self) -> SchemaRows:
        """An independent copy: changes to it leave this one as it is."""
        other = SchemaRows()
        other.rows = {key: dict(row) for key, row in self.rows.items()}
        other.origin = dict(self.origin)
        return other

    def load(self, rows: Any, source: str) -> None:
        """Every row of a whole schema (a version "9" base, a version "8" snapshot): each key once."""
        for row in rows:
            if isinstance(row, dict) and row.get("entityType") in IDENTITY and key_of(row) in self.rows:
                raise UserError(f"{source} lists {describe(key_of(row))} twice; regenerate it with drizzle-kit")
            self.create(row, source)

    def create(self, raw: Any, source: str) -> None:
        if not isinstance(raw, dict) or raw.get("entityType") not in IDENTITY:
            kind = raw.get("entityType") if isinstance(raw, dict) else type(raw).__name__
            raise UserError(
                f"{source}: a row of entity type {kind!r}, which drizzle-ops does not know (drizzle-kit "
                "1.0 writes schemas, tables, enums, columns, indexes, fks, pks, uniques, checks, sequences, "
                "roles, privileges, policies, views); regenerate the snapshot with drizzle-kit"
            )
        row = dict(raw)
        key = key_of(row)
        held = self.rows.get(key)
        if held is not None:
            if same_row(held, row):
                return
            raise UserError(
                f"{source} creates {describe(key)}, which {self.origin[key]} already created differently; "
                "two migrations gave one name to two entities: regenerate the later one with drizzle-kit"
            )
        self.rows[key] = row
        self.origin[key] = source

    def drop(self, key: Key) -> None:
        self.rows.pop(key, None)
        self.origin.pop(key, None)

    def change(self, key: Key, values: Any, source: str) -> None:
        """Alter or rename: set fields; when the key changes, the rows naming this one follow."""
        if not isinstance(values, dict):
            raise UserError(f"{source}: the delta for {describe(key)} has no `set` object; regenerate it")
        row = self.rows.get(key)
        if row is None:
            return
        before = dict(row)
        row.update(values)
        self.origin[key] = source
        if key_of(row) != key:
            self._follow(key, before, row)
            self._rekey(source)

    def _follow(self, key: Key, before: Row, after: Row) -> None:
        by_type: dict[str, list[Row]] = {}
        for row in self.rows.values():
            by_type.setdefault(row["entityType"], []).append(row)
        moved = [(key[0], before, after)]
        seen = {key}
        while moved:
            entity, old, new = moved.pop(0)
            for reference in REFERENCES:
                if reference.target != entity:
                    continue
                for row in by_type.get(reference.holder, []):
                    patch = reference.patch(row, old, new)
                    if patch is None:
                        continue
                    previous = dict(row)
                    row.update(patch)
                    old_key = key_of(previous)
                    if key_of(row) != old_key and old_key not in seen:
                        seen.add(old_key)
                        moved.append((reference.holder, previous, row))

    def _rekey(self, source: str) -> None:
        rows: dict[Key, Row] = {}
        origin: dict[Key, str] = {}
        for old_key, row in self.rows.items():
            key = key_of(row)
            if key in rows:
                raise UserError(
                    f"{source} renames {describe(key)} onto another entity with that name; "
                    "regenerate the migration with drizzle-kit"
                )
            rows[key] = row
            origin[key] = self.origin.get(old_key, source)
        self.rows, self.origin = rows, origin

    def apply(self, deltas: Any, source: str) -> None:
        if not isinstance(deltas, list):
            raise UserError(f"{source}: `deltas` is not a list; regenerate the snapshot with drizzle-kit")
        for number, delta in enumerate(deltas, 1):
            op = delta.get("op") if isinstance(delta, dict) else None
            if op == "create":
                self.create(delta.get("row"), source)
            elif op == "drop":
                self.drop(parse_key(delta.get("key"), source))
            elif op in ("alter", "rename"):
                self.change(parse_key(delta.get("key"), source), delta.get("set"), source)
            else:
                raise UserError(
                    f"{source}: delta {number} has op {op!r}; drizzle-ops reads create, drop, alter and rename "
                    "(drizzle-kit 1.0): regenerate the snapshot with drizzle-kit"
                )


# -- rows to the model ------------------------------------------------------------------------------


def _index(row: Row) -> model.Index:
    columns = [
        model.IndexColumn(
            expression=str(col["value"]),
            is_expression=bool(col.get("isExpression", False)),
            desc=not col.get("asc", True),
            nulls_first=bool(col.get("nullsFirst", False)),
            opclass=v1_opclass(col),
        )
        for col in row.get("columns") or []
    ]
    return index_from_snapshot(row, columns, ((k.lower(), v.lower()) for k, v in v1_storage_parameters(row)))


def _column_raw(row: Row) -> Row:
    """A v9 column row shaped as snapshot.py reads v7 columns: the array dimensions back on the type."""
    type_, type_schema = v1_column_type(row)
    return {**row, "type": type_, "typeSchema": type_schema}


def _table(schema: model.Schema, row: Row, origin: str) -> model.Table:
    table = schema.tables.get((str(row["schema"]), str(row["table"])))
    if table is None:
        raise UserError(
            f"{origin}: the snapshots have {describe(key_of(row))} but not its table; "
            "regenerate the migration with drizzle-kit"
        )
    return table


def _add(schema: model.Schema, row: Row, enum_schemas: dict[str, set[str]], origin: str) -> None:
    entity = row["entityType"]
    if entity == "columns":
        column = column_from_snapshot(_column_raw(row), enum_schemas)
        _table(schema, row, origin).columns[column.name] = column
    elif entity == "pks":
        table = _table(schema, row, origin)
        if table.primary_key is not None:
            raise UserError(f"{origin}: table {table.label} has two primary keys; regenerate it with drizzle-kit")
        # a name drizzle-kit chose is PostgreSQL's default (<table>_pkey): PostgreSQL names it, so don't compare
        name = str(row["name"]) if row.get("nameExplicit") else None
        table.primary_key = model.PrimaryKey(name, tuple(str(c) for c in row["columns"]))
    elif entity == "indexes":
        index = _index(row)
        _table(schema, row, origin).indexes[index.name] = index
    elif entity == "fks":
        target_schema, target_table = fk_target(row)
        _table(schema, row, origin).foreign_keys[str(row["name"])] = model.ForeignKey(
            name=str(row["name"]),
            columns=tuple(str(c) for c in row["columns"]),
            target_schema=target_schema,
            target_table=target_table,
            target_columns=tuple(str(c) for c in row["columnsTo"]),
            on_delete=fk_action(row.get("onDelete")),
            on_update=fk_action(row.get("onUpdate")),
        )
    elif entity == "uniques":
        _table(schema, row, origin).uniques[str(row["name"])] = model.UniqueConstraint(
            str(row["name"]), tuple(str(c) for c in row["columns"]), bool(row.get("nullsNotDistinct", False))
        )
    elif entity == "checks":
        _table(schema, row, origin).checks[str(row["name"])] = model.CheckConstraint(
            str(row["name"]), str(row["value"])
        )


def from_rows(rows: Sequence[Row], source: str = "snapshot", origins: Mapping[Key, str] | None = None) -> model.Schema:
    """The schema a folded list of v9 ddl rows describes; errors name the file and the entity."""
    schema = model.Schema(schemas={model.PUBLIC})
    enum_schemas: dict[str, set[str]] = {}
    # containers first (schemas, enums, tables, sequences), then what lives in tables
    first = ("schemas", "enums", "tables", "sequences")
    ordered = [r for r in rows if r.get("entityType") in first] + [r for r in rows if r.get("entityType") not in first]
    for row in ordered:
        entity = row.get("entityType")
        origin = (origins or {}).get(key_of(row), source) if entity in IDENTITY else source
        try:
            if entity == "schemas":
                schema.schemas.add(str(row["name"]))
            elif entity == "enums":
                key = (str(row["schema"]), str(row["name"]))
                schema.enums[key] = tuple(str(v) for v in row["values"])
                enum_schemas.setdefault(key[1], set()).add(key[0])
                schema.schemas.add(key[0])
            elif entity == "tables":
                table = model.Table(schema=str(row["schema"]), name=str(row["name"]))
                schema.tables[(table.schema, table.name)] = table
                schema.schemas.add(table.schema)
            elif entity == "sequences":
                schema.sequences.add((str(row["schema"]), str(row["name"])))
                schema.schemas.add(str(row["schema"]))
            elif entity in IGNORED:
                continue
            elif entity in IDENTITY:
                _add(schema, row, enum_schemas, origin)
            else:
                raise UserError(f"{origin}: a row of unknown entity type {entity!r}; regenerate it with drizzle-kit")
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            what = describe(key_of(row)) if entity in IDENTITY and isinstance(row, dict) else repr(entity)
            raise UserError(
                f"{origin}: cannot read {what} ({type(exc).__name__}: {exc}); regenerate the snapshot with drizzle-kit"
            ) from None
    return as_stored(schema)  # names cut to 63 bytes, as the server stores them
