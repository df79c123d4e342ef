"""The SQL of one object, from its snapshot entry, written the way drizzle-kit writes it.

Identifiers are quoted with ``psycopg.sql.Identifier``; types, defaults and
expressions are the snapshot's own SQL text. Tables are always schema-qualified.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from psycopg import sql

from drizzle_ops.down_draft.snapshot import enum_named
from drizzle_ops.snapshot_reader import PUBLIC, Key, Table, default_sql, fk_target

MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1


def q(*names: str) -> str:
    return sql.Identifier(*names).as_string(None)


def lit(value: str) -> str:
    return sql.Literal(value).as_string(None)


def cols(names: Iterable[str]) -> str:
    return ",".join(q(n) for n in names)


def tref(key: Key) -> str:
    return q(*key)


def label(key: Key) -> str:
    return key[1] if key[0] == PUBLIC else f"{key[0]}.{key[1]}"


def type_sql(column: Mapping[str, Any], enums: Iterable[Key]) -> str:
    type_ = str(column.get("type", ""))
    match = re.match(r"^(.*?)((?:\[\d*\])*)$", type_)
    base, dims = (match.group(1), match.group(2)) if match else (type_, "")
    schema = column.get("typeSchema")
    if not schema:
        found = enum_named(enums, base)  # an enum named without its schema (older snapshots)
        schema = found[0] if found else None
    return f"{q(str(schema), base)}{dims}" if schema else type_


def plain_type(type_sql: str) -> str:
    """serial is a shorthand for CREATE and ADD COLUMN only; ALTER COLUMN TYPE needs the real type."""
    return {"serial": "integer", "bigserial": "bigint", "smallserial": "smallint"}.get(type_sql.lower(), type_sql)


def identity_sql(identity: Mapping[str, Any]) -> str:
    kind = "ALWAYS" if identity.get("type") == "always" else "BY DEFAULT"
    options = []
    if identity.get("name"):
        options.append(f"sequence name {q(str(identity.get('schema') or PUBLIC), str(identity['name']))}")
    for label, key in (("INCREMENT BY", "increment"), ("MINVALUE", "minValue"), ("MAXVALUE", "maxValue")):
        if identity.get(key) is not None:
            options.append(f"{label} {identity[key]}")
    for label, key in (("START WITH", "startWith"), ("CACHE", "cache")):
        if identity.get(key) is not None:
            options.append(f"{label} {identity[key]}")
    if identity.get("cycle"):
        options.append("CYCLE")
    return f"GENERATED {kind} AS IDENTITY" + (f" ({' '.join(options)})" if options else "")


def column_sql(column: Mapping[str, Any], enums: Iterable[Key], *, primary_key: bool, not_null: bool) -> str:
    parts = [q(str(column["name"])), type_sql(column, enums)]
    if primary_key:
        parts.append("PRIMARY KEY")
    generated, identity = column.get("generated"), column.get("identity")
    if isinstance(generated, Mapping):
        parts.append(f"GENERATED ALWAYS AS ({generated.get('as')}) STORED")
    elif isinstance(identity, Mapping):
        parts.append(identity_sql(identity))
    elif column.get("default") is not None:
        parts.append(f"DEFAULT {default_sql(column['default'])}")
    if not_null:
        parts.append("NOT NULL")
    return " ".join(parts)


def index_sql(table: Key, index: Mapping[str, Any]) -> str:
    keys = []
    for col in index.get("columns", []):
        text = str(col["expression"]) if col.get("isExpression") else q(str(col["expression"]))
        asc = col.get("asc", True)
        nulls = str(col.get("nulls") or ("last" if asc else "first"))
        if col.get("opclass"):
            text += f" {col['opclass']}"
        else:
            text += "" if asc else " DESC"
            if not (asc and nulls == "last"):
                text += f" NULLS {nulls.upper()}"
        keys.append(text)
    unique = "UNIQUE " if index.get("isUnique") else ""
    method = str(index.get("method") or "btree")
    statement = f"CREATE {unique}INDEX {q(str(index['name']))} ON {tref(table)} USING {method} ({','.join(keys)})"
    with_ = index.get("with") or {}
    if with_:
        statement += " WITH (" + ", ".join(f"{k}={default_sql(v)}" for k, v in with_.items()) + ")"
    if index.get("where"):
        statement += f" WHERE {index['where']}"
    return statement + ";"


def fk_sql(table: Key, fk: Mapping[str, Any]) -> str:
    target = fk_target(fk)
    on_delete, on_update = fk.get("onDelete") or "no action", fk.get("onUpdate") or "no action"
    return (
        f"ALTER TABLE {tref(table)} ADD CONSTRAINT {q(str(fk['name']))} "
        f"FOREIGN KEY ({cols(fk.get('columnsFrom', []))}) "
        f"REFERENCES {tref(target)}({cols(fk.get('columnsTo', []))}) ON DELETE {on_delete} ON UPDATE {on_update};"
    )


def unique_body(unique: Mapping[str, Any]) -> str:
    nulls = " NULLS NOT DISTINCT" if unique.get("nullsNotDistinct") else ""
    return f"UNIQUE{nulls}({cols(unique.get('columns', []))})"


def pk_body(pk: tuple[str | None, tuple[str, ...]]) -> str:
    name, columns = pk
    prefix = f"CONSTRAINT {q(name)} " if name else ""
    return f"{prefix}PRIMARY KEY({cols(columns)})"


def pk_name(table: Key, pk: tuple[str | None, tuple[str, ...]]) -> str:
    return pk[0] or f"{table[1]}_pkey"[:MAX_IDENTIFIER]


def create_table_sql(table: Table, enums: Iterable[Key]) -> str:
    inline_pk = table.pk is not None and table.pk[0] is None and len(table.pk[1]) == 1
    lines = [
        column_sql(
            col,
            enums,
            primary_key=inline_pk and table.pk is not None and name == table.pk[1][0],
            not_null=bool(col.get("notNull")),
        )
        for name, col in table.columns.items()
    ]
    if table.pk is not None and not inline_pk:
        lines.append(pk_body(table.pk))
    lines += [f"CONSTRAINT {q(n)} {unique_body(u)}" for n, u in table.uniques.items()]
    lines += [f"CONSTRAINT {q(n)} CHECK ({c.get('value')})" for n, c in table.checks.items()]
    return f"CREATE TABLE {tref(table.key)} (\n\t" + ",\n\t".join(lines) + "\n);"


def sequence_sql(key: Key, seq: Mapping[str, Any]) -> str:
    options = []
    for label, name in (
        ("INCREMENT BY", "increment"),
        ("MINVALUE", "minValue"),
        ("MAXVALUE", "maxValue"),
        ("START WITH", "startWith"),
        ("CACHE", "cache"),
    ):
        if seq.get(name) is not None:
            options.append(f"{label} {seq[name]}")
    if seq.get("cycle"):
        options.append("CYCLE")
    return f"CREATE SEQUENCE {q(*key)}" + (" " + " ".join(options) if options else "") + ";"
