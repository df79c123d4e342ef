"""`status`: one row per migration (shortened past 20), the counts, and `--check`'s exit code."""

from __future__ import annotations

from invoke.exceptions import Exit

from drizzle_ops.cli import render, tables
from drizzle_ops.cli.flags import Given
from drizzle_ops.cli.guard import guarded
from drizzle_ops.cli.where import where_to
from drizzle_ops.commands.status import status
from drizzle_ops.context.request import Request
from drizzle_ops.engine.states import MigrationState
from drizzle_ops.engine.states import drifted as drifted_entries
from drizzle_ops.engine.transactionality import Mode

# how migrate runs a migration that is not one transaction of ours, for the lines under the table
HOW = {
    Mode.OWN_TRANSACTIONS: "its BEGIN and COMMIT decide, as under drizzle-kit (a pooled URL needs the direct one)",
    Mode.NO_TRANSACTION: "statement by statement, each committed (a pooled URL needs the direct one)",
    Mode.BATCH: "by primary key, each batch its own transaction; resumes where a stopped run left it",
}


def _with_mode(entry: dict[str, object], modes: dict[str, Mode]) -> dict[str, object]:
    mode = modes.get(str(entry["tag"]))
    return {**entry, "transactions": mode.description} if mode is not None else entry


def run_status(given: Given) -> None:
    as_json, check, show_all = given.as_json, given["check"], given["all"]
    if given["schema"]:  # --schema: also compare the live schema with the snapshot of the applied head
        from drizzle_ops.cli.drift import run_drift

        run_drift(given, fleet_flags=True, pending_fails=True)
        return
    with guarded(given["url"], as_json):
        where = where_to(given, fleet=given.fleet_flags())
    if not isinstance(where, Request):  # one row per target: applied, pending, drift
        from drizzle_ops.cli.fleet.tasks import run_fleet_status

        run_fleet_status(where, as_json=as_json, check=check)
        return
    with guarded(given["url"], as_json):
        outcome = status(where)
    workspace, database, entries = outcome.workspace, outcome.database, outcome.entries
    drifted = drifted_entries(entries)
    pending = [e for e in entries if e.state is MigrationState.PENDING]
    if as_json:
        render.print_json(
            {
                "database": database,
                "workspace": str(workspace.root),
                "migrations_table": f"{workspace.migrations_schema}.{workspace.migrations_table}",
                "migrations": [_with_mode(render.entry_dict(e), outcome.modes) for e in entries],
                "summary": render.summary(entries),
                "ok": not drifted and not pending,
            }
        )
    else:
        title = f"{database} · {workspace.migrations_schema}.{workspace.migrations_table}"
        tables.show(render.status_table(entries, title, show_all=show_all))
        render.out.print(render.counts_line(entries), highlight=False, markup=False)
        for tag, mode in outcome.modes.items():
            render.out.print(f"{tag} {mode.description}: {HOW[mode]}", highlight=False)
    if check and (drifted or pending):
        # what fails, by state, with the names when they are few: the one line a CI log shows for sure
        raise Exit(f"status check failed: {render.listing(render.state_counts([*pending, *drifted]))}", code=1)
