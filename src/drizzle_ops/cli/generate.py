"""`generate`: drizzle-kit generate, then lint of the new SQL and the down draft, rendered."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from drizzle_ops.cli import render
from drizzle_ops.cli.edge import guarded
from drizzle_ops.commands.generate import generate
from drizzle_ops.context.config import Settings
from drizzle_ops.lint import Finding


def _findings_table(findings: Sequence[Finding]) -> Table:
    table = Table(title="Lint of the new migration", title_justify="left", show_lines=True)
    table.add_column("where", no_wrap=True)
    table.add_column("level")
    table.add_column("rule")
    table.add_column("finding")
    for f in findings:
        detail = Text(f.message)
        detail.append(f"\n{f.help}", style="dim")
        style = "bold red" if f.severity.value == "error" else "yellow"
        table.add_row(f.location, Text(f.severity.value, style=style), f.rule, detail)
    return table


def run_generate(settings: Settings, *, name: str | None, custom: bool, as_json: bool) -> None:
    with guarded(as_json=as_json):
        result = generate(settings, name=name, custom=custom, log=render.log)
    migration, draft = result.migration, result.draft
    if as_json:
        render.print_json(
            {
                "ok": True,
                "generated": migration.tag if migration else None,
                "no_changes": result.no_changes if migration is None else False,
                "package_manager": result.package_manager,
                "installed_node_modules": result.installed,
                "sql": result.sql_display or None,
                "statements": len(migration.statements) if migration else 0,
                "lint": [f.as_dict() for f in result.findings],
                "lint_error": result.lint_error,
                "down_draft": {
                    "path": result.draft_display,
                    "written": result.draft_written,
                    "statements": draft.statements,
                    "reviews": draft.reviews,
                }
                if draft
                else None,
            }
        )
        return
    if migration is None:
        if result.no_changes:
            render.out.print("drizzle-kit found no schema changes: nothing was generated.", highlight=False)
        else:
            render.out.print("drizzle-kit wrote no migration; its output above says why.", highlight=False)
        return
    render.out.print(
        f"Generated {migration.tag}: {result.sql_display} ({len(migration.statements)} statement(s)).",
        highlight=False,
    )
    if result.lint_error:
        render.out.print(f"Lint could not read the new SQL: {result.lint_error}", highlight=False, markup=False)
    elif result.findings:
        render.out.print(_findings_table(result.findings))
    else:
        render.out.print("Lint: no findings.", highlight=False)
    if draft is None:
        return
    if not result.draft_written:
        render.out.print(
            f"Kept the existing down file {result.draft_display} (a draft is never written over a file).",
            highlight=False,
        )
        return
    reviews = f", {len(draft.reviews)} REVIEW note(s)" if draft.reviews else ""
    render.out.print(
        f"Drafted the down migration {result.draft_display} ({draft.statements} statement(s){reviews}): "
        "review it, then delete its DRAFT line.",
        highlight=False,
    )
