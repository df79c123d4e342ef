"""What migrations ask of the server besides bookkeeping: timeouts, invalid indexes, the likely blocker, table sizes,
standbys' replay lag."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql


def set_local_timeouts(conn: psycopg.Connection, *, lock_timeout: str | None, statement_timeout: str | None) -> None:
    """Limits for the current transaction only (set_config(..., true) is SET LOCAL)."""
    for name, value in (("lock_timeout", lock_timeout), ("statement_timeout", statement_timeout)):
        if value:
            conn.execute("select set_config(%s, %s, true)", [name, str(value)])


def local_timeouts_sql(
    conn: psycopg.Connection, *, lock_timeout: str | None, statement_timeout: str | None
) -> list[str]:
    """:func:`set_local_timeouts` as literal statements, to travel inside one simple query."""
    return [
        sql.SQL("select set_config({}, {}, true)").format(sql.Literal(name), sql.Literal(str(value))).as_string(conn)
        for name, value in (("lock_timeout", lock_timeout), ("statement_timeout", statement_timeout))
        if value
    ]


def set_session_timeouts(conn: psycopg.Connection, *, lock_timeout: str | None, statement_timeout: str | None) -> None:
    """For statements run outside a transaction; "0" turns a limit off again."""
    for name, value in (("lock_timeout", lock_timeout), ("statement_timeout", statement_timeout)):
        if value:
            conn.execute("select set_config(%s, %s, false)", [name, str(value)])


def session_timeouts(conn: psycopg.Connection) -> dict[str, str | None]:
    row = conn.execute("select current_setting('lock_timeout'), current_setting('statement_timeout')").fetchone()
    return {"lock_timeout": row[0] if row else None, "statement_timeout": row[1] if row else None}


def index_is_invalid(conn: psycopg.Connection, schema: str | None, name: str) -> bool:
    row = conn.execute(
        """
        select not i.indisvalid
        from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
        where c.relname = %s and n.nspname = coalesce(%s, current_schema())
        """,
        [name, schema],
    ).fetchone()
    return bool(row and row[0])


def drop_index_concurrently(conn: psycopg.Connection, schema: str | None, name: str) -> None:
    target = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name)) if schema else sql.Identifier(name)
    conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(target))


def likely_blocker(conn: psycopg.Connection) -> str | None:
    """After a lock timeout: the oldest other transaction holding table locks in this database.

    The waiter is gone by now, so pg_blocking_pids() can't say; the oldest
    lock-holding transaction is almost always the culprit.
    """
    row = conn.execute(
        r"""
        select a.pid, coalesce(nullif(a.application_name, ''), a.usename::text), a.state,
               left(regexp_replace(a.query, '\s+', ' ', 'g'), 120)
        from pg_stat_activity a
        where a.pid <> pg_backend_pid() and a.datname = current_database() and a.xact_start is not null
          and exists (select 1 from pg_locks l where l.pid = a.pid and l.granted and l.locktype = 'relation')
        order by a.xact_start
        limit 1
        """
    ).fetchone()
    if row is None:
        return None
    pid, who, state, query = row
    return f"pid {pid} ({who}, {state}): {query}"


# -- table statistics for plans ------------------------------------------------------------------


@dataclass(frozen=True)
class TableStats:
    rows: int  # the planner's estimate, or an exact count when the table was never analysed
    bytes: int  # table, indexes and TOAST
    exact: bool


def table_stats(conn: psycopg.Connection, schema: str, table: str) -> TableStats | None:
    """None when the table does not exist (yet)."""
    row = conn.execute(
        """
        select c.reltuples::bigint, pg_total_relation_size(c.oid), pg_relation_size(c.oid)
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and c.relname = %s and c.relkind in ('r', 'p')
        """,
        [schema, table],
    ).fetchone()
    if row is None:
        return None
    estimate, total, heap = row
    if estimate >= 0 and not (estimate == 0 and heap > 0):
        return TableStats(int(estimate), int(total), exact=False)
    # never analysed (reltuples -1, or 0 with pages): count, unless that would be slow itself
    if heap > 1 << 30:
        return TableStats(-1, int(total), exact=False)
    counted = conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table))).fetchone()
    return TableStats(int(counted[0]) if counted else 0, int(total), exact=True)


# -- standbys, for a batch migration's max-lag --------------------------------------------------------

LAG_SQL = """
select count(*) filter (where state is null), max(extract(epoch from replay_lag))::float8
from pg_stat_replication
"""


@dataclass(frozen=True)
class Lag:
    seconds: float | None  # the largest replay lag of the standbys we may see; None: none, or all caught up
    hidden: int  # standbys whose details this role may not read (no pg_read_all_stats)


def replication_lag(conn: psycopg.Connection) -> Lag:
    """The standbys' replay lag, from ``pg_stat_replication`` (no standby: nothing, so never a wait)."""
    row = conn.execute(LAG_SQL).fetchone()
    if row is None:
        return Lag(None, 0)
    return Lag(float(row[1]) if row[1] is not None else None, int(row[0] or 0))
