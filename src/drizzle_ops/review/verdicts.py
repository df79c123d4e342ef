"""The trace joined with the static plan: each table's check, hold-time estimates, verdicts, and the JSON.

``join`` compares, per statement, the locks and rewrites the tracer recorded on a scratch copy
(``tracer.py``) with what ``deploy_plan.py`` predicts from the SQL (confirmed, mismatch, trace-only,
unverified), then sums up each migration: its strongest lock on an existing table, how long that lock
is held (an estimate from the trace's duration and the target's rows), and a verdict a reviewer acts on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from drizzle_ops.analysis import lockmodes
from drizzle_ops.review.deploy_plan import DeployPlan, MigrationPlan, StatementPlan
from drizzle_ops.review.tracer import MigrationTrace, StatementTrace, TableCheck, Trace, TracedLock

# rough rates for what a locked table's size costs on ordinary hardware: the hold-time estimate only
SCAN_ROWS_PER_SECOND = 2_000_000  # validation of a constraint, SET NOT NULL
INDEX_ROWS_PER_SECOND = 500_000  # building an index
REWRITE_ROWS_PER_SECOND = 250_000  # copying the table (and rebuilding its indexes)
WINDOW_SECONDS = 1.0  # a blocking lock held this long on a populated table needs a maintenance window


@dataclass
class MigrationSummary:
    """Per migration: the strongest lock on an existing table, how long it is held (an estimate), a verdict."""

    tag: str
    strongest_lock: str | None
    table: str | None
    blocks: str
    rewrite: bool
    trace_seconds: float | None  # None: not traced
    estimated_hold_seconds: float | None
    verdict: str  # safe, needs a maintenance window, blocked by lint, fails
    reasons: list[str]
    mismatches: int
    traced: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "strongest_lock": self.strongest_lock,
            "table": self.table,
            "blocks": self.blocks,
            "rewrite": self.rewrite,
            "seconds": None if self.trace_seconds is None else round(self.trace_seconds, 6),
            "estimated_hold_seconds": (
                None if self.estimated_hold_seconds is None else round(self.estimated_hold_seconds, 3)
            ),
            "estimate": "trace duration plus the target's rows at rough rates per row; an estimate, not a measurement",
            "verdict": self.verdict,
            "reasons": self.reasons,
            "mismatches": self.mismatches,
        }


def join(plan: DeployPlan, result: Trace | None, sizes: dict[str, int | None] | None = None) -> list[MigrationSummary]:
    """Fill each traced statement's checks from ``plan``, and summarise every migration.

    ``sizes``: rows of tables the trace saw that the static plan does not name (schema.name → rows).
    """
    summaries = []
    for migration in plan.migrations:
        traced = result.for_tag(migration.tag) if result is not None else None
        if traced is not None:
            for statement_trace in traced.statements:
                statement_plan = next((s for s in migration.statements if s.number == statement_trace.number), None)
                statement_trace.checks = _checks(statement_plan, statement_trace)
        summaries.append(_summary(migration, traced, sizes or {}))
    return summaries


def _checks(statement_plan: StatementPlan | None, traced: StatementTrace) -> list[TableCheck]:
    if traced.error:
        return []
    predicted = {t.table: t for t in statement_plan.tables} if statement_plan is not None else {}
    rewritten = {r.rsplit(" (", 1)[0] for r in traced.rewrites}
    checks = []
    table_locks = traced.table_locks()
    taken = [table for table, (new, _held) in table_locks.items() if new]
    born = {c.rsplit(" (", 1)[0] for c in traced.created if c.endswith("(table)")}
    for table in dict.fromkeys([*predicted, *taken]):
        if table in born:
            continue  # made by this very statement: no other session can see it, let alone wait for it
        new, held = table_locks.get(table, (set(), set()))
        impact = predicted.get(table)
        lock = impact.lock if impact is not None else None
        strongest_new = lockmodes.strongest(new)
        static_rewrite = bool(impact and impact.rewrite)
        traced_rewrite = table in rewritten
        note = ""
        if lock is None:
            verdict = "trace-only"
        elif lock in held and (strongest_new is None or lockmodes.level(strongest_new) < lockmodes.level(lock)):
            # the transaction holds it already: taking the same mode again adds no row to pg_locks
            verdict, strongest_new = "confirmed", lock
            note = "held since an earlier statement"
        elif strongest_new == lock:
            verdict = "confirmed"
        elif strongest_new is None and traced.watched and not lockmodes.conflicts(lock, lockmodes.ACCESS_SHARE):
            # the observer's ACCESS SHARE holds up only ACCESS EXCLUSIVE: weaker locks may come and go unseen
            verdict = "unverified"
            note = "taken and released inside the statement, before the trace could see it"
        else:
            verdict = "mismatch"
        if traced_rewrite and not static_rewrite:
            verdict, note = "mismatch", "rewritten, but the static plan predicts no rewrite"
        elif static_rewrite and not traced_rewrite and verdict != "mismatch":
            note = "the static plan predicts a rewrite that this server did not do"
        checks.append(TableCheck(table, lock, strongest_new, static_rewrite, traced_rewrite, verdict, note))
    return checks


def _summary(migration: MigrationPlan, traced: MigrationTrace | None, sizes: dict[str, int | None]) -> MigrationSummary:
    rows_of: dict[str, int | None] = dict(sizes)
    for statement in migration.statements:
        for table in statement.tables:
            rows_of[table.table] = table.rows
    candidates: list[tuple[str, str]] = []  # (mode, table): traced when there is a trace, else predicted
    rewrite = False
    work = 0.0  # seconds the target's rows add under the lock (estimate)
    if traced is not None:
        for statement_trace in traced.statements:
            candidates += [(c.traced, c.table) for c in statement_trace.checks if c.traced]
            rewrite |= any(rows_of.get(c.table) is not None and c.traced_rewrite for c in statement_trace.checks)
    for statement in migration.statements:
        traced_statement = (
            next((t for t in traced.statements if t.number == statement.number), None) if traced else None
        )
        rewritten = {c.table for c in traced_statement.checks if c.traced_rewrite} if traced_statement else set()
        for table in statement.tables:
            rows = rows_of.get(table.table)
            if traced is None:
                candidates.append((table.lock, table.table))
                rewrite |= table.rewrite and rows is not None
            if table.rewrite or table.table in rewritten:
                work += max(rows or 0, 0) / REWRITE_ROWS_PER_SECOND
            elif table.scan and any(w.startswith(("build index", "add unique", "add primary key")) for w in table.why):
                work += max(rows or 0, 0) / INDEX_ROWS_PER_SECOND
            elif table.scan:
                work += max(rows or 0, 0) / SCAN_ROWS_PER_SECOND
    # the strongest lock on a table that exists on the target (a table this deploy creates blocks nobody)
    best = max(candidates, key=lambda c: (rows_of.get(c[1]) is not None, lockmodes.level(c[0])), default=None)
    mode, table_name = best if best else (None, None)
    blocks = lockmodes.blocks(mode) if mode else lockmodes.NOTHING
    seconds = traced.seconds if traced is not None and traced.skipped is None else None
    estimate = (seconds or 0.0) + work  # without a trace: the rows' share alone
    mismatches = sum(1 for s in (traced.statements if traced else []) for c in s.checks if c.verdict == "mismatch")
    reasons: list[str] = []
    errors = [f for f in migration.findings if f.severity.value == "error"]
    if traced is not None and traced.error:
        verdict = "fails"
        reasons.append(f"fails on the scratch copy: {traced.error}")
    elif errors:
        verdict = "blocked by lint"
        reasons += [f"{f.rule} ({f.location})" for f in errors]
    elif migration.flags:
        verdict = "needs a maintenance window"
        reasons += migration.flags
    elif blocks != lockmodes.NOTHING and (rows_of.get(table_name or "") or 0) > 0 and work >= WINDOW_SECONDS:
        verdict = "needs a maintenance window"
        reasons.append(f"{mode} on {table_name} blocks {blocks} for about {work:.1f} s (estimate)")
    else:
        verdict = "safe"
    if traced is not None and traced.skipped:
        reasons.append(f"not traced: {traced.skipped}")
    return MigrationSummary(
        migration.tag,
        mode,
        table_name,
        blocks,
        rewrite,
        seconds,
        estimate,
        verdict,
        reasons,
        mismatches,
        traced is not None and traced.skipped is None,
    )


def trace_dict(result: Trace) -> dict[str, Any]:
    return {
        "server": result.server,
        "major": result.major,
        "scratch_database": result.database,
        "dropped": result.dropped,
        "head": result.head,
        "setup_seconds": round(result.setup_seconds, 6),
        "seconds": round(result.seconds, 6),
    }


def migration_trace_dict(traced: MigrationTrace | None, summary: MigrationSummary) -> dict[str, Any]:
    return {
        **summary.as_dict(),
        "in_transaction": traced.in_transaction if traced else None,
        "transactions": traced.transactions.description if traced else None,
        "error": traced.error if traced else None,
        **({"batch_rows": traced.batch_rows} if traced is not None and traced.batch_rows is not None else {}),
        "skipped": traced.skipped if traced else "not traced",
        "statements": [_statement_dict(s) for s in traced.statements] if traced else [],
    }


def _statement_verdict(traced: StatementTrace) -> str:
    """The worst of a statement's checks."""
    verdicts = {c.verdict for c in traced.checks}
    for verdict in ("mismatch", "trace-only", "unverified", "confirmed"):
        if verdict in verdicts:
            return verdict
    return "no table locks"


