"""Read the live schema from pg_catalog into the common model.

The caller sets ``search_path = pg_catalog`` first, so format_type() and
pg_get_expr() qualify every user type the same way whatever the session's
search_path was. Objects that belong to an extension are not ours to check.
"""

from __future__ import annotations

from typing import Any

import psycopg

from drizzle_ops.verify.model import (
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
from drizzle_ops.verify.storage_rules import collation_name

_USER_SCHEMA = """
    n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and n.nspname !~ '^pg_(toast_)?temp_'
"""


def _not_extension(catalog: str, oid: str) -> str:
    return (
        f"not exists (select 1 from pg_depend e where e.classid = '{catalog}'::regclass "
        f"and e.objid = {oid} and e.deptype = 'e')"
    )


_SCHEMAS = f"""
    select n.nspname from pg_namespace n
    where {_USER_SCHEMA} and {_not_extension("pg_namespace", "n.oid")}
"""

_TABLES = f"""
    select c.oid, n.nspname, c.relname
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and not c.relispartition and {_USER_SCHEMA}
      and {_not_extension("pg_class", "c.oid")}
"""

_COLUMNS = """
    select a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
           pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
           tn.nspname <> 'pg_catalog', t.typtype = 'd',
           -- a collation other than the type's own (format_type never shows one)
           case when a.attcollation <> t.typcollation then cn.nspname end, co.collname
    from pg_attribute a
    join pg_type t on t.oid = a.atttypid
    join pg_namespace tn on tn.oid = t.typnamespace  -- an array type lives in its element's schema
    left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    left join pg_collation co on co.oid = a.attcollation and a.attcollation <> t.typcollation
    left join pg_namespace cn on cn.oid = co.collnamespace
    where a.attrelid = any(%(tables)s) and a.attnum > 0 and not a.attisdropped
    order by a.attrelid, a.attnum
"""

_CONSTRAINTS = """
    select c.conrelid, c.conname, c.contype,
           array(select a.attname from unnest(c.conkey) with ordinality k(num, ord)
                 join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.num order by k.ord),
           fn.nspname, fc.relname,
           array(select a.attname from unnest(c.confkey) with ordinality k(num, ord)
                 join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.num order by k.ord),
           c.confdeltype, c.confupdtype, pg_get_constraintdef(c.oid, true),
           {nulls_not_distinct}
    from pg_constraint c
    left join pg_class fc on fc.oid = c.confrelid
    left join pg_namespace fn on fn.oid = fc.relnamespace
    where c.conrelid = any(%(tables)s) and c.contype in ('p', 'u', 'f', 'c')
"""

_INDEXES = """
    select i.indrelid, ic.relname, am.amname, i.indisunique,
           array(select i.indkey[k - 1] = 0 from generate_series(1, i.indnkeyatts) k order by k),
           array(select case when i.indkey[k - 1] = 0 then pg_get_indexdef(i.indexrelid, k, true)
                             else (select a.attname from pg_attribute a
                                   where a.attrelid = i.indrelid and a.attnum = i.indkey[k - 1]) end
                 from generate_series(1, i.indnkeyatts) k order by k),
           array(select i.indoption[k - 1] from generate_series(1, i.indnkeyatts) k order by k),
           array(select o.opcname from generate_series(1, i.indnkeyatts) k
                 join pg_opclass o on o.oid = i.indclass[k - 1] order by k),
           pg_get_expr(i.indpred, i.indrelid, true), coalesce(ic.reloptions, '{}')
    from pg_index i
    join pg_class ic on ic.oid = i.indexrelid
    join pg_am am on am.oid = ic.relam
    where i.indrelid = any(%(tables)s)
      and not exists (select 1 from pg_constraint c
                      where c.conindid = i.indexrelid and c.conrelid = i.indrelid and c.contype in ('p', 'u', 'x'))
"""

_ENUMS = f"""
    select n.nspname, t.typname,
           array(select e.enumlabel from pg_enum e where e.enumtypid = t.oid order by e.enumsortorder)
    from pg_type t join pg_namespace n on n.oid = t.typnamespace
    where t.typtype = 'e' and {_USER_SCHEMA} and {_not_extension("pg_type", "t.oid")}
"""

# sequences a serial or identity column owns are part of that column, not objects of their own
_SEQUENCES = f"""
    select n.nspname, c.relname
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind = 'S' and {_USER_SCHEMA} and {_not_extension("pg_class", "c.oid")}
      and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid
                      and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i'))
"""

_ACTIONS = {"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}
_IDENTITY = {"a": "always", "d": "byDefault"}


def read_catalog(conn: psycopg.Connection) -> Schema:
    """Everything in the user schemas of the current database (search_path must be pg_catalog)."""
    model = Schema()
    model.schemas = {r[0] for r in conn.execute(_SCHEMAS)}
    by_oid: dict[int, Table] = {}
    for oid, schema, name in conn.execute(_TABLES):
        table = Table(schema=schema, name=name)
        by_oid[oid] = table
        model.tables[(schema, name)] = table
    params: dict[str, Any] = {"tables": list(by_oid)}
    for row in conn.execute(_COLUMNS, params):
        relid, name, type_, not_null, default, identity, generated, user_type, domain, coll_schema, coll_name = row
        by_oid[relid].columns[name] = Column(
            name=name,
            type=type_,
            type_qualified=bool(user_type),
            not_null=not_null,
            default=None if generated else default,
            identity=_IDENTITY.get(identity),
            generated=default if generated else None,
            collation=collation_name(coll_schema, coll_name) if coll_schema else None,
            domain=bool(domain),
        )
    nulls = "(select x.indnullsnotdistinct from pg_index x where x.indexrelid = c.conindid)"
    query = _CONSTRAINTS.format(nulls_not_distinct=nulls if conn.info.server_version >= 150000 else "null::bool")
    for row in conn.execute(query, params):
        relid, name, kind, columns, fschema, ftable, fcolumns, on_delete, on_update, definition, nnd = row
        table = by_oid[relid]
        if kind == "p":
            table.primary_key = PrimaryKey(name, tuple(columns))
        elif kind == "u":
            table.uniques[name] = UniqueConstraint(name, tuple(columns), nnd)
        elif kind == "f":
            table.foreign_keys[name] = ForeignKey(
                name, tuple(columns), fschema, ftable, tuple(fcolumns), _ACTIONS[on_delete], _ACTIONS[on_update]
            )
        else:
            table.checks[name] = CheckConstraint(name, definition)
    for relid, name, method, unique, is_expr, exprs, options, opclasses, where, reloptions in conn.execute(
        _INDEXES, params
    ):
        columns = tuple(
            IndexColumn(expression=e, is_expression=x, desc=bool(o & 1), nulls_first=bool(o & 2), opclass=c)
            for x, e, o, c in zip(is_expr, exprs, options, opclasses, strict=True)
        )
        with_ = tuple(sorted((k, v) for k, _, v in (opt.lower().partition("=") for opt in reloptions)))
        by_oid[relid].indexes[name] = Index(name, columns, unique, method, where, with_)
    for schema, name, values in conn.execute(_ENUMS):
        model.enums[(schema, name)] = tuple(values)
    model.sequences = {(s, n) for s, n in conn.execute(_SEQUENCES)}
    return model
