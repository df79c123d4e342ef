"""`inv lint --fix [--check]`: the diff of each fixed migration, what is left and why, and the exit code.

Exit 0 when nothing needed fixing or everything fixable was fixed; with --check, exit 1 when a fix would
change a file or add a migration (nothing is written, drizzle-kit is not run); exit 2 for bad input.
Findings that no fix removes are listed with their reason but do not change the exit code: plain `lint`
is the gate for those.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from invoke.exceptions import Exit
from rich.text import Text

from drizzle_ops.cli import render
from drizzle_ops.cli.flags import Given
from drizzle_ops.cli.guard import guarded
from drizzle_ops.cli.where import one_database
from drizzle_ops.context.request import build_request
from drizzle_ops.errors import UserError
from drizzle_ops.lint import Rule

if TYPE_CHECKING:  # the fix's own code loads only when --fix runs: `inv lint` alone never needs it
    from drizzle_ops.commands.lint_fix import FixOutcome
    from drizzle_ops.drizzle_kit.follow_ups import Added
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
    if given["rollback_dir"] is not None and not given["fix"]:
        raise UserError(
            "--rollback-dir goes with --fix: it is where the down files of the migrations `lint --fix` adds go"
        )
    if not given["fix"]:
        return
    if chosen == "markdown":
        raise UserError("--fix prints a diff (or --json); --format markdown is for findings")
    if not (given["pending"] or given["since"] is not None or paths):
        raise UserError(NEEDS_A_SELECTION)


def run_fix(given: Given, paths: list[str], rules: tuple[Rule, ...], as_json: bool) -> None:
    from drizzle_ops.commands.lint_fix import fix_files, fix_pending, fix_since

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
        adds = f" and add {len(outcome.added)} migration(s)" if outcome.added else ""
        raise Exit(
            f"lint --fix --check failed: a fix would change {len(outcome.changed)} file(s){adds}; run "
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
            "added": [a.as_dict() for a in outcome.added],
            "refused": [{"file": r.file, "reason": r.reason} for r in outcome.refused],
            "pg_version": outcome.pg_version,
            "pg_version_from": outcome.pg_version_from,
            "since": {"ref": outcome.since.ref, "merge_base": outcome.since.merge_base} if outcome.since else None,
            "seconds": round(outcome.seconds, 4),
        }
    )


def show_diff(fix: FileFix | Added) -> None:
    """The file's diff (a new file's from /dev/null): colored at a terminal, else exactly as `git apply` reads it."""
    diff = fix.diff()
    if render.out.is_terminal:
        from rich.syntax import Syntax  # pygments: only to colour a diff at a terminal

        render.out.print(Syntax(diff.rstrip("\n"), "diff", theme="ansi_dark", word_wrap=True))
    else:  # as it is, so that `lint --fix --check > fix.patch` gives a patch git applies
        sys.stdout.write(diff)
        sys.stdout.flush()


def show_added(added: list[Added], written: bool) -> None:
    """What each new migration is, and that drizzle-kit made it (or would), with its down file."""
    if not added:
        return
    render.out.print(
        "Added by drizzle-kit generate --custom (journal entry and snapshot), after the fixed migration:"
        if written
        else "Would add with drizzle-kit generate --custom after the fixed migration (not run under --check; "
        "drizzle-kit picks the final names):",
        style="bold",
    )
    for one in added:
        if not written:
            down = f"down file {one.down_file}"
        elif one.down_written:
            down = f"down file {one.down_file} written"
        else:
            down = f"down file {one.down_file} kept (it was there already)"
        render.out.print(Text(f"  {one.file}: {one.follow_up.purpose}; {down}"))
    relaxed = sorted({one.follows for one in added if one.follow_up.not_null})
    if relaxed:
        render.out.print(
            Text(
                f"  The snapshots of {', '.join(relaxed)} and of the backfills show the column(s) nullable, the NOT "
                "NULL migration's NOT NULL: each one as the catalog is after it."
            )
        )


def _print_text(outcome: FixOutcome) -> None:
    for fix in outcome.changed:
        show_diff(fix)
    for added in outcome.added:
        show_diff(added)
    show_added(outcome.added, outcome.write)
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
    adds = len(outcome.added)
    if not files:
        what = "nothing to fix"
    elif outcome.write:
        what = f"fixed {statements} statement(s) in {files} file(s)" + (f", added {adds} migration(s)" if adds else "")
    else:
        would = f" and add {adds} migration(s)" if adds else ""
        what = f"a fix would change {statements} statement(s) in {files} file(s){would}; nothing written (--check)"
    render.out.print(
        f"lint --fix: {what}; {outcome.scope}; judged for PostgreSQL {outcome.pg_version} ({outcome.pg_version_from}).",
        highlight=False,
    )
