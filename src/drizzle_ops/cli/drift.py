"""`drift` and `status --schema`: files against rows and the live schema against the applied head's snapshot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoke.exceptions import Exit

from drizzle_ops.cli import render, tables
from drizzle_ops.cli.flags import Given
from drizzle_ops.cli.guard import guarded
from drizzle_ops.cli.where import where_to
from drizzle_ops.commands.drift import drift
from drizzle_ops.context.request import Reading, Request
from drizzle_ops.engine.states import Entry, MigrationState
from drizzle_ops.engine.states import drifted as drifted_entries

if TYPE_CHECKING:
    from drizzle_ops.verify.compare import Difference


def run_drift_task(given: Given) -> None:
    """`inv drift`: pending migrations do not fail --check (before a deploy they are expected)."""
    run_drift(given, pending_fails=False)


def run_drift(given: Given, *, fleet_flags: bool = False, pending_fails: bool = True) -> None:
    """`status --schema` (``pending_fails``: pending migrations fail --check, as in status; ``fleet_flags``: it
    takes status's, and refuses them and a fleet) or `inv drift` (pending is fine: only drift should block).

    Accepted differences (the reviewed file) and warnings are shown but never fail; a head
    without a snapshot skips the schema comparison."""
    from drizzle_ops.verify.conformance import report_lines, stale_note

    as_json, check, show_all = given.as_json, given["check"], bool(given.values.get("all"))
    with guarded(given["url"], as_json):
        fleet = given.fleet_flags() if fleet_flags else None
        request = where_to(given, Reading.SNAPSHOT_CHAIN, fleet=fleet, not_on_fleet=["--schema"] if fleet else ())
        assert isinstance(request, Request)  # a fleet is refused: --schema reads one database
        outcome = drift(request)
    entries, conformance = outcome.entries, outcome.conformance
    drifted = drifted_entries(entries)
    pending = [e for e in entries if e.state is MigrationState.PENDING] if pending_fails else []
    workspace = outcome.workspace
    if as_json:
        warnings = [str(w) for w in conformance.warnings]
        if conformance.stale:
            warnings.append(stale_note(conformance.stale, outcome.accepted_file))
        render.print_json(
            {
                "database": outcome.database,
                "workspace": str(workspace.root),
                "migrations_table": f"{workspace.migrations_schema}.{workspace.migrations_table}",
                "migrations": [render.entry_dict(e) for e in entries],
                "summary": render.summary(entries),
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
        tables.show(render.status_table(entries, title, show_all=show_all))
        render.out.print(render.counts_line(entries), highlight=False, markup=False)
        for e in drifted:
            render.out.print(_drift_line(e), highlight=False, markup=False)
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
        render.out.print(headline, highlight=False, markup=False)
        for line in report_lines(conformance, outcome.accepted_file):
            render.out.print(f"  {line}", highlight=False, markup=False)
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
    if entry.state is MigrationState.MODIFIED and entry.row:
        return (
            f"modified: {entry.tag} changed after it was applied (recorded {entry.row.hash[:12]}, "
            f"file {(entry.file_hash or '')[:12]}); restore it, or `inv repair --tag {entry.tag} --yes`"
        )
    if entry.state is MigrationState.OUT_OF_ORDER and entry.by_name:
        return (
            f"out-of-order: {entry.tag} is not applied but older than the newest applied migration; drizzle-kit 1.0 "
            "applies it (it decides by name), and so does `inv migrate` (`--strict` refuses it)"
        )
    if entry.state is MigrationState.OUT_OF_ORDER:
        return (
            f"out-of-order: {entry.tag} is not applied but older than the newest applied migration "
            "(drizzle-kit would skip it); `inv migrate --allow-out-of-order` applies it"
        )
    return f"missing-file: row {entry.row.id if entry.row else '?'} has no file in this workspace"
