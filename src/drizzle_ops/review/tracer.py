"""Trace what each pending statement really locks and rewrites, on a scratch copy.

The scratch database is made on a disposable server (never the target): the workspace is migrated
there up to the target's applied head with the engine's runner, then each pending migration runs as
migrate runs it, statement by statement, in one transaction per migration (outside one for a
non-transactional migration). After each statement the tracer reads, from the same backend:

- ``pg_locks``: the relation locks it holds (in a transaction they stay until COMMIT, so they are
  read after the statement; outside one they are gone by then, so an observer connection holding
  ACCESS SHARE on every table and an old snapshot makes the statement wait where it would wait in
  production, and reads the locks it holds and asks for while it waits);
- ``pg_class``: relations whose relfilenode changed (a rewrite), relations created;
- ``pg_constraint``: new constraints (implicit ones and NOT VALID ones) and constraints validated;
- ``pg_attribute``/``pg_attrdef``: new columns whose default calls a volatile function.

The last migration is rolled back and the scratch database dropped at the end, also after Ctrl-C
(or SIGTERM, which the edge turns into one). Its name starts with ``TRACE_PREFIX``, so a leftover of
a killed run is dropped by the next trace on that server (or goes with ``inv db.down``).

What the trace means for a deploy (its join with the static plan, verdicts, JSON) is ``verdicts.py``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict

import psycopg
from psycopg import pq, sql
from psycopg.conninfo import make_conninfo

from drizzle_ops.analysis import lockmodes
from drizzle_ops.engine import connection, runner
from drizzle_ops.engine.batching import rollback_open
from drizzle_ops.engine.outside import starts_inside_a_transaction
from drizzle_ops.engine.states import PlanOptions
from drizzle_ops.engine.transactionality import Mode, is_non_transactional, mode_of
from drizzle_ops.engine.workspace import Migration, Statement, Workspace
from drizzle_ops.errors import OperationFailed

TRACE_PREFIX = "drizzle_ops_trace_"
KIND_NAMES = {
    "r": "table",
    "p": "table",
    "m": "materialized view",
    "i": "index",
    "I": "index",
    "S": "sequence",
    "v": "view",
    "f": "foreign table",
    "c": "type",
    "t": "toast",
}
CONSTRAINT_KINDS = {
    "p": "primary key",
    "u": "unique",
    "f": "foreign key",
    "c": "check",
    "x": "exclusion",
    "n": "not null",
    "t": "trigger",
}

Log = Callable[[str], None]

_USER_NAMESPACES = """
    select oid from pg_namespace
    where nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
      and nspname not like 'pg\\_temp\\_%' and nspname not like 'pg\\_toast\\_temp\\_%'
"""

# one round trip: everything a statement can change that the trace reports
SNAPSHOT_SQL = f"""
with ns as ({_USER_NAMESPACES})
select json_build_object(
  'rels', (select coalesce(json_agg(json_build_array(
              c.oid::int8, n.nspname, c.relname, c.relkind, c.relfilenode::int8, i.indrelid::int8)), '[]')
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
           left join pg_index i on i.indexrelid = c.oid
           where c.relnamespace in (select oid from ns)),
  'locks', (select coalesce(json_agg(json_build_array(l.relation::int8, l.mode, l.granted)), '[]')
            from pg_locks l
            where l.pid = pg_backend_pid() and l.locktype = 'relation'
              and l.database = (select oid from pg_database where datname = current_database())),
  'cons', (select coalesce(json_agg(json_build_array(co.oid::int8, co.conname, co.conrelid::int8, co.contype,
              co.convalidated, co.conindid::int8)), '[]')
           from pg_constraint co where co.connamespace in (select oid from ns)),
  'cols', (select coalesce(json_agg(json_build_array(a.attrelid::int8, a.attname, exists (
              select 1 from pg_attrdef d
              cross join lateral regexp_matches(d.adbin::text, ':funcid ([0-9]+)', 'g') m
              join pg_proc p on p.oid = m[1]::oid
              where d.adrelid = a.attrelid and d.adnum = a.attnum and p.provolatile = 'v'))), '[]')
           from pg_attribute a join pg_class c on c.oid = a.attrelid
           where c.relnamespace in (select oid from ns) and c.relkind in ('r', 'p')
             and a.attnum > 0 and not a.attisdropped)
)
"""

LOCKS_OF_SQL = """
select l.relation::int8, l.mode, l.granted, l.locktype
from pg_locks l where l.pid = %s and (l.locktype <> 'relation' or l.database =
  (select oid from pg_database where datname = current_database()))
