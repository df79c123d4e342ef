"""Read a drizzle-kit 0.31 snapshot (v7 JSON) into the common schema model.

Only what the snapshot promises the database holds is kept, spelled the way
PostgreSQL's format_type() spells it, so the comparison is between like and like.
"""

from __future__ import annotations

import re
from typing import Any

from drizzle_ops.errors import UserError
from drizzle_ops.verify.identifiers import as_stored, truncate
from drizzle_ops.verify.model import (
    PUBLIC,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    IndexColumn,
    PrimaryKey,
    Schema,
    Table,
    UniqueConstraint,
)
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


def split_array(type_: str) -> tuple[str, bool]:
    """'text[]' -> ('text', True); PostgreSQL ignores declared dimensions, so '[][]' and '[3]' are one array."""
    base = type_.strip()
    array = False
    while True:
        match = re.search(r"\s*\[\d*\]$", base)
        if not match:
            return base, array
        base, array = base[: match.start()], True


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


def _default(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _schema_of(entry: dict[str, Any]) -> str:
    return str(entry.get("schema") or PUBLIC)


def column_from_snapshot(raw: dict[str, Any], enum_schemas: dict[str, set[str]]) -> Column:
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
    return Column(
        name=str(raw["name"]),
        type=type_,
        type_qualified=bool(type_schema),
        not_null=bool(raw.get("notNull", False)),
        default=None if generated or serial else _default(raw.get("default")),
        serial=serial,
        identity=str(identity.get("type")) if isinstance(identity, dict) else None,
        generated=str(generated.get("as")) if isinstance(generated, dict) else None,
        collation=collation,
    )


def _index(raw: dict[str, Any]) -> Index:
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
            IndexColumn(
                expression=str(col["expression"]),
                is_expression=bool(col.get("isExpression", False)),
                desc=desc,
                nulls_first=nulls_first,
                opclass=opclass,
            )
        )
    with_ = raw.get("with") or {}
    return Index(
        name=str(raw["name"]),
        columns=tuple(columns),
        unique=bool(raw.get("isUnique", False)),
        method=str(raw.get("method") or "btree").lower(),
        where=raw.get("where") or None,
        with_=tuple(sorted((str(k).lower(), _default(v) or "") for k, v in with_.items())),
    )


def _table(raw: dict[str, Any], enum_schemas: dict[str, set[str]]) -> Table:
    table = Table(schema=_schema_of(raw), name=str(raw["name"]))
    pk_columns: list[str] = []
    for col in (raw.get("columns") or {}).values():
        column = column_from_snapshot(col, enum_schemas)
        table.columns[column.name] = column
        if col.get("primaryKey"):
            pk_columns.append(column.name)
        if col.get("isUnique"):  # older snapshots kept column-level unique here
            name = str(col.get("uniqueName") or f"{table.name}_{column.name}_unique")
            table.uniques[name] = UniqueConstraint(name, (column.name,), bool(col.get("nullsNotDistinct", False)))
    composite = list((raw.get("compositePrimaryKeys") or {}).values())
    if composite:
        table.primary_key = PrimaryKey(str(composite[0].get("name") or "") or None, tuple(composite[0]["columns"]))
    elif pk_columns:
        table.primary_key = PrimaryKey(None, tuple(pk_columns))
    for idx in (raw.get("indexes") or {}).values():
        index = _index(idx)
        table.indexes[index.name] = index
    for fk in (raw.get("foreignKeys") or {}).values():
        table.foreign_keys[fk["name"]] = ForeignKey(
            name=str(fk["name"]),
            columns=tuple(fk.get("columnsFrom", [])),
            target_schema=str(fk.get("schemaTo") or PUBLIC),
            target_table=str(fk["tableTo"]),
            target_columns=tuple(fk.get("columnsTo", [])),
            on_delete=str(fk.get("onDelete") or "no action").lower(),
            on_update=str(fk.get("onUpdate") or "no action").lower(),
        )
    for uq in (raw.get("uniqueConstraints") or {}).values():
        table.uniques[uq["name"]] = UniqueConstraint(
            str(uq["name"]), tuple(uq.get("columns", [])), bool(uq.get("nullsNotDistinct", False))
        )
    for ck in (raw.get("checkConstraints") or {}).values():
        table.checks[ck["name"]] = CheckConstraint(str(ck["name"]), str(ck["value"]))
    return table


def from_snapshot(snapshot: dict[str, Any], source: str = "snapshot") -> Schema:
    """The schema a snapshot describes, names cut as PostgreSQL stores them; ``source`` names the file in errors."""
    try:
        model = Schema(schemas={PUBLIC})
        enums = snapshot.get("enums") or {}
        enum_schemas: dict[str, set[str]] = {}
        for raw in enums.values():
            schema = _schema_of(raw)
            model.enums[(schema, str(raw["name"]))] = tuple(str(v) for v in raw.get("values", []))
            enum_schemas.setdefault(str(raw["name"]), set()).add(schema)
            model.schemas.add(schema)
        for raw in (snapshot.get("tables") or {}).values():
            table = _table(raw, enum_schemas)
            model.tables[(table.schema, table.name)] = table
            model.schemas.add(table.schema)
        for raw in (snapshot.get("sequences") or {}).values():
            model.sequences.add((_schema_of(raw), str(raw["name"])))
            model.schemas.add(_schema_of(raw))
        model.schemas.update(str(s) for s in (snapshot.get("schemas") or {}).values())
    except (KeyError, TypeError, AttributeError) as exc:
        raise UserError(
            f"{source} is not a drizzle-kit v7 snapshot ({type(exc).__name__}: {exc}); regenerate it with drizzle-kit"
        ) from None
    return as_stored(model)
