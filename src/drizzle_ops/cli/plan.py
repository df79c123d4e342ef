"""`inv plan`: render a deploy plan for a reviewer."""

from __future__ import annotations

from rich.syntax import Syntax
from rich.table import Table

from drizzle_ops.cli import render
from drizzle_ops.cli.edge import guarded, open_context
from drizzle_ops.commands.plan import deploy_plan
from drizzle_ops.context.config import Settings
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
        table.add_column(column, justify="right" if column in ("#", "line", "rows", "size") else "left")
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
        out.rule(f"{migration.tag} ({migration.path})")
        if not migration.runs_in_transaction:
            out.print("[bold]runs outside a transaction, statement by statement[/]")
        out.print(Syntax(migration.sql.rstrip(), "sql", line_numbers=True, word_wrap=True))
        out.print(_statements_table(migration))
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


def run_plan(settings: Settings, *, url: str | None, env: str | None, as_json: bool, large_rows: int | None) -> None:
    with guarded(url, as_json):
        if large_rows is not None and large_rows < 0:
            raise UserError("--large-rows must be zero or more")
        kwargs = {"large_rows": large_rows} if large_rows is not None else {}
        result = deploy_plan(open_context(settings, url=url, env=env, as_json=as_json), **kwargs)
    if as_json:
        render.print_json(result.as_dict())
    else:
        render_plan(result)