"""


@dataclass
class Relation:
    oid: int
    schema: str
    name: str
    kind: str  # pg_class.relkind
    filenode: int
    table_oid: int | None  # for an index: its table

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class Snapshot:
    rels: dict[int, Relation]
    locks: set[tuple[int, str, bool]]  # (relation oid, pg_locks mode, granted)
    cons: dict[int, tuple[str, int, str, bool, int]]  # oid -> name, table oid, kind, validated, index oid
    cols: dict[tuple[int, str], bool]  # (table oid, column) -> default is volatile

    @classmethod
    def read(cls, conn: psycopg.Connection) -> Snapshot:
        row = conn.execute(SNAPSHOT_SQL).fetchone()
        data: dict[str, Any] = row[0] if row else {}
        if isinstance(data, str):
            data = json.loads(data)
        return cls(
            rels={r[0]: Relation(r[0], r[1], r[2], r[3], r[4], r[5]) for r in data["rels"]},
            locks={(lk[0], lk[1], lk[2]) for lk in data["locks"]},
            cons={c[0]: (c[1], c[2], c[3], c[4], c[5]) for c in data["cons"]},
            cols={(c[0], c[1]): c[2] for c in data["cols"]},
        )


@dataclass
class TracedLock:
    relation: str  # schema.name
    kind: str  # table, index, sequence, …
    mode: str  # SQL spelling: ACCESS EXCLUSIVE
    granted: bool  # False: asked for and waited (seen only outside a transaction)
    new: bool  # False: held since an earlier statement of the same transaction

    @property
    def blocks(self) -> str:
        return lockmodes.blocks(self.mode)


@dataclass
class TableCheck:
    """One table's traced lock against the static prediction (``verdicts.join`` makes them)."""

    table: str
    predicted: str | None
    traced: str | None
    predicted_rewrite: bool
    traced_rewrite: bool
    verdict: str  # confirmed, mismatch, trace-only, unverified (outside a transaction, too brief to see)
    note: str = ""


class NewIndex(TypedDict):
    index: str  # schema.name
    table: str | None
    implicit: bool  # made by a constraint (primary key, unique, exclusion)
    constraint: str | None


class NewConstraint(TypedDict):
    constraint: str  # schema.table.name
    type: str  # primary key, unique, foreign key, …
    validated: bool


@dataclass
class StatementTrace:
    number: int
    line: int
    seconds: float
    in_transaction: bool
    locks: list[TracedLock] = field(default_factory=list)
    rewrites: list[str] = field(default_factory=list)  # relations given a new relfilenode
    created: list[str] = field(default_factory=list)
    new_indexes: list[NewIndex] = field(default_factory=list)
    new_constraints: list[NewConstraint] = field(default_factory=list)
    validated_constraints: list[str] = field(default_factory=list)
    volatile_columns: list[str] = field(default_factory=list)  # added to an existing table, volatile default
    error: str | None = None
    checks: list[TableCheck] = field(default_factory=list)  # filled in by ``verdicts.join``
    watched: bool = False  # seen while it ran (outside a transaction, or with its own COMMIT)

    def table_locks(self) -> dict[str, tuple[set[str], set[str]]]:
        """Per existing table: (modes taken by this statement, modes held before it)."""
        result: dict[str, tuple[set[str], set[str]]] = {}
        for lock in self.locks:
            if lock.kind not in ("table", "materialized view"):
                continue
            new, held = result.setdefault(lock.relation, (set(), set()))
            (new if lock.new else held).add(lock.mode)
        return result


