"""A fingerprint of the user schema, to compare databases after crashes and failures."""

from __future__ import annotations

import psycopg

FINGERPRINT = """
select 'rel ' || c.relkind::text || ' ' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where n.nspname = 'public'
union all
select 'col ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' '
       || a.attnotnull::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
  from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
  left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
 where n.nspname = 'public' and a.attnum > 0 and not a.attisdropped
union all
select 'con ' || conname || ' ' || pg_get_constraintdef(oid) from pg_constraint
 where connamespace = 'public'::regnamespace
union all
select 'enum ' || t.typname || ' ' || e.enumlabel || ' ' || e.enumsortorder::text
  from pg_enum e join pg_type t on t.oid = e.enumtypid
union all
select 'fn ' || p.proname from pg_proc p where p.pronamespace = 'public'::regnamespace
union all
select 'trg ' || tgname from pg_trigger where not tgisinternal
order by 1
"""


def fingerprint(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(FINGERPRINT).fetchall()]
