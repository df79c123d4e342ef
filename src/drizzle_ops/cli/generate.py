"""`generate`: drizzle-kit generate, then lint of the new SQL and the down draft, rendered.

`generate --check` is the CI gate for a forgotten generate: exit 1, with the SQL generate
would write, when the TypeScript schema holds changes that no migration does; else exit 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from invoke.exceptions import Exit
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from drizzle_ops.cli import render, tables
from drizzle_ops.cli.flags import Given
from drizzle_ops.cli.guard import guarded
from drizzle_ops.cli.lint_fix import show_added, show_diff
from drizzle_ops.commands.generate import check_generate, generate
from drizzle_ops.context.config import Settings
from drizzle_ops.errors import UserError
from drizzle_ops.lint import Finding

if TYPE_CHECKING:
    from drizzle_ops.drizzle_kit.generate import Generated


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


def _fix_json(result: Generated) -> dict[str, Any] | None:
    fixed = result.fix
    if fixed is None or not fixed.changed:
        return None
    return {
        "written": result.fix_written,
        "diff": fixed.diff(),
        "changes": [c.as_dict() for c in fixed.changes],
        "unfixed": [u.as_dict() for u in fixed.unfixed],
        "added": [a.as_dict() for a in result.added],
    }


def _print_fix(result: Generated) -> None:
    """The safe version of the new migration: written (--fix), or offered with the command that writes it."""
    fixed = result.fix
    if fixed is None or not fixed.changed:
        return
    if result.fix_written:
        render.out.print(
            f"Rewrote {result.sql_display} into its safe version ({len(fixed.changes)} statement(s), --fix):",
            highlight=False,
        )
    else:
        render.out.print(
            f"lint --fix would rewrite {len(fixed.changes)} statement(s) of it into their safe versions:",
            highlight=False,
        )
    show_diff(fixed)
    for added in result.added:
        show_diff(added)
    show_added(result.added, result.fix_written)
    if not result.fix_written:
        render.out.print(
            f"Apply it with `inv lint --fix --file {result.sql_display}` (or `inv generate --fix` next time).",
            highlight=False,
            markup=False,
        )


CHECK_FAILED = (
    "generate --check failed: the schema holds changes that no migration does; run `inv generate` "
    "(drizzle-kit generate) and commit the migration it writes"
)


def run_check(settings: Settings, *, name: str | None, as_json: bool) -> None:
    with guarded(as_json=as_json):
        result = check_generate(settings, name=name, log=render.log)
    migration = result.migration
    if as_json:
        render.print_json(
            {
                "ok": not result.schema_changes,
                "check": True,
                "schema_changes": result.schema_changes,
                "would_generate": {
                    "tag": migration.tag,
                    "sql": migration.text,
                    "statements": len(migration.statements),
                }
                if migration
                else None,
                "needs_terminal": result.needs_terminal,
                "package_manager": result.package_manager,
                "installed_node_modules": result.installed,
            }
        )
    elif migration is not None:
        render.out.print(
            f"drizzle-kit generate would write a migration ({migration.tag}, {len(migration.statements)} "
            "statement(s)): the schema holds changes that no migration does. Its SQL:",
            highlight=False,
        )
        render.out.print(Syntax(migration.text.rstrip(), "sql", theme="ansi_dark", word_wrap=True))
    elif result.needs_terminal:
        render.out.print(
            "The schema holds changes that no migration does, and drizzle-kit must ask whether a table or column "
            "was renamed before it can write them: run `inv generate` at a terminal.",
            highlight=False,
        )
    else:
        render.out.print(
            "Every change of the schema is in a migration: drizzle-kit generate would write nothing.", highlight=False
        )
    if result.schema_changes:
        raise Exit(CHECK_FAILED, code=1)


def run_generate(given: Given) -> None:
    settings, as_json, name, custom, fix = given.settings, given.as_json, given["name"], given["custom"], given["fix"]
    if given["check"]:
        if custom or fix:
            with guarded(as_json=as_json):
                writers = " and ".join(given.named("custom", "fix"))
                raise UserError(
                    f"--check asks whether the schema needs a migration and writes nothing; {writers} would write "
                    "one: give one of them"
                )
        run_check(settings, name=name, as_json=as_json)
        return
    if custom and fix:
        with guarded(as_json=as_json):
            raise UserError("--custom writes an empty migration for your own SQL: --fix has nothing to rewrite there")
    with guarded(as_json=as_json):
        result = generate(settings, name=name, custom=custom, fix=fix, log=render.log)
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
                "fix": _fix_json(result),
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
        tables.show(_findings_table(result.findings))
    else:
        render.out.print("Lint: no findings.", highlight=False)
    _print_fix(result)
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
