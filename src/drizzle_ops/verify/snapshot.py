"""A drizzle-kit 0.31 snapshot (v7 JSON), as ``snapshot_reader`` reads it, in the common schema model.

Only what the snapshot promises the database holds is kept, spelled the way
PostgreSQL's format_type() spells it, so the comparison is between like and like.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from drizzle_ops import snapshot_reader
from drizzle_ops.errors import UserError
from drizzle_ops.snapshot_reader import default_of, default_sql, fk_action, fk_target, split_array
from drizzle_ops.verify import model
from drizzle_ops.verify.identifiers import as_stored, truncate
from drizzle_ops.verify.storage_rules import split_collation

SERIALS = {
    "serial": "integer",
    "serial4": "integer",
    "bigserial": "bigint",
    "serial8": "bigint",
    "smallserial": "smallint",
    "serial2": "smallint",
}
_ALIASES = {
    "int": "integer",
    "int4": "integer",
    "int2": "smallint",
    "int8": "bigint",
    "decimal": "numeric",
    "float4": "real",
    "float8": "double precision",
    "float": "double precision",
    "bool": "boolean",
    "varchar": "character varying",
    "char": "character",
    "bpchar": "character",
    "timestamptz": "timestamp with time zone",
    "timetz": "time with time zone",
    "varbit": "bit varying",
    **SERIALS,
}
_TYPE = re.compile(
    r"^(?P<head>[a-z_][a-z0-9_ ]*?)\s*(?:\((?P<mod>[^)]*)\))?(?P<tail>(?:\s+with(?:out)?\s+time\s+zone)?)$"
)
_SIMPLE_IDENT = re.compile(r"^[a-z_][a-z0-9_$]*$")


def quote_ident(name: str) -> str:
    """Quote like PostgreSQL's quote_ident (reserved words aside): only when needed."""
    return name if _SIMPLE_IDENT.match(name) else '"' + name.replace('"', '""') + '"'


def normalise_type(type_: str) -> str:
    """A built-in type spelled as format_type() spells it.

    'numeric(10, 2)' -> 'numeric(10,2)', 'varchar' -> 'character varying', 'timestamp (3)' ->
    'timestamp(3) without time zone'.
    """
    base, array = split_array(type_.lower())
    base = re.sub(r"\s+", " ", base)
    match = _TYPE.match(base)
    if match is None:
        return re.sub(r"\s*,\s*", ",", base) + ("[]" if array else "")
    head = _ALIASES.get(match["head"], match["head"])
    mod = re.sub(r"\s+", "", match["mod"]) if match["mod"] is not None else None
    tail = re.sub(r"\s+", " ", match["tail"]).strip()
    if head in ("timestamp", "time") and not tail:
        tail = "without time zone"
    if head in ("character", "bit") and not mod:
        mod = "1"  # char and bit without a length mean length 1
    text = head + (f"({mod})" if mod else "") + (f" {tail}" if tail else "")
    return text + ("[]" if array else "")


def column_from_snapshot(raw: dict[str, Any], enum_schemas: dict[str, set[str]]) -> model.Column:
    """A column as a snapshot describes it (v7's column objects; snapshot_v1 passes v9 rows shaped alike)."""
    type_raw, collation = split_collation(str(raw.get("type", "")))
    base, array = split_array(type_raw)
    type_schema = raw.get("typeSchema")
    if not type_schema and len(enum_schemas.get(base, ())) == 1:
        type_schema = next(iter(enum_schemas[base]))  # an enum named without its schema (older snapshots)
    serial = base.lower() in SERIALS and not array
    if type_schema:
        # the type's name as the server stores it (cut to 63 bytes), then quoted as format_type() quotes it
        type_ = f"{quote_ident(truncate(type_schema))}.{quote_ident(truncate(base))}" + ("[]" if array else "")
    else:
        type_ = normalise_type(type_raw)
    identity = raw.get("identity")
    generated = raw.get("generated")
    return model.Column(
        name=str(raw["name"]),
        type=type_,
        type_qualified=bool(type_schema),
        not_null=bool(raw.get("notNull", False)),
        default=None if generated or serial else default_of(raw),
        serial=serial,
        identity=str(identity.get("type")) if isinstance(identity, dict) else None,
        generated=str(generated.get("as")) if isinstance(generated, dict) else None,
        collation=collation,
    )


