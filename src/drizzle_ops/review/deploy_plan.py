"""What a deploy would do, for a reviewer: pending SQL, lint findings, and per table its size, lock, rewrite and scan.

Nothing here writes to the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from drizzle_ops.analysis.lockinfo import StatementEffect, TableEffect, analyse
from drizzle_ops.analysis.lockmodes import ACCESS_EXCLUSIVE, BLOCKS_WRITES, blocks
from drizzle_ops.analysis.pg_versions import CHECK_PROVES_NOT_NULL
from drizzle_ops.analysis.sqlast import NotNullProofs, TableKey
from drizzle_ops.engine import server
from drizzle_ops.engine.states import Entry, MigrationState
from drizzle_ops.engine.transactionality import MARKER, Mode, marked, mode_of
from drizzle_ops.engine.workspace import Migration, Workspace
from drizzle_ops.lint import Finding, catalogue_volatility, lint_sql, major_version

DEFAULT_LARGE_ROWS = 100_000
# a batch migration's pace, for its time estimate (measured by the backfill benchmark, rounded down)
BATCH_ROWS_PER_SECOND = 50_000
BATCH_OVERHEAD_SECONDS = 0.005  # per batch: its transaction, the lock, the progress row, the round trips


@dataclass
class TableImpact:
    table: str
    lock: str
    blocks: str  # "reads and writes", "writes", "nothing"
    rewrite: bool
    scan: bool
    rows: int | None  # None: the table is new in this deploy
    bytes: int | None
    why: list[str]
    flags: list[str] = field(default_factory=list)


@dataclass
class StatementPlan:
    number: int
    line: int
    kind: str
    sql: str
    transactional: bool
    tables: list[TableImpact]


@dataclass
class BatchPlan:
    """A batch migration as migrate would run it: its table and key, the estimated batches and time."""

    options: str  # rows=1000 pause=50ms max-lag=10s
    rows_per_batch: int
    table: str | None  # schema.name; None: not known (refused before that)
    key: list[str]  # the primary key's columns, in key order
    rows: int | None  # the table's rows (the planner's estimate); None: unknown or not created yet
    batches: int | None  # estimated batches left
    seconds: float | None  # estimated time left, pauses included (standby waits not)
    done_batches: int = 0  # committed by an earlier run that stopped
    done_rows: int = 0
    resumes_after: list[str] | None = None  # the last key an earlier run committed
    max_lag: float | None = None
    refused: str | None = None  # why migrate would refuse it (exit 2, before anything of it runs)

    def as_dict(self) -> dict[str, Any]:
        return {
            "options": self.options,
            "rows_per_batch": self.rows_per_batch,
            "table": self.table,
            "key": self.key,
            "rows": self.rows,
            "estimated_batches": self.batches,
            "estimated_seconds": None if self.seconds is None else round(self.seconds, 1),
            "estimate": f"the table's rows at ~{BATCH_ROWS_PER_SECOND:,} rows/s plus each batch's pause; an estimate",
            "done_batches": self.done_batches,
            "done_rows": self.done_rows,
            "resumes_after": self.resumes_after,
            "refused": self.refused,
        }


@dataclass
class MigrationPlan:
    tag: str
    path: str
    sql: str
    runs_in_transaction: bool
    statements: list[StatementPlan]
    findings: list[Finding]
    transactions: Mode = Mode.TRANSACTION  # how migrate runs it: one transaction, outside one, its own, in batches
    batch: BatchPlan | None = None  # for a batch migration

    @property
    def flags(self) -> list[str]:
        return [flag for s in self.statements for t in s.tables for flag in t.flags]


@dataclass
class DeployPlan:
    database: str
    environment: str | None
    lock_timeout: str | None
    statement_timeout: str | None
    migrations: list[MigrationPlan]
    blocked_by: list[str]  # drift that would make migrate refuse
    pg_version: int  # the target's major: lint judged for it

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "environment": self.environment,
            "lock_timeout": self.lock_timeout,
            "statement_timeout": self.statement_timeout,
            "blocked_by": self.blocked_by,
            "pg_version": self.pg_version,
            "pending": [
                {
                    "tag": m.tag,
                    "file": m.path,
                    "runs_in_transaction": m.runs_in_transaction,
                    "transactions": m.transactions.description,
                    "sql": m.sql,
                    "findings": [f.as_dict() for f in m.findings],
                    "flags": m.flags,
                    **({"batch": m.batch.as_dict()} if m.batch is not None else {}),
                    "statements": [
                        {
                            "number": s.number,
                            "line": s.line,
                            "kind": s.kind,
                            "transactional": s.transactional,
                            "tables": [t.__dict__ for t in s.tables],
                        }
                        for s in m.statements
                    ],
                }
                for m in self.migrations
            ],
        }


def _flags(effect: TableEffect, stats: server.TableStats | None, large_rows: int, transactional: bool) -> list[str]:
    if stats is None:
        return []
    name = f"{effect.table[0]}.{effect.table[1]}"
    size = f"~{stats.rows:,} rows, {stats.bytes / 1e6:.0f} MB" if stats.rows >= 0 else f"{stats.bytes / 1e6:.0f} MB"
    large = stats.rows < 0 or stats.rows >= large_rows
    flags = []
    if effect.index_build and large and effect.lock in BLOCKS_WRITES:
        flags.append(
            f"index build on {name} ({size}) blocks writes for the whole build: create it with "
            f"CREATE INDEX CONCURRENTLY in a migration of its own whose first line is `{MARKER}`"
        )
    if effect.validation and large and effect.lock in BLOCKS_WRITES:
        flags.append(
            f"validation of {name} ({size}) scans it while writes wait: add the constraint NOT VALID, "
            "then VALIDATE CONSTRAINT in a later migration"
        )
    if effect.rewrite and stats.rows != 0:
        flags.append(f"rewrites {name} ({size}) under ACCESS EXCLUSIVE: reads and writes wait for the copy")
    if large and not transactional and effect.index_build:
        flags.append(f"long concurrent build on {name} ({size}): it does not block writes, but plan for its duration")
    return flags


def build_plan(
    conn: psycopg.Connection,
    workspace: Workspace,
    entries: list[Entry],
    *,
    database: str,
    environment: str | None = None,
    lock_timeout: str | None = None,
    statement_timeout: str | None = None,
    large_rows: int = DEFAULT_LARGE_ROWS,
) -> DeployPlan:
    from pglast import parse_sql
    from pglast.parser import ParseError

    by_tag = {m.tag: m for m in workspace.migrations}
    # drizzle-kit 1.0 (and migrate on its layout) applies an older unapplied folder: it is pending there
    late_applied = [e for e in entries if e.state is MigrationState.OUT_OF_ORDER and e.by_name]
    pending = [by_tag[e.tag] for e in entries if (e.state is MigrationState.PENDING or e in late_applied) and e.tag]
    blocked_by = [
        f"{e.tag or 'row ' + str(e.row.id if e.row else '?')}: {e.state.value}"
        for e in entries
        if e.state in (MigrationState.MODIFIED, MigrationState.OUT_OF_ORDER) and e not in late_applied
    ]
    created: set[TableKey] = set()  # by earlier statements of this deploy: empty when they are touched
    index_tables: dict[TableKey, TableKey] = {}  # indexes made by earlier statements -> their tables
    stats_cache: dict[TableKey, server.TableStats | None] = {}
    pg_version = major_version(conn.info.server_version)
    volatility = catalogue_volatility(conn)  # the target's own functions decide what a default costs
    proofs = NotNullProofs()  # a CHECK (col IS NOT NULL) validated earlier in the deploy: SET NOT NULL scans nothing
    plans = []
    for migration in pending:
        statements = []
        created_before = set(created)  # tables earlier pending migrations create: empty, not on the target yet
        in_transaction = not marked(migration)
        for statement in migration.statements:
            try:
                nodes = [raw.stmt for raw in parse_sql(statement.sql) if raw.stmt is not None]
            except ParseError:
                nodes = []
            effects = []
            for node in nodes:
                effects.append(analyse(node, proofs.proven if pg_version >= CHECK_PROVES_NOT_NULL else ()))
                proofs.see(node)
            transactional = all(e.transactional for e in effects)
            in_transaction &= transactional
            statements.append(
                _statement_plan(
                    statement.number,
                    statement.line,
                    statement.sql,
                    effects,
                    transactional,
                    created,
                    stats_cache,
                    conn,
                    large_rows,
                    index_tables,
                )
            )
        mode = mode_of(migration)
        batch = batch_plan(conn, workspace, migration, created_before) if mode is Mode.BATCH else None
        text = migration.text  # decoded from the file's bytes on each read: once here
        plans.append(
            MigrationPlan(
                tag=migration.tag,
                path=str(migration.sql_path.relative_to(workspace.root)),
                sql=text,
                runs_in_transaction=in_transaction and mode is Mode.TRANSACTION,
                transactions=mode if in_transaction or mode is not Mode.TRANSACTION else Mode.NO_TRANSACTION,
                statements=statements,
                batch=batch,
                findings=lint_sql(text, path=migration.sql_path.name, pg_version=pg_version, volatility=volatility),
            )
        )
    return DeployPlan(database, environment, lock_timeout, statement_timeout, plans, blocked_by, pg_version)


def batch_plan(
    conn: psycopg.Connection, workspace: Workspace, migration: Migration, created: set[TableKey]
) -> BatchPlan:
    """How migrate would run a batch migration on this target, and roughly how long; reads only."""
    from drizzle_ops.engine.batch_migration import find_target
    from drizzle_ops.engine.batch_progress import read_progress
    from drizzle_ops.engine.batch_statement import BatchProblem, batch_statement

    try:
        spec = batch_statement(migration.text, migration.statements)
    except BatchProblem as problem:
        return BatchPlan("", 0, None, [], None, None, None, refused=problem.reason)
    options = spec.options
    plan = BatchPlan(options.describe(), options.rows, spec.shown_table, [], None, None, None, max_lag=options.max_lag)
    if (spec.schema or "public", spec.table) in created:
        plan.rows, plan.batches, plan.seconds = 0, 1, BATCH_OVERHEAD_SECONDS  # made empty earlier in this deploy
        return plan
    try:
        target = find_target(conn, spec)
    except BatchProblem as problem:
        plan.refused = problem.reason
        return plan
    plan.table, plan.key = target.shown, [key.name for key in target.keys]
    stats = server.table_stats(conn, target.schema, target.table)
    plan.rows = stats.rows if stats is not None and stats.rows >= 0 else None
    earlier = read_progress(conn, workspace, migration)
    if earlier is not None:
        plan.done_batches, plan.done_rows, plan.resumes_after = earlier.batches, earlier.rows, earlier.last_key
    if plan.rows is not None:
        left = max(plan.rows - (earlier.keys_done if earlier else 0), 0)
        plan.batches = max(-(-left // options.rows), 1)
        plan.seconds = left / BATCH_ROWS_PER_SECOND + plan.batches * (options.pause + BATCH_OVERHEAD_SECONDS)
    return plan


# what the SQL alone cannot tell, read from the target's catalog (found by tracing: see review/tracer.py)
_INDEX_TABLE_SQL = """
select n.nspname, c.relname from pg_index i
join pg_class x on x.oid = i.indexrelid join pg_namespace xn on xn.oid = x.relnamespace
join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
where xn.nspname = %s and x.relname = %s
"""
_FOREIGN_KEY_TABLES_SQL = """
select distinct n.nspname, c.relname from pg_constraint k
join pg_class t on t.oid = k.conrelid join pg_namespace tn on tn.oid = t.relnamespace
join pg_class c on c.oid = case when k.conrelid = t.oid and tn.nspname = %s and t.relname = %s
                                then k.confrelid else k.conrelid end
