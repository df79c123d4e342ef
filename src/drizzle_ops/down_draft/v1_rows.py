"""drizzle-kit v1's schema rows (a folded version-9 snapshot) shaped as a version-7 snapshot, for the draft.

drizzle-kit v1 describes a schema as a flat list of rows, each with an
``entityType`` (verify/snapshot_v1.py folds a migration's snapshots into that
list). The draft reads version-7 snapshots, so the rows are regrouped: columns,
indexes, keys and checks under their table, enums, sequences and schemas at the
top. Views, roles, policies and privileges are kept where the draft compares
them (it never drafts them, it says they differ).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from drizzle_ops.snapshot_reader import (
    PUBLIC,
    fk_action,
    fk_target,
    schema_of,
    v1_column_type,
    v1_opclass,
    v1_storage_parameters,
)

Row = Mapping[str, Any]


def _table_of(tables: dict[str, dict[str, Any]], row: Row) -> dict[str, Any]:
    key = f"{schema_of(row)}.{row['table']}"
    if key not in tables:  # a row whose table the rows do not have: keep it, the draft shows what it can
        tables[key] = _empty_table(schema_of(row), str(row["table"]))
    return tables[key]


def _empty_table(schema: str, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "schema": "" if schema == PUBLIC else schema,
        "columns": {},
        "indexes": {},
        "foreignKeys": {},
        "compositePrimaryKeys": {},
        "uniqueConstraints": {},
        "checkConstraints": {},
        "policies": {},
        "isRLSEnabled": False,
    }


def _column(row: Row) -> dict[str, Any]:
    type_, type_schema = v1_column_type(row)
    identity = row.get("identity")
    return {
        "name": str(row["name"]),
        "type": type_,
        "typeSchema": type_schema,
        "primaryKey": False,
        "notNull": bool(row.get("notNull")),
        "default": row.get("default"),
        "generated": row.get("generated"),
        "identity": {**identity, "type": "always" if identity.get("type") == "always" else "byDefault"}
        if isinstance(identity, Mapping)
        else None,
    }


def _index(row: Row) -> dict[str, Any]:
    columns = []
    for col in row.get("columns") or []:
        named = v1_opclass(col)
        columns.append(
            {
                "expression": str(col["value"]),
                "isExpression": bool(col.get("isExpression")),
                "asc": bool(col.get("asc", True)),
                "nulls": "first" if col.get("nullsFirst") else "last",
                **({"opclass": named} if named else {}),
            }
        )
    return {
        "name": str(row["name"]),
        "columns": columns,
        "isUnique": bool(row.get("isUnique")),
        "concurrently": bool(row.get("concurrently")),
        "method": str(row.get("method") or "btree"),
        "where": row.get("where") or None,
        "with": dict(v1_storage_parameters(row)),
    }


def snapshot_from_rows(rows: Iterable[Row], meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A version-7-shaped snapshot of the schema the v1 rows describe; ``meta``: its renames, as v7's ``_meta``."""
    rows = list(rows)
    tables: dict[str, dict[str, Any]] = {}
    out: dict[str, Any] = {
        "version": "7",
        "dialect": "postgresql",
        "tables": tables,
        "enums": {},
        "schemas": {},
        "sequences": {},
        "roles": {},
        "policies": {},
        "views": {},
        "privileges": {},
        "_meta": {"schemas": {}, "tables": {}, "columns": {}, **(meta or {})},
    }
    for row in rows:  # tables first: every other row hangs on one
        if row.get("entityType") == "tables":
            table = _empty_table(schema_of(row), str(row["name"]))
            table["isRLSEnabled"] = bool(row.get("isRlsEnabled"))
            tables[f"{schema_of(row)}.{row['name']}"] = table
    for row in rows:
        entity = row.get("entityType")
        schema = schema_of(row)
        if entity == "schemas":
            out["schemas"][str(row["name"])] = str(row["name"])
        elif entity == "enums":
            out["enums"][f"{schema}.{row['name']}"] = {
                "name": str(row["name"]),
                "schema": schema,
                "values": list(row.get("values") or []),
            }
        elif entity == "sequences":
            out["sequences"][f"{schema}.{row['name']}"] = {
                "name": str(row["name"]),
                "schema": schema,
                "increment": row.get("incrementBy"),
                "minValue": row.get("minValue"),
                "maxValue": row.get("maxValue"),
                "startWith": row.get("startWith"),
                "cache": row.get("cacheSize"),
                "cycle": bool(row.get("cycle")),
            }
        elif entity == "columns":
            _table_of(tables, row)["columns"][str(row["name"])] = _column(row)
        elif entity == "pks":
            # named, so the draft drops and adds it by its real name (drizzle-kit v1 records PostgreSQL's default)
            _table_of(tables, row)["compositePrimaryKeys"][str(row["name"])] = {
                "name": str(row["name"]),
                "columns": list(row.get("columns") or []),
            }
        elif entity == "indexes":
            _table_of(tables, row)["indexes"][str(row["name"])] = _index(row)
        elif entity == "fks":
            schema_to, table_to = fk_target(row)
            _table_of(tables, row)["foreignKeys"][str(row["name"])] = {
                "name": str(row["name"]),
                "tableFrom": str(row["table"]),
                "columnsFrom": list(row.get("columns") or []),
                "schemaTo": schema_to,
                "tableTo": table_to,
                "columnsTo": list(row.get("columnsTo") or []),
                "onDelete": fk_action(row.get("onDelete")),
                "onUpdate": fk_action(row.get("onUpdate")),
            }
        elif entity == "uniques":
            _table_of(tables, row)["uniqueConstraints"][str(row["name"])] = {
                "name": str(row["name"]),
                "columns": list(row.get("columns") or []),
                "nullsNotDistinct": bool(row.get("nullsNotDistinct")),
            }
        elif entity == "checks":
            _table_of(tables, row)["checkConstraints"][str(row["name"])] = {
                "name": str(row["name"]),
                "value": str(row["value"]),
            }
        elif entity == "policies":
            _table_of(tables, row)["policies"][str(row["name"])] = dict(row)
        elif entity in ("roles", "views", "privileges"):
            identity = ".".join(str(row.get(k)) for k in ("schema", "table", "name", "grantee", "type") if row.get(k))
            out[entity][identity] = dict(row)
    return out


