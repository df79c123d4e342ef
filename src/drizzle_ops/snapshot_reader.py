"""drizzle-kit's snapshot files, read one way for everything that reads them: verify and the down drafts.

A drizzle-kit 0.2x-0.31 PostgreSQL snapshot (versions 5-7) is JSON: tables, enums, sequences and
schemas, each table with its columns, keys, indexes and constraints. ``read_snapshot`` walks it once
into tables by (schema, name). Only where older snapshots put a thing elsewhere is it moved: a column's
primary key and unique (versions before 7 kept them on the column) join the table's. The entries stay as
drizzle-kit wrote them (types, defaults and expressions are its SQL text): verify/snapshot.py spells
them as the catalog does, down_draft/ writes SQL from them.

drizzle-kit 1.0 snapshots are rows instead (verify/snapshot_v1.py folds them); the helpers at the end
read the fields of such a row that differ from a version-7 entry, for verify and for the draft alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PUBLIC = "public"
SNAPSHOT_VERSIONS = ("5", "6", "7")  # drizzle-kit 0.2x-0.31 PostgreSQL snapshots
Key = tuple[str, str]  # (schema, name)
Raw = dict[str, Any]  # an entry as the snapshot holds it


def schema_of(entry: Mapping[str, Any]) -> str:
    """The schema of a table, enum, sequence or v1 row: drizzle-kit leaves it empty for public."""
    return str(entry.get("schema") or PUBLIC)


def default_sql(value: Any) -> str:
    """A default (or a storage parameter) as SQL text: JSON's true and false are booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def default_of(column: Mapping[str, Any]) -> str | None:
    value = column.get("default")
    return None if value is None else default_sql(value)


def split_array(type_: str) -> tuple[str, bool]:
    """'text[]' -> ('text', True); PostgreSQL ignores declared dimensions, so '[][]' and '[3]' are one array."""
    base = type_.strip()
    array = False
    while True:
        match = re.search(r"\s*\[\d*\]$", base)
        if not match:
            return base, array
        base, array = base[: match.start()], True


def fk_target(fk: Mapping[str, Any]) -> Key:
    """The table a foreign key (a v7 entry or a v1 row) references."""
    return str(fk.get("schemaTo") or PUBLIC), str(fk["tableTo"])


def fk_action(value: Any) -> str:
    """ON DELETE / ON UPDATE as the catalog names it: 'no action' when the snapshot says nothing."""
    return str(value or "no action").lower()


@dataclass
class Table:
    key: Key
    columns: dict[str, Raw] = field(default_factory=dict)
    pk: tuple[str | None, tuple[str, ...]] | None = None  # (constraint name, None when column-level; columns)
    indexes: dict[str, Raw] = field(default_factory=dict)
    fks: dict[str, Raw] = field(default_factory=dict)
    uniques: dict[str, Raw] = field(default_factory=dict)  # each: name, columns, nullsNotDistinct
    checks: dict[str, Raw] = field(default_factory=dict)
    extras: Raw = field(default_factory=dict)  # policies and RLS: compared, never drafted


@dataclass
class Snapshot:
    tables: dict[Key, Table] = field(default_factory=dict)
    enums: dict[Key, tuple[str, ...]] = field(default_factory=dict)  # their values, in order
    sequences: dict[Key, Raw] = field(default_factory=dict)
    schemas: set[str] = field(default_factory=set)  # those the snapshot declares, public aside
    extras: Raw = field(default_factory=dict)  # views, roles, policies: compared, never drafted


def read_table(raw: Mapping[str, Any]) -> Table:
    table = Table((schema_of(raw), str(raw["name"])))
    pk_columns: list[str] = []
    for col in (raw.get("columns") or {}).values():
        name = str(col["name"])
        table.columns[name] = dict(col)
        if col.get("primaryKey"):
            pk_columns.append(name)
        if col.get("isUnique"):  # snapshots before v7 kept a column's unique here
            unique = str(col.get("uniqueName") or f"{table.key[1]}_{name}_unique")
            table.uniques[unique] = {
                "name": unique,
                "columns": [name],
                "nullsNotDistinct": bool(col.get("nullsNotDistinct", False)),
            }
    composite = list((raw.get("compositePrimaryKeys") or {}).values())
    if composite:
        table.pk = (str(composite[0].get("name") or "") or None, tuple(composite[0]["columns"]))
    elif pk_columns:
        table.pk = (None, tuple(pk_columns))
    table.indexes = {str(i["name"]): dict(i) for i in (raw.get("indexes") or {}).values()}
    table.fks = {str(f["name"]): dict(f) for f in (raw.get("foreignKeys") or {}).values()}
    table.uniques.update({str(u["name"]): dict(u) for u in (raw.get("uniqueConstraints") or {}).values()})
    table.checks = {str(c["name"]): dict(c) for c in (raw.get("checkConstraints") or {}).values()}
    table.extras = {"policies": raw.get("policies") or {}, "rls": bool(raw.get("isRLSEnabled", False))}
    return table


def read_snapshot(snapshot: Mapping[str, Any]) -> Snapshot:
    """A version 5-7 snapshot; a malformed one raises KeyError, TypeError, AttributeError or ValueError."""
    model = Snapshot()
    for raw in (snapshot.get("tables") or {}).values():
        table = read_table(raw)
        model.tables[table.key] = table
    for raw in (snapshot.get("enums") or {}).values():
        model.enums[(schema_of(raw), str(raw["name"]))] = tuple(str(v) for v in raw.get("values", []))
    for raw in (snapshot.get("sequences") or {}).values():
        model.sequences[(schema_of(raw), str(raw["name"]))] = dict(raw)
    model.schemas = {str(s) for s in (snapshot.get("schemas") or {}).values()} - {PUBLIC}
    model.extras = {k: snapshot.get(k) or {} for k in ("views", "roles", "policies", "privileges")}
    return model


# -- drizzle-kit 1.0 rows: the fields a version-7 entry spells otherwise ---------------------------------


def v1_column_type(row: Mapping[str, Any]) -> tuple[str, str | None]:
    """(type, type schema) of a v1 column row as a v7 column has them: the array dimensions back on the
    type, no schema for a built-in type (v1 says pg_catalog)."""
    dimensions = int(row.get("dimensions") or 0)
    type_schema = row.get("typeSchema")
    return str(row["type"]) + "[]" * dimensions, None if type_schema in (None, "pg_catalog") else str(type_schema)


def v1_opclass(column: Mapping[str, Any]) -> str | None:
    """The operator class of a v1 index column: drizzle-kit names one only when it is not the type's default."""
    opclass = column.get("opclass")
    named = opclass.get("name") if isinstance(opclass, Mapping) and not opclass.get("default") else None
    return str(named) if named else None


def v1_storage_parameters(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A v1 index's ``with``: 'fillfactor=70, deduplicate_items=false' -> [('fillfactor', '70'), …]."""
    parameters = []
    for part in str(row.get("with") or "").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip():
            parameters.append((name.strip(), value.strip()))
    return parameters