join pg_namespace n on n.oid = c.relnamespace
where k.contype = 'f' and k.conrelid <> k.confrelid
  and ((tn.nspname = %s and t.relname = %s)
       or k.confrelid = (select r.oid from pg_class r join pg_namespace rn on rn.oid = r.relnamespace
                         where rn.nspname = %s and r.relname = %s))
"""


def _with_catalog(
    conn: psycopg.Connection, effect: StatementEffect, created: set[TableKey], index_tables: dict[TableKey, TableKey]
) -> list[TableEffect]:
    """DROP INDEX locks the index's table, not a table of the index's name; DROP TABLE also locks, in ACCESS
    EXCLUSIVE, the tables its foreign keys join it to (their triggers are dropped). Both need the catalog
    (or, for an index made earlier in this deploy, the statement that made it)."""
    tables = []
    for table in effect.tables:
        if effect.kind == "drop index":
            made = index_tables.get(table.table)
            row = made if made else conn.execute(_INDEX_TABLE_SQL, list(table.table)).fetchone()
            if row is not None:
                table = TableEffect(
                    (row[0], row[1]), table.lock, why=[f"drop index {table.table[1]}"], index_build=False
                )
        tables.append(table)
        if effect.kind == "drop table" and table.table not in created:
            schema, name = table.table
            for row in conn.execute(_FOREIGN_KEY_TABLES_SQL, [schema, name] * 3).fetchall():
                tables.append(
                    TableEffect(
                        (row[0], row[1]), ACCESS_EXCLUSIVE, why=[f"foreign key to or from dropped {schema}.{name}"]
                    )
                )
    return tables


def _statement_plan(
    number: int,
    line: int,
    text: str,
    effects: list[StatementEffect],
    transactional: bool,
    created: set[TableKey],
    stats_cache: dict[TableKey, server.TableStats | None],
    conn: psycopg.Connection,
    large_rows: int,
    index_tables: dict[TableKey, TableKey],
) -> StatementPlan:
    merged: dict[TableKey, TableEffect] = {}
    for statement_effect in effects:
        for table in _with_catalog(conn, statement_effect, created, index_tables):
            if table.table in merged:
                merged[table.table].merge(table)
            else:
                merged[table.table] = table
    impacts = []
    for key, effect in merged.items():
        if key in created:
            stats = None
        else:
            if key not in stats_cache:
                stats_cache[key] = server.table_stats(conn, *key)
            stats = stats_cache[key]
        impacts.append(
            TableImpact(
                table=f"{key[0]}.{key[1]}",
                lock=effect.lock,
                blocks=blocks(effect.lock),
                rewrite=effect.rewrite,
                scan=effect.scan,
                rows=stats.rows if stats else None,
                bytes=stats.bytes if stats else None,
                why=effect.why,
                flags=_flags(effect, stats, large_rows, transactional),
            )
        )
    for statement_effect in effects:
        created.update(statement_effect.creates)
        index_tables.update(statement_effect.indexes)
    kind = ", ".join(dict.fromkeys(e.kind for e in effects)) or "empty"
    head = " ".join(text.split())[:100]
    return StatementPlan(number, line, kind, head, transactional, impacts)
