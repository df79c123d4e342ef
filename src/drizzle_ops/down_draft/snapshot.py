"""drizzle-kit PostgreSQL snapshots (versions 5-7) as the draft reads them: tables by (schema, name), renames.

Raw snapshot entries are kept as they are (types, defaults and expressions are
drizzle-kit's own SQL text); only their keys are normalised, and comparisons
ignore what does not change the schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

PUBLIC = "public"
SNAPSHOT_VERSIONS = ("5", "6", "7")  # drizzle-kit 0.2x-0.31 PostgreSQL snapshots
Key = tuple[str, str]  # (schema, name)
Raw = dict[str, Any]


def default_sql(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def schema_of(raw: Mapping[str, Any]) -> str:
    return str(raw.get("schema") or PUBLIC)


@dataclass
class Table:
    key: Key
    columns: dict[str, Raw] = field(default_factory=dict)
    pk: tuple[str | None, tuple[str, ...]] | None = None  # (constraint name, None when column-level; columns)
    indexes: dict[str, Raw] = field(default_factory=dict)
    fks: dict[str, Raw] = field(default_factory=dict)
    uniques: dict[str, Raw] = field(default_factory=dict)
    checks: dict[str, Raw] = field(default_factory=dict)
    extras: Raw = field(default_factory=dict)  # policies and RLS: compared, never drafted


@dataclass
class Snapshot:
    tables: dict[Key, Table] = field(default_factory=dict)
    enums: dict[Key, tuple[str, ...]] = field(default_factory=dict)
    sequences: dict[Key, Raw] = field(default_factory=dict)
    schemas: set[str] = field(default_factory=set)
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


def quoted_parts(text: str) -> list[str]:
    return [p.replace('""', '"') for p in re.findall(r'"((?:[^"]|"")*)"', text)]


@dataclass
class Renames:
    tables: dict[Key, Key] = field(default_factory=dict)  # new -> old
    columns: dict[Key, dict[str, str]] = field(default_factory=dict)  # new table key -> {new column: old column}
    schemas: dict[str, str] = field(default_factory=dict)  # new -> old


def read_renames(snapshot: Mapping[str, Any]) -> Renames:
    meta = snapshot.get("_meta") or {}
    renames = Renames()
    for old, new in (meta.get("schemas") or {}).items():
        renames.schemas[str(new)] = str(old)
    for old, new in (meta.get("tables") or {}).items():
        before, after = quoted_parts(str(old)), quoted_parts(str(new))
        if before and after:
            old_key = (before[0], before[1]) if len(before) > 1 else (PUBLIC, before[0])
            new_key = (after[0], after[1]) if len(after) > 1 else (PUBLIC, after[0])
            renames.tables[new_key] = old_key
    for old, new in (meta.get("columns") or {}).items():
        before, after = quoted_parts(str(old)), quoted_parts(str(new))
        if len(before) >= 2 and len(after) >= 2:
            table = (after[0], after[1]) if len(after) > 2 else (PUBLIC, after[0])
            renames.columns.setdefault(table, {})[after[-1]] = before[-1]
    return renames


def in_old_names(new: Snapshot, renames: Renames) -> Snapshot:
    """The new snapshot with renamed tables and columns called by their earlier names, to compare like with like."""
    if not renames.tables and not renames.columns:
        return new

    def table_key(key: Key) -> Key:
        return renames.tables.get(key, key)

    def column(key: Key, name: str) -> str:
        return renames.columns.get(key, {}).get(name, name)

    out = Snapshot(enums=new.enums, sequences=new.sequences, schemas=new.schemas, extras=new.extras)
    for key, table in new.tables.items():
        moved = Table(table_key(key), extras=table.extras)
        moved.columns = {column(key, n): {**c, "name": column(key, n)} for n, c in table.columns.items()}
        if table.pk:
            moved.pk = (table.pk[0], tuple(column(key, c) for c in table.pk[1]))
        moved.indexes = {
            n: {
                **i,
                "columns": [
                    {**c, "expression": c["expression"] if c.get("isExpression") else column(key, c["expression"])}
                    for c in i.get("columns", [])
                ],
            }
            for n, i in table.indexes.items()
        }
        moved.fks = {}
        for n, fk in table.fks.items():
            target = (str(fk.get("schemaTo") or PUBLIC), str(fk["tableTo"]))
            old_target = table_key(target)
            moved.fks[n] = {
                **fk,
                "tableFrom": moved.key[1],
                "schemaTo": old_target[0],
                "tableTo": old_target[1],
                "columnsFrom": [column(key, c) for c in fk.get("columnsFrom", [])],
                "columnsTo": [column(target, c) for c in fk.get("columnsTo", [])],
            }
        moved.uniques = {
            n: {**u, "columns": [column(key, c) for c in u.get("columns", [])]} for n, u in table.uniques.items()
        }
        moved.checks = dict(table.checks)
        out.tables[moved.key] = moved
    return out


def type_key(column: Mapping[str, Any]) -> tuple[str, str]:
    return (str(column.get("typeSchema") or ""), str(column.get("type", "")))


def column_changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    fields = ("notNull", "identity", "generated")
    return (
        type_key(before) != type_key(after)
        or default_of(before) != default_of(after)
        or any(before.get(f) != after.get(f) for f in fields)
    )


def default_of(column: Mapping[str, Any]) -> str | None:
    value = column.get("default")
    return None if value is None else default_sql(value)


def index_same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    keys = ("columns", "isUnique", "method", "where", "with")
    norm: dict[str, Any] = {"method": "btree", "with": {}, "where": None}
    return all((a.get(k) or norm.get(k)) == (b.get(k) or norm.get(k)) for k in keys)


def fk_same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    def norm(fk: Mapping[str, Any]) -> tuple[Any, ...]:
        return (
            tuple(fk.get("columnsFrom", [])),
            str(fk.get("schemaTo") or PUBLIC),
            fk.get("tableTo"),
            tuple(fk.get("columnsTo", [])),
            str(fk.get("onDelete") or "no action").lower(),
            str(fk.get("onUpdate") or "no action").lower(),
        )

    return norm(a) == norm(b)


def unique_same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return list(a.get("columns", [])) == list(b.get("columns", [])) and bool(a.get("nullsNotDistinct")) == bool(
        b.get("nullsNotDistinct")
    )


def enum_named(enums: Iterable[Key], name: str) -> Key | None:
    found = [key for key in enums if key[1] == name]
    return found[0] if len(found) == 1 else None


def enum_key_of(column: Mapping[str, Any], enums: Iterable[Key]) -> tuple[Key, bool] | None:
    """(enum, is_array) when the column's type is one of ``enums``."""
    type_ = str(column.get("type", ""))
    base = re.sub(r"(\[\d*\])+$", "", type_)
    schema = column.get("typeSchema")
    key = (str(schema), base) if schema else enum_named(enums, base)
    if key is None or key not in set(enums):
        return None
    return key, base != type_
