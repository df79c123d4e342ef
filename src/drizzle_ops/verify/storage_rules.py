"""PostgreSQL's own storage rules, applied before a snapshot and the catalog are compared.

Each rule forgives a difference only where PostgreSQL stores the snapshot's
promise in another form with the same behaviour; the comment on each rule says
which server behaviour it relies on.
"""

from __future__ import annotations

import re

from drizzle_ops.verify.expressions import loose
from drizzle_ops.verify.model import Column, Table, UniqueConstraint

_COLLATE = re.compile(
    r'\s+collate\s+(?P<name>"(?:[^"]|"")*"|[a-z_][a-z0-9_$]*)(?:\s*\.\s*(?P<more>"(?:[^"]|"")*"|[a-z_][a-z0-9_$]*))?\s*$',
    re.IGNORECASE,
)


def absorbed_unique(expected: Table, actual: Table, unique: UniqueConstraint) -> bool:
    """Rule A: a UNIQUE on exactly the primary key's columns, written in the same CREATE TABLE.

    PostgreSQL (transformIndexConstraints) builds no index for it: the primary key
    already enforces it. An unnamed primary key (a column-level PRIMARY KEY) takes the
    unique's name; a named one keeps its own. NULLS NOT DISTINCT, another column order
    or a later ALTER TABLE … ADD CONSTRAINT … UNIQUE each give a separate constraint,
    so only the missing unique that matches all of this is forgiven. With a named key
    the catalog cannot tell an absorbed unique from one added later and dropped; both
    leave the same rows allowed, so neither changes behaviour.
    """
    want, have = expected.primary_key, actual.primary_key
    if want is None or have is None or unique.name in actual.uniques or unique.nulls_not_distinct:
        return False
    if not (unique.columns == want.columns == have.columns):
        return False
    return have.name == unique.name if want.name is None else have.name == want.name


def null_default(default: str | None, column: Column) -> str | None:
    """Rule B: a NULL default on a column that is not of a domain type means no default.

    PostgreSQL stores nothing for a default that coerces to a NULL constant (plain
    text, integer, uuid, jsonb, enums), and `NULL::<type>` when the coercion is not a
    constant: a type modifier (varchar(n), char(n), numeric(p,s), timestamp(p), arrays
    of those) adds a length coercion. Both insert NULL. A domain's NULL default is
    kept as a CoerceToDomain and overrides the domain's own default, so for a domain
    column it is never dropped: a difference there changes what an insert stores.
    """
    if default is not None and not column.domain and loose(default) == "null":
        return None
    return default


def split_collation(type_: str) -> tuple[str, str | None]:
    """Rule C, snapshot side: 'text COLLATE "C"' -> ('text', 'C').

    PostgreSQL keeps a column's collation in pg_attribute.attcollation, apart from
    its type (format_type() never shows it). A quoted name keeps its case ("C" and
    "c" are different collations); an unquoted one folds to lower case, as the
    parser folds it. COLLATE "default" is the type's own collation, so it is none.
    """
    match = _COLLATE.search(type_)
    if match is None:
        return type_, None
    parts = [p for p in (match["name"], match["more"]) if p]
    names = [p[1:-1].replace('""', '"') if p.startswith('"') else p.lower() for p in parts]
    if names in (["default"], ["pg_catalog", "default"]):
        return type_[: match.start()], None
    return type_[: match.start()], collation_name(*names) if len(names) == 2 else names[0]


def collation_name(schema: str, name: str) -> str:
    """How a collation is named in the model: bare in pg_catalog, else "schema"."name" (both always quoted)."""
    if schema == "pg_catalog":
        return name
    return ".".join('"' + part.replace('"', '""') + '"' for part in (schema, name))


def collations_equal(expected: str | None, actual: str | None) -> bool:
    """Rule C, compared. A snapshot naming a collation outside pg_catalog without its schema
    matches it by name: the migration resolved it through the search_path."""
    if expected == actual:
        return True
    if expected is None or actual is None or expected.startswith('"') or not actual.startswith('"'):
        return False
    return actual.endswith('."' + expected.replace('"', '""') + '"')