@dataclass
class MigrationTrace:
    tag: str
    in_transaction: bool
    statements: list[StatementTrace] = field(default_factory=list)
    transactions: Mode = Mode.TRANSACTION  # how migrate runs it
    error: str | None = None  # the statement failed on the scratch copy: migrate would fail there too
    skipped: str | None = None  # not traced (an earlier one failed)
    batch_rows: int | None = None  # a batch migration: its first batch alone is traced, of up to this many keys

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.statements)


@dataclass
class Trace:
    server: str  # user@host:port of the scratch server, never its password
    major: int
    database: str  # the scratch database (dropped)
    head: str | None  # the target's applied head, migrated to on the scratch copy
    setup_seconds: float
    seconds: float
    migrations: list[MigrationTrace]
    dropped: bool = False

    def for_tag(self, tag: str) -> MigrationTrace | None:
        return next((m for m in self.migrations if m.tag == tag), None)


# -- the scratch database ----------------------------------------------------------------------------


def scratch_name() -> str:
    return f"{TRACE_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"


def drop_leftovers(admin: psycopg.Connection) -> list[str]:
    """Scratch databases of earlier traces that nobody is connected to (a run that was killed)."""
    names = [
        r[0]
        for r in admin.execute(
            """
            select d.datname from pg_database d
            where d.datname like %s
              and not exists (select 1 from pg_stat_activity a where a.datname = d.datname)
            """,
            [TRACE_PREFIX.replace("_", "\\_") + "%"],
        ).fetchall()
    ]
    for name in names:
        _drop(admin, name)
    return names


def _drop(admin: psycopg.Connection, name: str) -> None:
    if admin.info.server_version >= 130000:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        return
    admin.execute(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s and pid <> pg_backend_pid()",
        [name],
    )
    admin.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(name)))


def _connect(url: str, dbname: str) -> psycopg.Connection:
    try:
        return psycopg.connect(
            make_conninfo(url, dbname=dbname), autocommit=True, application_name=f"{connection.APPLICATION_NAME} trace"
        )
    except psycopg.OperationalError as exc:
        raise OperationFailed(
            f"cannot connect to the scratch database {dbname}: {connection.connect_reason(exc)}"
        ) from None


# -- tracing ------------------------------------------------------------------------------------------


def trace(
    server_url: str,
    workspace: Workspace,
    *,
    head: str | None,
    pending: list[str],
    log: Log | None = None,
    connect_timeout: int = 10,
) -> Trace:
    """Make a scratch database on ``server_url`` at ``head``, trace ``pending`` there, drop it (whatever happens)."""
    say = log or (lambda _message: None)
    started = time.perf_counter()
    admin = connection.connect(server_url, source="the scratch server", connect_timeout=connect_timeout)
    name = scratch_name()
    result: Trace | None = None
    try:
        for leftover in drop_leftovers(admin):
            say(f"dropped {leftover}, the scratch database of an earlier trace that did not finish")
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        result = Trace(
            server=f"{admin.info.user}@{admin.info.host}:{admin.info.port}",
            major=admin.info.server_version // 10000,
            database=name,
            head=head,
            setup_seconds=0.0,
            seconds=0.0,
            migrations=[],
        )
        conn = _connect(server_url, name)
        try:
            if head is not None:
                say(f"tracing on scratch database {name}: migrating it to {head} …")
                runner.migrate(conn, workspace, PlanOptions(to=head))
            result.setup_seconds = time.perf_counter() - started
            by_tag = {m.tag: m for m in workspace.migrations}
            result.migrations = trace_pending(conn, server_url, name, [by_tag[tag] for tag in pending], log=say)
        finally:
            conn.close()
        result.seconds = time.perf_counter() - started
        return result
    finally:  # also on Ctrl-C (and SIGTERM, which the edge turns into one)
        try:
            if result is not None:
                _drop(admin, name)
                result.dropped = True
        finally:
            admin.close()


