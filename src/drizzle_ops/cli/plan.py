"""`inv plan`: render a deploy plan for a reviewer."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from invoke.exceptions import Exit
from rich.syntax import Syntax
from rich.table import Table

from drizzle_ops.analysis import lockmodes
from drizzle_ops.cli import render, tables
from drizzle_ops.cli.flags import Given
from drizzle_ops.cli.guard import guarded
from drizzle_ops.cli.plan_batches import batch_lines
from drizzle_ops.cli.where import one_database
from drizzle_ops.commands.plan import PlanOutcome, plan_outcome
from drizzle_ops.engine.connection import check_url
from drizzle_ops.engine.transactionality import Mode
from drizzle_ops.errors import UserError
from drizzle_ops.review.deploy_plan import DeployPlan, MigrationPlan


def _bytes(n: int | None) -> str:
    if n is None:
        return "new"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}"
        n = int(n / 1024)
    return f"{n} B"


def _rows(n: int | None) -> str:
    if n is None:
        return "new"
    return "?" if n < 0 else f"{n:,}"


def _statements_table(migration: MigrationPlan) -> Table:
    table = Table(title=f"{migration.tag}: what each statement does", title_justify="left")
    for column in ("#", "line", "statement", "table", "lock", "blocks", "rewrite", "scan", "rows", "size"):
        table.add_column(
            column, justify="right" if column in ("#", "line", "rows", "size") else "left", no_wrap=column == "table"
        )
    for s in migration.statements:
        tx = "" if s.transactional else " [bold](no transaction)[/]"
        if not s.tables:
            table.add_row(str(s.number), str(s.line), s.kind + tx, "—", "—", "—", "", "", "", "")
        for i, t in enumerate(s.tables):
            style = "red" if t.flags else ("yellow" if t.blocks != "nothing" and t.rows else "")
            table.add_row(
                str(s.number) if i == 0 else "",
                str(s.line) if i == 0 else "",
                (s.kind + tx) if i == 0 else "",
                t.table,
                t.lock,
                f"[{style}]{t.blocks}[/]" if style else t.blocks,
                "yes" if t.rewrite else "",
                "yes" if t.scan else "",
                _rows(t.rows),
                _bytes(t.bytes),
            )
    return table


def render_plan(plan: DeployPlan) -> None:
    out = render.out
    where = f"{plan.database}" + (f" (environment {plan.environment})" if plan.environment else "")
    out.print(f"[bold]Deploy plan for {where}[/]", highlight=False)
    out.print(
        f"lock_timeout {plan.lock_timeout or 'not set'}, statement_timeout {plan.statement_timeout or 'not set'}; "
        f"lint judged for PostgreSQL {plan.pg_version}, the target's major",
        highlight=False,
    )
    for blocker in plan.blocked_by:
        out.print(f"[red]migrate would refuse:[/] {blocker}", highlight=False)
    if not plan.migrations:
        out.print("Nothing pending: migrate would change nothing.")
        return
    for migration in plan.migrations:
        tables.heading(f"{migration.tag} ({migration.path})")
        if migration.batch is not None:
            for line in batch_lines(migration.batch):
                out.print(line, highlight=False)
        elif migration.transactions is Mode.OWN_TRANSACTIONS:
            out.print("[bold]manages its own transactions[/]: its BEGIN and COMMIT decide, as under drizzle-kit")
        elif not migration.runs_in_transaction:
            out.print("[bold]runs outside a transaction, statement by statement[/]")
        # wrapped at words, not cut at the width: soft_wrap (which the console defaults to) crops a Syntax
        out.print(Syntax(migration.sql.rstrip(), "sql", line_numbers=True, word_wrap=True), soft_wrap=False)
        tables.show(_statements_table(migration))
        for flag in migration.flags:
            out.print(f"[red]⚠ {flag}[/]", highlight=False)
        for finding in migration.findings:
            out.print(
                f"[yellow]{finding.severity.value}[/] {finding.location} {finding.rule}: {finding.message}",
                highlight=False,
            )
    flags = sum(len(m.flags) for m in plan.migrations)
    findings = sum(len(m.findings) for m in plan.migrations)
    out.print(
        f"{len(plan.migrations)} pending migration(s), {flags} flagged table operation(s), {findings} lint finding(s). "
        "Nothing was changed.",
        highlight=False,
    )


def explain_lock(mode: str, *, as_json: bool) -> None:
    """``--explain-lock MODE``: what a table lock mode (read by flag_values.lock_mode) conflicts with and blocks."""
    info = lockmodes.LOCK_MODES[mode]
    if as_json:
        render.print_json(
            {
                "mode": mode,
                "pg_locks": info.pg_locks,
                "level": info.level,
                "taken_by": list(info.taken_by),
                "conflicts_with": [m for m in lockmodes.MODES if m in info.conflicts],
                "blocks": lockmodes.blocks(mode),
                "blocked_queries": lockmodes.blocked_queries(mode),
            }
        )
        return
    for line in lockmodes.explain(mode):
        render.out.print(line, highlight=False, markup=False)


def _output_format(as_json: bool, output_format: str | None) -> str:
    if as_json and output_format not in (None, "json"):
        raise UserError(f"--json and --format {output_format} disagree: give one of them")
    return "json" if as_json else (output_format or "table")


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """A CI runner stops a job with SIGTERM: unwind like Ctrl-C, so the scratch database is dropped."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_plan(given: Given) -> None:
    as_json, url, output_format = bool(given["json"]), given["url"], given["format"]
    large_rows, trace, trace_url = given["large_rows"], given["trace"], given["trace_url"]
    if given["explain_lock"] is not None:
        explain_lock(given["explain_lock"], as_json=given.as_json)
        return
    with guarded(url, as_json):
        chosen = _output_format(as_json, output_format)
        if trace_url and not trace:
            raise UserError("--trace-url names the scratch server of a trace: give --trace too")
        if trace_url:
            check_url(trace_url, "--trace-url")  # bad input is refused even when nothing is pending
    as_json = chosen == "json"
    with guarded(url, as_json), guarded(trace_url, as_json):
        ctx = one_database(given)
        if trace:
            try:
                with _sigterm_as_interrupt():
                    outcome = plan_outcome(ctx, large_rows=large_rows, trace=True, trace_url=trace_url)
            except KeyboardInterrupt:
                raise Exit("interrupted: the trace stopped and its scratch database was dropped", code=130) from None
        else:
            outcome = plan_outcome(ctx, large_rows=large_rows)
    if chosen == "json":
        document = outcome.plan.as_dict()
        if outcome.trace is not None:
            document = _with_trace(document, outcome)
        render.print_json(document)
    elif chosen == "markdown":
        from drizzle_ops.cli.plan_markdown import render_markdown

        text = render_markdown(outcome)
        sys.stdout.write(text)
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write(text + "\n")
    else:
        render_plan(outcome.plan)
        if outcome.trace is not None:
            render_trace(outcome)