def _index(raw: dict[str, Any]) -> model.Index:
    columns = []
    for col in raw.get("columns", []):
        opclass = col.get("opclass") or None
        desc = not col.get("asc", True)
        nulls = col.get("nulls")
        nulls_first = nulls == "first" if nulls else desc
        if opclass:
            # drizzle-kit writes only the operator class then, never DESC or NULLS
            desc, nulls_first = False, False
        columns.append(
            model.IndexColumn(
                expression=str(col["expression"]),
                is_expression=bool(col.get("isExpression", False)),
                desc=desc,
                nulls_first=nulls_first,
                opclass=opclass,
            )
        )
    with_ = raw.get("with") or {}
    return index_from_snapshot(
        raw, columns, ((str(k).lower(), "" if v is None else default_sql(v)) for k, v in with_.items())
    )


def index_from_snapshot(
    raw: Mapping[str, Any], columns: Iterable[model.IndexColumn], with_: Iterable[tuple[str, str]]
) -> model.Index:
    """An index as a snapshot describes it (a v7 index or a v1 row: name, isUnique, method and where alike)."""
    return model.Index(
        name=str(raw["name"]),
        columns=tuple(columns),
        unique=bool(raw.get("isUnique", False)),
        method=str(raw.get("method") or "btree").lower(),
        where=raw.get("where") or None,
        with_=tuple(sorted(with_)),
    )


def _table(read: snapshot_reader.Table, enum_schemas: dict[str, set[str]]) -> model.Table:
    table = model.Table(schema=read.key[0], name=read.key[1])
    for col in read.columns.values():
        column = column_from_snapshot(col, enum_schemas)
        table.columns[column.name] = column
    if read.pk is not None:
        table.primary_key = model.PrimaryKey(*read.pk)
    for idx in read.indexes.values():
        index = _index(idx)
        table.indexes[index.name] = index
    for name, fk in read.fks.items():
        target_schema, target_table = fk_target(fk)
        table.foreign_keys[name] = model.ForeignKey(
            name=name,
            columns=tuple(fk.get("columnsFrom", [])),
            target_schema=target_schema,
            target_table=target_table,
            target_columns=tuple(fk.get("columnsTo", [])),
            on_delete=fk_action(fk.get("onDelete")),
            on_update=fk_action(fk.get("onUpdate")),
        )
    for name, uq in read.uniques.items():
        table.uniques[name] = model.UniqueConstraint(
            name, tuple(uq.get("columns", [])), bool(uq.get("nullsNotDistinct", False))
        )
    for name, ck in read.checks.items():
        table.checks[name] = model.CheckConstraint(name, str(ck["value"]))
    return table


def from_snapshot(snapshot: dict[str, Any], source: str = "snapshot") -> model.Schema:
    """The schema a snapshot describes, names cut as PostgreSQL stores them; ``source`` names the file in errors."""
    try:
        read = snapshot_reader.read_snapshot(snapshot)
        schema = model.Schema(schemas={model.PUBLIC, *read.schemas})
        enum_schemas: dict[str, set[str]] = {}
        for key, values in read.enums.items():
            schema.enums[key] = values
            enum_schemas.setdefault(key[1], set()).add(key[0])
            schema.schemas.add(key[0])
        for raw in read.tables.values():
            table = _table(raw, enum_schemas)
            schema.tables[(table.schema, table.name)] = table
            schema.schemas.add(table.schema)
        for key in read.sequences:
            schema.sequences.add(key)
            schema.schemas.add(key[0])
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise UserError(
            f"{source} is not a drizzle-kit v7 snapshot ({type(exc).__name__}: {exc}); regenerate it with drizzle-kit"
        ) from None
    return as_stored(schema)