def trace_pending(
    conn: psycopg.Connection,
    server_url: str,
    dbname: str,
    migrations: list[Migration],
    *,
    log: Log | None = None,
) -> list[MigrationTrace]:
    """Trace ``migrations`` on ``conn``, a connection to the scratch database ``dbname`` on ``server_url``.

    Each runs as migrate runs it; all but the last are committed (the next one needs them), the last is
    rolled back. After a failure the rest are listed as not traced.
    """
    tracer = _Tracer(conn, server_url, dbname)
    results: list[MigrationTrace] = []
    failed = False
    for index, migration in enumerate(migrations):
        if failed:
            results.append(
                MigrationTrace(
                    migration.tag, not is_non_transactional(migration), skipped="an earlier migration failed"
                )
            )
            continue
        if log is not None:
            log(f"tracing {migration.tag} …")
        traced = tracer.migration(migration, last=index == len(migrations) - 1)
        results.append(traced)
        failed = traced.error is not None
    return results


class _Tracer:
    def __init__(self, conn: psycopg.Connection, server_url: str, dbname: str) -> None:
        self.conn = conn
        self.server_url = server_url
        self.dbname = dbname

    def migration(self, migration: Migration, *, last: bool) -> MigrationTrace:
        """As migrate runs it (engine/outside.py for a file outside one transaction of ours)."""
        mode = mode_of(migration)
        if mode is Mode.BATCH:
            return self._batches(migration, last=last)
        result = MigrationTrace(migration.tag, mode is Mode.TRANSACTION, transactions=mode)
        conn = self.conn
        if mode is Mode.TRANSACTION or (mode is Mode.OWN_TRANSACTIONS and starts_inside_a_transaction(migration)):
            conn.execute("BEGIN")
        try:
            before = Snapshot.read(conn)
            for statement in migration.statements:
                inside = conn.info.transaction_status != pq.TransactionStatus.IDLE
                if inside and not _controls_transaction(statement.sql):
                    traced, before = self._in_transaction(statement, before)
                else:  # its locks may be gone when it returns: watch it while it runs
                    traced, before = self._watched(statement, before, inside)
                result.statements.append(traced)
                if traced.error:
                    result.error = f"statement {statement.number}: {traced.error}"
                    break
        except BaseException:
            if conn.info.transaction_status != pq.TransactionStatus.IDLE:
                conn.cancel()
                rollback_open(conn, quietly=True)
            raise
        if conn.info.transaction_status != pq.TransactionStatus.IDLE:
            # the next migration needs this one's work, as migrate commits it (with its row, into a transaction
            # the file left open); the last one is rolled back
            conn.execute("ROLLBACK" if last or result.error else "COMMIT")
        return result

    def _batches(self, migration: Migration, *, last: bool) -> MigrationTrace:
        """A batch migration: its first batch, as migrate runs it (engine/batch_migration.py), in its own transaction.

        Every batch takes the same locks on fewer or more rows, so one shows them. The rest of the statement then
        runs in the same transaction, unless this migration is the last one traced, so the migrations after it
        see the data as migrate leaves it.
        """
        from drizzle_ops.engine.batch_migration import boundary_sql, find_target
        from drizzle_ops.engine.batch_statement import BatchProblem, batch_statement, key_of

        conn = self.conn
        result = MigrationTrace(migration.tag, True, transactions=Mode.BATCH)
        try:
            spec = batch_statement(migration.text, migration.statements)
            target = find_target(conn, spec)
        except BatchProblem as problem:
            result.error = f"cannot run in batches: {problem.reason}"
            return result
        result.batch_rows = spec.options.rows
        conn.execute("BEGIN")
        try:
            before = Snapshot.read(conn)
            bound = conn.execute(boundary_sql(conn, spec, target, None)).fetchall()
            upto = key_of(str(bound[0][0])) if len(bound) == 2 else None
            first = Statement(spec.statement.number, spec.batch_sql(conn, target.keys, None, upto), spec.statement.line)
            traced, _after = self._in_transaction(first, before)
            result.statements.append(traced)
            if traced.error:
                result.error = f"statement {first.number}: {traced.error}"
            elif upto is not None and not last:
                conn.execute(spec.batch_sql(conn, target.keys, upto, None))
        except BaseException:
            if conn.info.transaction_status != pq.TransactionStatus.IDLE:
                conn.cancel()
                rollback_open(conn, quietly=True)
            raise
        conn.execute("ROLLBACK" if last or result.error else "COMMIT")
        return result

    def _in_transaction(self, statement: Statement, before: Snapshot) -> tuple[StatementTrace, Snapshot]:
        conn = self.conn
        traced = StatementTrace(statement.number, statement.line, 0.0, True)
        began = time.perf_counter()
        try:
            conn.execute(statement.sql)
        except psycopg.Error as exc:
            traced.seconds = time.perf_counter() - began
            traced.error = _error(exc)  # the migration's transaction is aborted: it is rolled back
            return traced, before
        traced.seconds = time.perf_counter() - began
        after = Snapshot.read(conn)
        _record(traced, before, after, after.locks)
        return traced, after

    def _watched(self, statement: Statement, before: Snapshot, in_transaction: bool) -> tuple[StatementTrace, Snapshot]:
        """Outside a transaction (or with its own COMMIT) the locks are gone when the statement returns.

        An observer holding ACCESS SHARE on every table (not those this transaction holds in ACCESS
        EXCLUSIVE already) and an old snapshot makes it wait where it would wait in production; the
        observer reads what it holds and asks for, then lets it go.
        """
        conn = self.conn
        traced = StatementTrace(statement.number, statement.line, 0.0, in_transaction, watched=True)
        exclusive = {oid for oid, mode, _granted in before.locks if mode == "AccessExclusiveLock"}
        tables = [r for r in before.rels.values() if r.kind in ("r", "p") and r.oid not in exclusive]
        observer = _connect(self.server_url, self.dbname)
        seen: dict[tuple[int, str], bool] = {}  # (relation, mode) -> ever granted
        outcome = _Outcome()
        try:
            observer.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            if tables:
                observer.execute(
                    sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(
                        sql.SQL(", ").join(sql.Identifier(r.schema, r.name) for r in tables)
                    )
                )
            observer.execute("SELECT 1")  # the old snapshot CONCURRENTLY waits for
            pid = conn.info.backend_pid

            def run() -> None:
                began = time.perf_counter()
                try:
                    conn.execute(statement.sql)
                except BaseException as exc:
                    outcome.error = exc
                outcome.seconds = time.perf_counter() - began

            worker = threading.Thread(target=run, name="drizzle-ops trace", daemon=True)
            started_at = time.perf_counter()
            worker.start()
            released_at = None
            while worker.is_alive():
                waiting = False
                for relation, mode, granted, locktype in observer.execute(LOCKS_OF_SQL, [pid]).fetchall():
                    waiting |= not granted
                    if locktype == "relation" and relation is not None:
                        seen[(relation, mode)] = seen.get((relation, mode), False) or granted
                if waiting and released_at is None:
                    observer.execute("ROLLBACK")  # it waits for us: seen what it holds and asks for; let it go
                    released_at = time.perf_counter()
                worker.join(0.002)
            worker.join()
        except BaseException:
            if not conn.broken:
                conn.cancel()
            raise
        finally:
            observer.close()
        waited = (released_at - started_at) if released_at is not None else 0.0  # held up by the observer
        traced.seconds = max(outcome.seconds - waited, 0.0)
        error = outcome.error
        if isinstance(error, psycopg.Error):
            traced.error = _error(error)
            rollback_open(conn, quietly=True)  # the file's own BEGIN (or our transaction) is left failed: end it
            return traced, before
        if error is not None:
            raise error
        after = Snapshot.read(conn)
        _record(traced, before, after, {(rel, mode, granted) for (rel, mode), granted in seen.items()})
        return traced, after