def _statement_dict(traced: StatementTrace) -> dict[str, Any]:
    return {
        "number": traced.number,
        "seconds": round(traced.seconds, 6),
        "in_transaction": traced.in_transaction,
        "verdict": _statement_verdict(traced),
        "checks": [_check_dict(c) for c in traced.checks],
        "locks": [_lock_dict(lk) for lk in traced.locks],
        "rewrite": bool(traced.rewrites),
        "rewrites": traced.rewrites,
        "created": traced.created,
        "new_indexes": traced.new_indexes,
        "new_constraints": traced.new_constraints,
        "validated_constraints": traced.validated_constraints,
        "volatile_columns": traced.volatile_columns,
        "error": traced.error,
    }


def _check_dict(check: TableCheck) -> dict[str, Any]:
    return {
        "table": check.table,
        "predicted": check.predicted,
        "traced": check.traced,
        "blocks": lockmodes.blocks(check.traced) if check.traced else None,
        "predicted_rewrite": check.predicted_rewrite,
        "traced_rewrite": check.traced_rewrite,
        "verdict": check.verdict,
        "note": check.note,
    }


def _lock_dict(lock: TracedLock) -> dict[str, Any]:
    return {**asdict(lock), "blocks": lock.blocks}  # relation, kind, mode, granted, new, then what it blocks
