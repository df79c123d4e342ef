"""Run a database's checks and the built-in snapshot conformance, changing nothing.

The project's checks run in a READ ONLY transaction that is rolled back, each
in a savepoint so one failing query doesn't stop the others, each sent as a
prepared statement (exactly one statement). A check tied to a migration that
the database does not hold is skipped, not run. Conformance runs in its own
rolled-back transaction.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import psycopg

from drizzle_ops.checks_api import Check, skip_reason
from drizzle_ops.engine.batching import simple_query_statements
from drizzle_ops.engine.workspace import Migration, Workspace
from drizzle_ops.verify.accepted import AcceptedFile
from drizzle_ops.verify.conformance import CHECK_ID, check_conformance, report_lines, stale_note


@dataclass
class CheckResult:
    id: str
    description: str
    status: str  # "pass" | "fail" | "error" | "skip"
    detail: str  # for "skip": the reason, e.g. "0007_wishlist_items not applied" (shown as "skipped (…)")
    seconds: float
    differences: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # conformance: differences the accepted file lists
    warnings: list[str] = field(default_factory=list)  # said, not failing (enum order, stale accepted lines)

    @property
    def ok(self) -> bool:
        """Nothing wrong: passed, or skipped because what it checks is not there to check."""
        return self.status in ("pass", "skip")


def run_checks(
    conn: psycopg.Connection, checks: Sequence[Check], applied: Collection[str] | None = None
) -> list[CheckResult]:
    """Each check's result in order; with ``applied`` (tags), a check whose migration is not among them is skipped."""
    results: list[CheckResult] = []
    if not checks:
        return results
    with conn.transaction(force_rollback=True):
        conn.execute("set transaction read only")
        for check in checks:
            reason = skip_reason(check, applied) if applied is not None else None
            if reason is not None:
                results.append(CheckResult(check.id, check.description, "skip", reason, 0.0))
                continue
            started = time.perf_counter()
            several = _statements(check.sql) if check.sql else 1
            if several > 1:  # one query, one answer to compare: refused before anything runs
                detail = f"[42601] a check is one statement, this one has {several}; split it into checks of their own"
                results.append(CheckResult(check.id, check.description, "error", detail, 0.0))
                continue
            try:
                with conn.transaction():
                    rows = conn.execute(check.sql).fetchall() if check.sql else []
                problem = check.evaluate([tuple(r) for r in rows])
                status, detail = ("pass", "") if problem is None else ("fail", problem)
            except psycopg.Error as exc:
                diag = exc.diag
                message = diag.message_primary or str(exc).strip().splitlines()[0]
                status, detail = "error", f"[{diag.sqlstate or '?????'}] {message}"
            results.append(CheckResult(check.id, check.description, status, detail, time.perf_counter() - started))
    return results


def _statements(sql: str) -> int:
    """How many statements a check's SQL holds (the scanner, or the parser when the scanner is unsure)."""
    count = simple_query_statements(sql)
    if count is not None:
        return count
    from pglast import parse_sql
    from pglast.parser import ParseError

    try:
        return len(parse_sql(sql))
    except ParseError:
        return 1  # the server reports the syntax error


def run_conformance(
    conn: psycopg.Connection, workspace: Workspace, head: Migration | None, accepted: AcceptedFile | None = None
) -> CheckResult:
    """Conformance as a check: pass (with any accepted differences and warnings named), fail, or skip."""
    started = time.perf_counter()
    description = "the live schema matches the Drizzle snapshot of the applied head"
    result = check_conformance(conn, workspace, head, accepted.entries if accepted else None)
    if result.skipped:
        return CheckResult(CHECK_ID, description, "skip", result.skipped, time.perf_counter() - started)
    target = f"the snapshot of {result.head}" if result.head else "an empty schema (nothing is applied)"
    if result.merged:
        target += f" merged with the open branch head(s) {', '.join(result.merged)}"
    shown = accepted.shown if accepted else "the accepted differences file"
    lines = report_lines(result, shown)
    if result.ok:
        status = "pass"
        headline = f"matches {target} ({result.tables} table(s))"
        if result.accepted:
            headline += f" apart from {len(result.accepted)} accepted difference(s) in {shown}"
    else:
        status = "fail"
        headline = f"{len(result.differences)} difference(s) from {target}:"
    warnings = [str(w) for w in result.warnings]
    if result.stale:
        warnings.append(stale_note(result.stale, shown))
    return CheckResult(
        CHECK_ID,
        description,
        status,
        "\n".join([headline, *lines]),
        time.perf_counter() - started,
        [str(d) for d in result.differences],
        [str(d) for d in result.accepted],
        warnings,
    )
