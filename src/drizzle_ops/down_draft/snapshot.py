"""Two drizzle-kit snapshots compared as the draft compares them: renames, and which entries really changed.

The snapshots are read by ``snapshot_reader.read_snapshot`` (entries as drizzle-kit wrote them);
comparisons here ignore what does not change the schema (a default spelled as a boolean or as text,
an index method left out for btree, a foreign key's missing 'no action').
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from drizzle_ops.snapshot_reader import (
    PUBLIC,
    Key,
    Snapshot,
    Table,
    default_of,
    fk_action,
    fk_target,
    split_array,
)


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
            target = fk_target(fk)
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
            fk_action(fk.get("onDelete")),
            fk_action(fk.get("onUpdate")),
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
    base, array = split_array(str(column.get("type", "")))
    schema = column.get("typeSchema")
    key = (str(schema), base) if schema else enum_named(enums, base)
    if key is None or key not in set(enums):
        return None
    return key, array
