"""One shape for a schema, whether read from a Drizzle snapshot or from pg_catalog.

Names are kept as they are (no quoting). Expressions keep the text of their
source: the snapshot's SQL on one side, PostgreSQL's deparsed form on the other;
compare.py decides when two texts mean the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PUBLIC = "public"


def display(schema: str, name: str) -> str:
    """How an object is named in a report: bare in public, schema-qualified elsewhere."""
    return name if schema == PUBLIC else f"{schema}.{name}"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # normalised spelling; user types as schema.name when the schema is known
    type_qualified: bool  # False when the snapshot named a non-builtin type without its schema
    not_null: bool
    default: str | None
    serial: bool = False  # snapshot said serial/bigserial/smallserial: a nextval default is expected
    identity: str | None = None  # "always" | "byDefault"
    generated: str | None = None  # the generation expression of a stored generated column
    collation: str | None = None  # a collation other than the type's default ("C", "schema.name" outside pg_catalog)
    domain: bool = False  # the column's type is a domain (known from the catalog only)


@dataclass(frozen=True)
class IndexColumn:
    expression: str  # the column name, or the expression's text
    is_expression: bool
    desc: bool = False
    nulls_first: bool = False
    opclass: str | None = None  # compared only when the snapshot names one


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[IndexColumn, ...]
    unique: bool
    method: str
    where: str | None
    with_: tuple[tuple[str, str], ...] = ()  # storage parameters, sorted


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    target_schema: str
    target_table: str
    target_columns: tuple[str, ...]
    on_delete: str  # "no action" | "restrict" | "cascade" | "set null" | "set default"
    on_update: str


@dataclass(frozen=True)
class UniqueConstraint:
    name: str
    columns: tuple[str, ...]
    nulls_not_distinct: bool | None  # None when the server is too old to say (before PostgreSQL 15)


@dataclass(frozen=True)
class CheckConstraint:
    name: str
    expression: str


@dataclass(frozen=True)
class PrimaryKey:
    name: str | None  # None: PostgreSQL chose it (a column-level primary key)
    columns: tuple[str, ...]


@dataclass
class Table:
    schema: str
    name: str
    columns: dict[str, Column] = field(default_factory=dict)
    primary_key: PrimaryKey | None = None
    indexes: dict[str, Index] = field(default_factory=dict)
    foreign_keys: dict[str, ForeignKey] = field(default_factory=dict)
    uniques: dict[str, UniqueConstraint] = field(default_factory=dict)
    checks: dict[str, CheckConstraint] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return display(self.schema, self.name)


@dataclass
class Schema:
    schemas: set[str] = field(default_factory=set)
    tables: dict[tuple[str, str], Table] = field(default_factory=dict)
    enums: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    sequences: set[tuple[str, str]] = field(default_factory=set)
