"""Round trip for every migration of the example workspace: migrate, conform, roll back, conform, migrate again.

For k = 0…7: migrate to k and the schema conforms to snapshot k; roll back one
step and it conforms to snapshot k-1 (an empty schema for k = 0); migrate to k
again and the catalog is exactly what it was the first time.
"""

from __future__ import annotations

import psycopg
import pytest

from drizzle_ops.engine import rollback, runner
from drizzle_ops.engine.rollback import RollbackChoice
from drizzle_ops.engine.states import PlanOptions
from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.verify.conformance import check_conformance
from tests.helpers import EXAMPLE, ROOT, rows

ROLLBACK_DIR = ROOT / "sql" / "rollback"
WORKSPACE = load_workspace(EXAMPLE)

# Everything a migration or a down file can change in user schemas, free of OIDs and attnums.
CATALOG = """
with user_ns as (
    select oid, nspname from pg_namespace
    where nspname not in ('pg_catalog', 'information_schema', 'pg_toast', %(skip)s)
      and nspname !~ '^pg_(toast_)?temp_'
)
select 'schema ' || nspname from user_ns
union all
select 'rel ' || n.nspname || '.' || c.relname || ' ' || c.relkind::text
  from pg_class c join user_ns n on n.oid = c.relnamespace
union all
select 'col ' || n.nspname || '.' || c.relname || ' #'
       || row_number() over (partition by a.attrelid order by a.attnum) || ' ' || a.attname || ' '
       || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text || ' '
       || coalesce(pg_get_expr(d.adbin, d.adrelid), '-') || ' ' || a.attidentity::text || a.attgenerated::text
  from pg_attribute a join pg_class c on c.oid = a.attrelid join user_ns n on n.oid = c.relnamespace
  left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
 where c.relkind in ('r', 'p', 'v', 'm') and a.attnum > 0 and not a.attisdropped
union all
select 'con ' || n.nspname || '.' || c.relname || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
  from pg_constraint k join pg_class c on c.oid = k.conrelid join user_ns n on n.oid = c.relnamespace
union all
select 'idx ' || pg_get_indexdef(i.indexrelid)
  from pg_index i join pg_class c on c.oid = i.indrelid join user_ns n on n.oid = c.relnamespace
union all
select 'enum ' || n.nspname || '.' || t.typname || ' '
       || array_to_string(array(select e.enumlabel from pg_enum e where e.enumtypid = t.oid
                                order by e.enumsortorder), ',')
  from pg_type t join user_ns n on n.oid = t.typnamespace where t.typtype = 'e'
union all
select 'fn ' || pg_get_functiondef(p.oid)
  from pg_proc p join user_ns n on n.oid = p.pronamespace where p.prokind = 'f'
union all
select 'trg ' || pg_get_triggerdef(t.oid) from pg_trigger t where not t.tgisinternal
order by 1
"""


def catalog(url: str, skip_schema: str = "drizzle") -> list[str]:
    """The user schema as sorted lines; the bookkeeping schema is left out (compare its rows instead)."""
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(CATALOG, {"skip": skip_schema}).fetchall()]


def differences(conn: psycopg.Connection, k: int) -> list[str]:
    """Conformance with snapshot k (k = -1: nothing applied, so an empty schema)."""
    head = WORKSPACE.migrations[k] if k >= 0 else None
    return [str(d) for d in check_conformance(conn, WORKSPACE, head).differences]


@pytest.mark.parametrize("k", range(len(WORKSPACE.migrations)), ids=[m.tag for m in WORKSPACE.migrations])
def test_round_trip(empty_db: str, k: int) -> None:
    tag = WORKSPACE.migrations[k].tag
    with psycopg.connect(empty_db, autocommit=True) as conn:
        runner.migrate(conn, WORKSPACE, PlanOptions(to=tag))
        assert differences(conn, k) == []
        first = catalog(empty_db)
        first_rows = rows(empty_db)

        undone = rollback.rollback(conn, WORKSPACE, ROLLBACK_DIR, RollbackChoice(steps=1))
        assert [r.tag for r in undone.rolled_back] == [tag]
        assert differences(conn, k - 1) == []
        assert rows(empty_db) == first_rows[:-1]

        again = runner.migrate(conn, WORKSPACE, PlanOptions(to=tag))
        assert [a.tag for a in again.applied] == [tag]
        assert differences(conn, k) == []
    assert catalog(empty_db) == first
    assert rows(empty_db) == first_rows


def test_every_migration_has_a_down_file() -> None:
    files = rollback.load_down_files(ROLLBACK_DIR, [m.tag for m in WORKSPACE.migrations])
    assert sorted(files) == [m.tag for m in WORKSPACE.migrations]
    assert all(f.text.startswith("-- Undo ") for f in files.values())  # each says what it undoes