@dataclass
class _Outcome:
    """What the thread that ran a watched statement saw."""

    seconds: float = 0.0
    error: BaseException | None = None


_TRANSACTION_WORDS = re.compile(r"\b(begin|commit|rollback|abort|end|start|prepare)\b", re.IGNORECASE)


def _controls_transaction(text: str) -> bool:
    """Does the chunk hold its own BEGIN/COMMIT/ROLLBACK (then locks can be released inside it)?"""
    if not _TRANSACTION_WORDS.search(text):
        return False
    from pglast import parse_sql
    from pglast.parser import ParseError

    from drizzle_ops.analysis.sqlast import closes_transaction, opens_transaction

    try:
        nodes = [raw.stmt for raw in parse_sql(text) if raw.stmt is not None]
    except ParseError:
        return False
    return any(opens_transaction(n) or closes_transaction(n) for n in nodes)


def _error(exc: psycopg.Error) -> str:
    message = exc.diag.message_primary or str(exc).strip()
    return f"{exc.diag.sqlstate}: {message}" if exc.diag.sqlstate else message


def _record(traced: StatementTrace, before: Snapshot, after: Snapshot, locks: set[tuple[int, str, bool]]) -> None:
    held_before = {(rel, mode) for rel, mode, _ in before.locks} if traced.in_transaction else set()
    for oid, mode_name, granted in sorted(locks, key=lambda lk: (lk[0], lk[1])):
        relation = before.rels.get(oid)
        mode = lockmodes.from_pg_locks(mode_name)
        if relation is None or mode is None:  # created by this statement (nobody else sees it) or a catalog
            continue
        traced.locks.append(
            TracedLock(
                relation.qualified,
                KIND_NAMES.get(relation.kind, relation.kind),
                mode,
                granted,
                new=(oid, mode_name) not in held_before,
            )
        )
    traced.locks.sort(key=lambda lk: (lk.relation, -lockmodes.level(lk.mode)))
    for oid, rel in after.rels.items():
        old = before.rels.get(oid)
        if old is None:
            traced.created.append(f"{rel.qualified} ({KIND_NAMES.get(rel.kind, rel.kind)})")
            if rel.kind in ("i", "I"):
                table = after.rels.get(rel.table_oid or 0)
                implicit = [c[0] for c in after.cons.values() if c[4] == oid]
                traced.new_indexes.append(
                    {
                        "index": rel.qualified,
                        "table": table.qualified if table else None,
                        "implicit": bool(implicit),
                        "constraint": implicit[0] if implicit else None,
                    }
                )
        elif old.filenode != rel.filenode and rel.filenode != 0:
            traced.rewrites.append(f"{rel.qualified} ({KIND_NAMES.get(rel.kind, rel.kind)})")
    for oid, (name, table_oid, kind, validated, _index) in after.cons.items():
        table = after.rels.get(table_oid)
        where = f"{table.qualified}." if table else ""
        old_con = before.cons.get(oid)
        if old_con is None:
            traced.new_constraints.append(
                {
                    "constraint": f"{where}{name}",
                    "type": CONSTRAINT_KINDS.get(kind, kind),
                    "validated": validated,
                }
            )
        elif validated and not old_con[3]:
            traced.validated_constraints.append(f"{where}{name}")
    for (table_oid, column), volatile in after.cols.items():
        if volatile and (table_oid, column) not in before.cols and table_oid in before.rels:
            table = before.rels[table_oid]
            traced.volatile_columns.append(f"{table.qualified}.{column}")
