"""`inv lint --fix [--check]`: the diff of each fixed migration, what is left and why, and the exit code.

Exit 0 when nothing needed fixing or everything fixable was fixed; with --check, exit 1 when a fix would
change a file (nothing is written); exit 2 for bad input. Findings that no fix removes are listed with
their reason but do not change the exit code: plain `lint` is the gate for those.
"""

from __future__ import annotations

import sys

from invoke.exceptions import Exit
from rich.syntax import Syntax
from rich.text import Text

from drizzle_ops.cli import render
from drizzle_ops.cli.flags import Given
from drizzle_ops.cli.guard import guarded
from drizzle_ops.cli.where import one_database
from drizzle_ops.commands.lint_fix import FixOutcome, fix_files, fix_pending, fix_since
from drizzle_ops.context.request import build_request
from drizzle_ops.errors import UserError
from drizzle_ops.lint import Rule
from drizzle_ops.lint.fix import FileFix

NEEDS_A_SELECTION = (
    "--fix rewrites migrations, and one that a database applied must not change (its hash would no longer "
    "match): say which may change with --pending --url URL (that database's pending ones), --since REF (the "
    "ones the branch adds) or --file FILE (files git has not committed)"
)


def refuse_bad_combinations(given: Given, paths: list[str], chosen: str) -> None:
    """--check only with --fix; --fix prints a diff, not markdown, and needs a selection."""
    if given["check"] and not given["fix"]:
        raise UserError("--check goes with --fix: `lint --fix --check` prints what a fix would change and exits 1")
    if not given["fix"]:
        return
    if chosen == "markdown":
        raise UserError("--fix prints a diff (or --json); --format markdown is for findings")
    if not (given["pending"] or given["since"] is not None or paths):
        raise UserError(NEEDS_A_SELECTION)


def run_fix(given: Given, paths: list[str], rules: tuple[Rule, ...], as_json: bool) -> None:
    settings, pg_version, write = given.settings, given["pg_version"], not given["check"]
    with guarded(given["url"], as_json):
        if given["pending"]:
            outcome = fix_pending(one_database(given), rules, pg_version, write=write)
        elif given["since"] is not None:
            request = build_request(settings, as_json=as_json, log=render.log)
            outcome = fix_since(request, given["since"], rules, pg_version, write=write)
        else:
            outcome = fix_files(settings, paths, rules, pg_version, write=write)
    if as_json:
        _print_json(outcome)
    else:
        _print_text(outcome)
    if not write and outcome.changed:
        raise Exit(
            f"lint --fix --check failed: a fix would change {len(outcome.changed)} file(s); run "
            "`lint --fix` with the same selection and commit the result",
            code=1,
        )


def _print_json(outcome: FixOutcome) -> None:
    render.print_json(
        {
            "ok": outcome.write or not outcome.changed,
            "check": not outcome.write,
            "written": outcome.written,
            "files": [f.as_dict() for f in outcome.fixes if f.changed or f.unfixed],
            "refused": [{"file": r.file, "reason": r.reason} for r in outcome.refused],
            "pg_version": outcome.pg_version,
            "pg_version_from": outcome.pg_version_from,
            "since": {"ref": outcome.since.ref, "merge_base": outcome.since.merge_base} if outcome.since else None,
            "seconds": round(outcome.seconds, 4),
        }
    )


def show_diff(fix: FileFix) -> None:
    """The file's diff: colored at a terminal, else exactly as `git apply` reads it."""
    diff = fix.diff()
    if render.out.is_terminal:
        render.out.print(Syntax(diff.rstrip("\n"), "diff", theme="ansi_dark", word_wrap=True))
    else:  # as it is, so that `lint --fix --check > fix.patch` gives a patch git applies
        sys.stdout.write(diff)
        sys.stdout.flush()


def _print_text(outcome: FixOutcome) -> None:
    for fix in outcome.changed:
        show_diff(fix)
    left = [(fix.path, u) for fix in outcome.fixes for u in fix.unfixed]
    if left:
        render.out.print("Not fixed (lint still reports these):", style="bold")
        for path, unfixed in left:
            line = Text(f"  {path}:{unfixed.line} ")
            line.append(unfixed.rule, style="bold")
            line.append(f": {unfixed.reason}")
            render.out.print(line)
    if outcome.refused:
        render.out.print("Not changed (a database may have applied them):", style="bold")
        for refused in outcome.refused:
            render.out.print(Text(f"  {refused.file}: {refused.reason}"))
    statements = sum(len(f.changes) for f in outcome.changed)
    files = len(outcome.changed)
    if not files:
        what = "nothing to fix"
    elif outcome.write:
        what = f"fixed {statements} statement(s) in {files} file(s)"
    else:
        what = f"a fix would change {statements} statement(s) in {files} file(s); nothing written (--check)"
    render.out.print(
        f"lint --fix: {what}; {outcome.scope}; judged for PostgreSQL {outcome.pg_version} ({outcome.pg_version_from}).",
        highlight=False,
    )
