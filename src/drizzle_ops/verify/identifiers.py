"""Names as PostgreSQL stores them: at most 63 bytes (NAMEDATALEN - 1).

The server cuts a longer identifier silently (with a NOTICE), and never in the
middle of a multibyte character. A Drizzle snapshot keeps the name it asked
for, e.g. a composite foreign key ``<table>_<col>_<col>_<table>_<col>_<col>_fk``,
so the snapshot side is cut the same way before it is compared.
"""

from __future__ import annotations

from dataclasses import replace

from drizzle_ops.verify.model import Column, ForeignKey, Index, IndexColumn, PrimaryKey, Schema, Table

MAX_BYTES = 63  # NAMEDATALEN - 1 in every PostgreSQL build we know of


def truncate(name: str) -> str:
    """``name`` cut to 63 UTF-8 bytes at a character boundary, as the server's truncate_identifier does."""
    encoded = name.encode("utf-8")
    if len(encoded) <= MAX_BYTES:
        return name
    # 'ignore' drops the partial character the byte cut leaves at the end
    return encoded[:MAX_BYTES].decode("utf-8", errors="ignore")


def _names(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(truncate(n) for n in names)


def _column(column: Column) -> Column:
    return replace(column, name=truncate(column.name))


def _index(index: Index) -> Index:
    columns = tuple(
        c if c.is_expression else IndexColumn(truncate(c.expression), False, c.desc, c.nulls_first, c.opclass)
        for c in index.columns
    )
    return replace(index, name=truncate(index.name), columns=columns)


def _foreign_key(fk: ForeignKey) -> ForeignKey:
    return replace(
        fk,
        name=truncate(fk.name),
        columns=_names(fk.columns),
        target_schema=truncate(fk.target_schema),
        target_table=truncate(fk.target_table),
        target_columns=_names(fk.target_columns),
    )


def _table(table: Table) -> Table:
    stored = Table(schema=truncate(table.schema), name=truncate(table.name))
    for column in table.columns.values():
        stored.columns[truncate(column.name)] = _column(column)
    if table.primary_key is not None:
        pk = table.primary_key
        stored.primary_key = PrimaryKey(truncate(pk.name) if pk.name else None, _names(pk.columns))
    for index in table.indexes.values():
        stored.indexes[truncate(index.name)] = _index(index)
    for fk in table.foreign_keys.values():
        stored.foreign_keys[truncate(fk.name)] = _foreign_key(fk)
    for uq in table.uniques.values():
        stored.uniques[truncate(uq.name)] = replace(uq, name=truncate(uq.name), columns=_names(uq.columns))
    for ck in table.checks.values():
        stored.checks[truncate(ck.name)] = replace(ck, name=truncate(ck.name))
    return stored


def as_stored(schema: Schema) -> Schema:
    """``schema`` with every identifier it holds cut as PostgreSQL would cut it.

    Enum labels are not identifiers: the server refuses a label over 63 bytes
    instead of cutting it. User type names inside column types are cut where
    the column is read (snapshot.column_from_snapshot), since there they are
    still separate from the quoting.
    """
    stored = Schema(schemas={truncate(s) for s in schema.schemas})
    for table in schema.tables.values():
        copy = _table(table)
        stored.tables[(copy.schema, copy.name)] = copy
    stored.enums = {(truncate(s), truncate(n)): values for (s, n), values in schema.enums.items()}
    stored.sequences = {(truncate(s), truncate(n)) for s, n in schema.sequences}
    return stored