def _with_trace(document: dict[str, Any], outcome: PlanOutcome) -> dict[str, Any]:
    """The plan's JSON, unchanged, with the trace under new keys only."""
    from drizzle_ops.review.verdicts import migration_trace_dict, trace_dict

    assert outcome.trace is not None
    by_tag = {s.tag: s for s in outcome.summaries}
    for pending in document["pending"]:
        pending["trace"] = migration_trace_dict(outcome.trace.for_tag(pending["tag"]), by_tag[pending["tag"]])
    document["trace"] = trace_dict(outcome.trace)
    return document


def render_trace(outcome: PlanOutcome) -> None:
    out, result = render.out, outcome.trace
    assert result is not None
    tables.heading("trace: the locks each statement took on a scratch copy")
    out.print(
        f"scratch database {result.database} on {result.server} (PostgreSQL {result.major}), migrated to "
        f"{result.head or 'nothing'} in {result.setup_seconds:.2f} s, traced in {result.seconds:.2f} s, dropped",
        highlight=False,
    )
    for summary in outcome.summaries:
        traced = result.for_tag(summary.tag)
        table = Table(title=f"{summary.tag}: traced against predicted", title_justify="left")
        for column in ("#", "table", "predicted", "traced", "blocks", "rewrite", "check"):
            table.add_column(column, justify="right" if column == "#" else "left", no_wrap=column == "table")
        for statement in traced.statements if traced else []:
            if statement.error:
                table.add_row(str(statement.number), "", "", "", "", "", f"[red]failed: {statement.error}[/]")
            for i, check in enumerate(statement.checks):
                style = {"mismatch": "red", "trace-only": "yellow"}.get(check.verdict, "green")
                table.add_row(
                    str(statement.number) if i == 0 else "",
                    check.table,
                    check.predicted or "—",
                    check.traced or "—",
                    lockmodes.blocks(check.traced) if check.traced else "—",
                    "yes" if check.traced_rewrite else "",
                    f"[{style}]{check.verdict}[/]" + (f" ({check.note})" if check.note else ""),
                )
        tables.show(table)
        lock = (
            f"{summary.strongest_lock} on {summary.table}" if summary.strongest_lock else "no lock on existing tables"
        )
        held = (
            f", held ~{summary.estimated_hold_seconds:.2f} s (estimate)"
            if summary.estimated_hold_seconds is not None
            else ""
        )
        out.print(f"{summary.tag}: {lock} (blocks {summary.blocks}){held}: [bold]{summary.verdict}[/]", highlight=False)
        if traced is not None and traced.batch_rows is not None:
            out.print(
                f"  one batch of up to {traced.batch_rows:,} rows, traced: every batch takes these locks, in a "
                f"transaction of its own, and holds row locks on its rows until it commits",
                highlight=False,
            )
        for reason in summary.reasons:
            out.print(f"  {reason}", highlight=False)
