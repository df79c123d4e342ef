"""`inv lint`: check migration SQL for lock and compatibility hazards.

With no paths it lints every migration of the workspace, offline. With --pending it
asks the target database which migrations are not applied yet and reports on those
only (the applied ones still inform the rules, e.g. a constraint validated earlier).
With --since REF it asks git which migration files the branch added or changed since
it left REF (a pull-request gate), and reports on those only, in the same way.
Exit 1 when a finding is at or above ``--fail-on`` (default: error). With --fix it rewrites
what it can instead (cli/lint_fix.py).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from invoke.exceptions import Exit
from rich.table import Table
from rich.text import Text

from drizzle_ops.cli import render, tables
from drizzle_ops.cli.flags import Given
from drizzle_ops.cli.guard import guarded
from drizzle_ops.cli.lint_fix import refuse_bad_combinations, run_fix
from drizzle_ops.cli.where import one_database
from drizzle_ops.commands.lint import LintOutcome, lint_files, lint_pending, lint_since, lint_workspace
from drizzle_ops.context.request import build_request
from drizzle_ops.errors import UserError
from drizzle_ops.lint import ALL_RULES, Finding, Severity, select_rules

FAIL_ON = {"error": Severity.ERROR, "warning": Severity.WARNING, "never": None}
LEVEL_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow"}


def _print_findings(findings: Sequence[Finding]) -> None:
    folders = {str(Path(f.file or "").parent) for f in findings}
    folder = folders.pop() if len(folders) == 1 else None
    table = Table(title=folder, title_justify="left", show_lines=True)
    table.add_column("where", no_wrap=True)
    table.add_column("level")
    table.add_column("rule", overflow="fold")
    table.add_column("finding")
    for f in findings:
        where = f"{Path(f.file).name}:{f.line}" if folder and f.file else f.location
        detail = Text(f.message)
        detail.append(f"\n{f.statement}", style="dim")
        table.add_row(where, Text(f.severity.value, style=LEVEL_STYLE[f.severity]), f.rule, detail)
    console = render.table_console()
    tables.show(table, console)
    console.print("Safe alternatives:", style="bold")
    for rule, help_text in dict.fromkeys((f.rule, f.help) for f in findings):
        line = Text("  ")
        line.append(rule, style="bold")
        line.append(f": {help_text}")
        console.print(line)


def _print_rules(as_json: bool) -> None:
    from drizzle_ops.lint.fix import FIXES, NO_FIX  # what --fix does with each rule: read for --rules only

    if as_json:
        render.print_json(
            [
                {
                    "id": r.id,
                    "severity": r.severity.value,
                    "summary": r.summary,
                    "problem": r.problem,
                    "fix": r.fix,
                    "squawk": r.squawk,
                    "squawk_differences": list(r.squawk_differences),
                    "lint_fix": {"fixes": r.id in FIXES, "what": FIXES.get(r.id) or NO_FIX[r.id]},
                }
                for r in ALL_RULES
            ]
        )
        return
    for r in ALL_RULES:
        heading = Text(r.id, style="bold")
        heading.append(f"  {r.severity.value}", style=LEVEL_STYLE[r.severity])
        render.out.print(heading)
        autofix = FIXES.get(r.id) or f"leaves it: {NO_FIX[r.id]}"
        render.out.print(Text(f"  {r.summary}\n  problem: {r.problem}\n  fix: {r.fix}\n  lint --fix: {autofix}\n"))
    render.out.print("Full docs with examples: docs/lint-rules.md", highlight=False)


def _output_format(as_json: bool, output_format: str | None, list_rules: bool) -> str:
    if as_json and output_format not in (None, "json"):
        raise UserError(f"--json and --format {output_format} disagree: give one of them")
    if list_rules and output_format == "markdown":
        raise UserError("--rules lists the rules as text or --json; --format markdown is for findings")
    return "json" if as_json else (output_format or "table")


def _since_json(outcome: LintOutcome) -> dict[str, str] | None:
    if outcome.since is None:
        return None
    return {"ref": outcome.since.ref, "merge_base": outcome.since.merge_base}


def _since_text(outcome: LintOutcome) -> str:
    """ " changed since origin/main (merge base 1a2b3c4d5e6f)": which files the count is about."""
    if outcome.since is None:
        return ""
    return f" changed since {outcome.since.ref} (merge base {outcome.since.merge_base[:12]})"


def run_lint(given: Given) -> None:
    settings, as_json, fail_on, list_rules = given.settings, bool(given["json"]), given["fail_on"], given["rules"]
    pending, url, env, pg_version, since = (
        given["pending"],
        given["url"],
        given["env"],
        given["pg_version"],
        given["since"],
    )
    paths = [*(given["file"] or []), *shlex.split(given.remainder)]
    with guarded(None, as_json):
        output_format = given["format"]
        chosen = _output_format(as_json, output_format, list_rules)
        if list_rules and given["fix"]:
            raise UserError("--rules lists the rules; --fix rewrites migrations: give one of them")
        refuse_bad_combinations(given, paths, chosen)
    as_json = chosen == "json"
    if list_rules:
        _print_rules(as_json)
        return
    with guarded(url, as_json):
        if pending and paths:
            raise UserError("--pending lints the workspace's unapplied migrations; give either files or --pending")
        if since is not None and (pending or paths):
            raise UserError(
                "--since lints the migrations the branch changed, --pending the ones a database lacks, files are "
                "files: give one of them"
            )
        if (url or env) and not pending:
            raise UserError("--url and --env only matter with --pending; without it lint never connects")
        rules = select_rules(given["exclude"])
        if given["fix"]:  # its own output and exit codes (cli/lint_fix.py)
            run_fix(given, paths, rules, as_json)
            return
        if pending:
            outcome = lint_pending(one_database(given), rules, pg_version)
        elif since is not None:
            outcome = lint_since(build_request(settings, as_json=as_json, log=render.log), since, rules, pg_version)
        elif paths:
            outcome = lint_files(settings, paths, rules, pg_version)
        else:
            outcome = lint_workspace(build_request(settings, as_json=as_json, log=render.log), rules, pg_version)
    findings, sources, seconds = outcome.findings, outcome.sources, outcome.seconds
    threshold = FAIL_ON[fail_on]
    failing = [f for f in findings if threshold is not None and f.severity.rank >= threshold.rank]
    counts = {s.value: sum(f.severity is s for f in findings) for s in Severity}
    if as_json:
        render.print_json(
            {
                "ok": not failing,
                "fail_on": fail_on,
                "files": [shown for shown, _ in sources],
                "findings": [f.as_dict() for f in findings],
                "summary": counts,
                "pg_version": outcome.pg_version,
                "pg_version_from": outcome.pg_version_from,
                "since": _since_json(outcome),
                "seconds": round(seconds, 4),
            }
        )
    elif chosen == "markdown":
        from drizzle_ops.cli.lint_markdown import append_to_step_summary, render_markdown

        text = render_markdown(
            findings,
            files=len(sources),
            failing=len(failing),
            fail_on=fail_on,
            pg_version=outcome.pg_version,
            pg_version_from=outcome.pg_version_from,
        )
        sys.stdout.write(text)
        append_to_step_summary(text)
    else:
        if findings:
            _print_findings(findings)
        scope = f"{len(sources)} file(s){_since_text(outcome)}"
        render.out.print(
            f"{counts['error']} error(s), {counts['warning']} warning(s) in {scope} "
            f"({seconds * 1000:.0f} ms; judged for PostgreSQL {outcome.pg_version}, {outcome.pg_version_from})",
            highlight=False,
        )
    if failing:
        raise Exit(f"lint failed: {len(failing)} finding(s) at level {fail_on} or above", code=1)
