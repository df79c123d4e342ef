"""CLI glue for `inv generate`, `inv repair`, `inv drift` (`status --schema`), `migrate --runner drizzle`
and `verify --rollback-drafts`: call one command, render, map the outcome to an exit code."""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from invoke.exceptions import Exit
from rich.table import Table
from rich.text import Text

from drizzle_ops import commands, report
from drizzle_ops.cli import guarded, terminal_prompt
from drizzle_ops.context.config import Settings
from drizzle_ops.engine.plan import Entry, State
from drizzle_ops.engine.plan import drifted as drifted_entries
from drizzle_ops.errors import UserError
from drizzle_ops.lint import Finding

if TYPE_CHECKING:
    from drizzle_ops.verify.compare import Difference

RUNNERS = ("drizzle-ops", "drizzle")


# -- generate ---------------------------------------------------------------------------------------------


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


def generate(settings: Settings, *, name: str | None, custom: bool, as_json: bool) -> None:
    with guarded(as_json=as_json):
        result = commands.generate(settings, name=name, custom=custom, log=report.log)
    migration, draft = result.migration, result.draft
    if as_json:
        report.print_json(
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
            report.out.print("drizzle-kit found no schema changes: nothing was generated.", highlight=False)
        else:
            report.out.print("drizzle-kit wrote no migration; its output above says why.", highlight=False)
        return
    report.out.print(
        f"Generated {migration.tag}: {result.sql_display} ({len(migration.statements)} statement(s)).",
        highlight=False,
    )
    if result.lint_error:
        report.out.print(f"Lint could not read the new SQL: {result.lint_error}", highlight=False, markup=False)
    elif result.findings:
        report.out.print(_findings_table(result.findings))
    else:
        report.out.print("Lint: no findings.", highlight=False)
    if draft is None:
        return
    if not result.draft_written:
        report.out.print(
            f"Kept the existing down file {result.draft_display} (a draft is never written over a file).",
            highlight=False,
        )
        return
    reviews = f", {len(draft.reviews)} REVIEW note(s)" if draft.reviews else ""
    report.out.print(
        f"Drafted the down migration {result.draft_display} ({draft.statements} statement(s){reviews}): "
        "review it, then delete its DRAFT line.",
        highlight=False,
    )


def check_drafts(settings: Settings, *, as_json: bool) -> None:
    """`inv verify --rollback-drafts`: fail while a down file of a journal migration is still a draft."""
    with guarded(as_json=as_json):
        workspace, drafts = commands.rollback_drafts(settings)
    if as_json:
        report.print_json(
            {
                "ok": not drafts,
                "drafts": [{"tag": d.tag, "file": d.display} for d in drafts],
                "migrations": len(workspace.migrations),
            }
        )
    elif drafts:
        for d in drafts:
            report.out.print(f"draft  {d.display}", highlight=False)
    else:
        report.out.print(
            f"No down file of the {len(workspace.migrations)} migration(s) is still a draft.", highlight=False
        )
    if drafts:
        raise Exit(
            f"error: {len(drafts)} down file(s) are unreviewed drafts ({', '.join(d.tag for d in drafts)}); "
            "review each and delete its `-- drizzle-ops: DRAFT` line",
            code=1,
        )


# -- drift (status --schema) ----------------------------------------------------------------------------


def drift(
    settings: Settings,
    *,
    url: str | None,
    env: str | None,
    as_json: bool,
    check: bool,
    pending_fails: bool = True,
    show_all: bool = False,
) -> None:
    """`status --schema` (``pending_fails``: pending migrations fail --check, as in status) or `inv drift`
    (they don't: before a deploy they are expected, and only drift should block it).

    Accepted differences (the reviewed file) and warnings are shown but never fail; a head
    without a snapshot skips the schema comparison."""
    from drizzle_ops.verify.conformance import report_lines, stale_note

    with guarded(url, as_json):
        outcome = commands.drift(settings, url, env, log=report.log)
    entries, conformance = outcome.entries, outcome.conformance
    drifted = drifted_entries(entries)
    pending = [e for e in entries if e.state is State.PENDING] if pending_fails else []
    workspace = outcome.workspace
    if as_json:
        warnings = [str(w) for w in conformance.warnings]
        if conformance.stale:
            warnings.append(stale_note(conformance.stale, outcome.accepted_file))
        report.print_json(
            {
                "database": outcome.database,
                "workspace": str(workspace.root),
                "migrations_table": f"{workspace.migrations_schema}.{workspace.migrations_table}",
                "migrations": [report.entry_dict(e) for e in entries],
                "summary": report.summary(entries),
                "schema": {
                    "head": conformance.head,
                    "ok": conformance.ok,
                    "skipped": conformance.skipped,
                    "differences": [_difference_dict(d) for d in conformance.differences],
                    "accepted": [_difference_dict(d) for d in conformance.accepted],
                    "warnings": warnings,
                    "accepted_file": outcome.accepted_file,
                },
                "ok": not drifted and not pending and conformance.ok,
            }
        )
    else:
        title = f"{outcome.database} · {workspace.migrations_schema}.{workspace.migrations_table}"
        report.out.print(report.status_table(entries, title, show_all=show_all))
        counts = ", ".join(f"{n} {state}" for state, n in report.summary(entries).items() if n)
        report.out.print(counts or "no migrations", highlight=False)
        for e in drifted:
            report.out.print(_drift_line(e), highlight=False, markup=False)
        target = f"the snapshot of {conformance.head}" if conformance.head else "an empty schema (nothing applied)"
        if conformance.skipped:
            headline = f"Schema: skipped ({conformance.skipped})."
        elif conformance.ok:
            accepted = (
                f" apart from {len(conformance.accepted)} accepted difference(s) in {outcome.accepted_file}"
                if conformance.accepted
                else ""
            )
            headline = f"Schema: matches {target} ({conformance.tables} table(s)){accepted}."
        else:
            headline = f"Schema: {len(conformance.differences)} difference(s) from {target}:"
        report.out.print(headline, highlight=False, markup=False)
        for line in report_lines(conformance, outcome.accepted_file):
            report.out.print(f"  {line}", highlight=False, markup=False)
    if check and (drifted or pending or not conformance.ok):
        names = [e.tag or f"row {e.row.id if e.row else '?'}" for e in drifted]
        names += [f"{d.kind} {d.name}" for d in conformance.differences]
        shown = f" ({', '.join(names[:10])}{', …' if len(names) > 10 else ''})" if names else ""
        tally = [f"{len(pending)} pending"] if pending_fails else []
        tally += [f"{len(drifted)} drifted", f"{len(conformance.differences)} schema difference(s)"]
        raise Exit(f"drift check failed: {', '.join(tally)}{shown}", code=1)


def _difference_dict(difference: Difference) -> dict[str, str]:
    return {"kind": difference.kind, "name": difference.name, "message": difference.message}


def _drift_line(entry: Entry) -> str:
    if entry.state is State.MODIFIED and entry.row:
        return (
            f"modified: {entry.tag} changed after it was applied (recorded {entry.row.hash[:12]}, "
            f"file {(entry.file_hash or '')[:12]}); restore it, or `inv repair --tag {entry.tag} --yes`"
        )
    if entry.state is State.OUT_OF_ORDER:
        return (
            f"out-of-order: {entry.tag} is not applied but older than the newest applied migration "
            "(drizzle-kit would skip it); `inv migrate --allow-out-of-order` applies it"
        )
    return f"missing-file: row {entry.row.id if entry.row else '?'} has no file in this workspace"


# -- repair -----------------------------------------------------------------------------------------------


def repair(settings: Settings, *, url: str | None, env: str | None, as_json: bool, tag: str | None, yes: bool) -> None:
    with guarded(url, as_json):
        if not tag:
            raise UserError("repair needs --tag TAG: the migration whose edited file should be recorded as applied")
        outcome = commands.repair(
            settings, url, env, tag=tag, yes=yes, ask=terminal_prompt(), log=report.log, on_wait=_waiting
        )
    plan = outcome.plan
    if as_json:
        report.print_json(
            {
                "ok": plan is None or plan.done,
                "tag": tag,
                "database": outcome.database,
                "repaired": bool(plan and plan.done),
                "row_id": plan.row_id if plan else None,
                "old_hash": plan.old_hash if plan else None,
                "new_hash": plan.new_hash if plan else None,
                "applied_version": plan.recorded.source if plan and plan.recorded else None,
                "diff": plan.diff if plan else None,
            }
        )
    if plan is None:
        if not as_json:
            report.out.print(
                f"Nothing to repair: the recorded hash of {tag} on {outcome.database} matches its file.",
                highlight=False,
            )
        return
    if not as_json:
        if plan.diff is not None:
            report.out.print(plan.diff.rstrip("\n"), highlight=False, markup=False)
        else:
            report.out.print(
                f"The applied version of {tag} is not in git history, so no diff can be shown.\n"
                f"recorded hash: {plan.old_hash}\ncurrent hash:  {plan.new_hash}",
                highlight=False,
            )
    if not plan.done:
        raise Exit(
            f"error: repair rewrites the recorded hash of {tag} on {outcome.database}; "
            "check the change above, then run again with --yes",
            code=2,
        )
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    report.log(
        f"audit: {when} {getpass.getuser()} repaired {tag} on {outcome.database} "
        f"(bookkeeping row {plan.row_id}): hash {plan.old_hash} -> {plan.new_hash}"
    )
    if not as_json:
        report.out.print(f"Recorded the current hash of {tag} on {outcome.database}.", highlight=False)


def _waiting(holder: object) -> None:
    report.log(f"waiting for the migration lock, held by {holder or 'another process'} …")


# -- migrate --runner drizzle -----------------------------------------------------------------------------


def check_runner(runner: str | None, as_json: bool = False) -> str:
    value = runner or "drizzle-ops"
    with guarded(as_json=as_json):
        if value not in RUNNERS:
            raise UserError(f"--runner {value!r}: choose one of {', '.join(RUNNERS)}")
    return value


def migrate_drizzle(
    settings: Settings,
    *,
    url: str | None,
    env: str | None,
    as_json: bool,
    allow_modified: bool,
    yes: bool,
    unsupported: Sequence[str] = (),
) -> None:
    with guarded(url, as_json):
        if unsupported:
            raise UserError(
                f"{', '.join(unsupported)} cannot be combined with --runner drizzle (drizzle-kit migrate applies "
                "everything pending); leave them out, or use the default runner"
            )
        outcome = commands.migrate_with_drizzle(
            settings,
            url,
            env,
            allow_modified=allow_modified,
            yes=yes,
            ask=terminal_prompt(),
            log=report.log,
            on_wait=_waiting,
        )
    if as_json:
        report.print_json(
            {
                "ok": outcome.ok,
                "runner": "drizzle",
                "database": outcome.database,
                "exit_code": outcome.returncode,
                "applied": outcome.applied,
                "lock_waited_seconds": round(outcome.lock_waited, 3),
                "output_tail": None if outcome.ok else _tail(outcome.output),
                "summary": report.summary(outcome.entries),
            }
        )
    else:
        if not outcome.ok:
            report.err.print(_tail(outcome.output) or "(drizzle-kit printed nothing)", highlight=False, markup=False)
        title = f"{outcome.database} · after drizzle-kit migrate"
        report.out.print(report.status_table(outcome.entries, title))
        if outcome.ok:
            done = f"applied {len(outcome.applied)}: {', '.join(outcome.applied)}" if outcome.applied else "nothing"
            report.out.print(f"drizzle-kit migrate under the drizzle-ops lock: {done}.", highlight=False)
    if not outcome.ok:
        raise Exit(
            f"error: `{' '.join(outcome.command)}` failed with exit code {outcome.returncode}"
            f" after applying {len(outcome.applied)} migration(s); drizzle-kit prints nothing on an SQL error, "
            "so see the status above for what was applied, then run `inv migrate` for the failing statement",
            code=1,
        )


def _tail(output: str, lines: int = 20) -> str:
    return "\n".join(output.rstrip().splitlines()[-lines:])