def _quoted(*names: Any) -> str:
    return ".".join('"' + str(n).replace('"', '""') + '"' for n in names)


def rename_meta(renames: Iterable[tuple[str, tuple[Any, ...], Mapping[str, Any]]]) -> dict[str, dict[str, str]]:
    """v7's ``_meta`` (old name to new, quoted as drizzle-kit writes it) from v1 rename deltas.

    Each delta is (entity, its identity before the rename, the fields it sets), in
    the snapshot's order: schemas, then tables, then columns, each column named
    by its table's new name.
    """
    meta: dict[str, dict[str, str]] = {"schemas": {}, "tables": {}, "columns": {}}
    moved: dict[tuple[str, str], tuple[str, str]] = {}
    for entity, identity, fields in renames:
        if entity == "schemas" and len(identity) == 1:
            meta["schemas"][str(identity[0])] = str(fields.get("name", identity[0]))
        elif entity == "tables" and len(identity) == 2:
            old = (str(identity[0]), str(identity[1]))
            new = (str(fields.get("schema", old[0])), str(fields.get("name", old[1])))
            moved[old] = new
            meta["tables"][_quoted(*old)] = _quoted(*new)
        elif entity == "columns" and len(identity) == 3:
            table = (str(identity[0]), str(identity[1]))
            new_table = moved.get(table, table)
            meta["columns"][_quoted(*table, identity[2])] = _quoted(*new_table, fields.get("name", identity[2]))
    return meta
