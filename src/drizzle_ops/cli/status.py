"""`status`: one row per migration (shortened past 20), the counts, and `--check`'s exit code."""

from __future__ import annotations

from collections.abc import Sequence

from invoke.exceptions import Exit

from drizzle_ops.cli import render, tables
from drizzle_ops.cli.edge import guarded, open_context
from drizzle_ops.cli.fleet.flags import refuse_fleet_flags, refuse_on_fleet
from drizzle_ops.commands.status import status
from drizzle_ops.context.config import Settings
from drizzle_ops.context.fleet.build import Shard
from drizzle_ops.engine.states import MigrationState
from drizzle_ops.engine.states import drifted as drifted_entries
from drizzle_ops.engine.transactionality import Mode

# how migrate runs a migration that is not one transaction of ours, for the lines under the table
HOW = {
    Mode.OWN_TRANSACTIONS: "its BEGIN and COMMIT decide, as under drizzle-kit (a pooled URL needs the direct one)",
    Mode.NO_TRANSACTION: "statement by statement, each committed (a pooled URL needs the direct one)",
}


def _with_mode(entry: dict[str, object], modes: dict[str, Mode]) -> dict[str, object]:
    mode = modes.get(str(entry["tag"]))
    return {**entry, "transactions": mode.description} if mode is not None else entry


def run_status(
    settings: Settings,
    *,
    url: str | None,
    env: str | None,
    as_json: bool,
    check: bool,
    schema: bool = False,
    show_all: bool = False,
    shard: Shard | None = None,
    only: Sequence[str] | str | None = None,
) -> None:
    with guarded(as_json=as_json):
        flags = {"--shard": shard, "--only": only}
        fleet = refuse_fleet_flags(settings, env, url, [flag for flag, value in flags.items() if value])
        if fleet:
            refuse_on_fleet(str(env), ["--schema"] if schema else [])
    if fleet:  # one row per target: applied, pending, drift
        from drizzle_ops.cli.fleet.tasks import run_fleet_status

        run_fleet_status(settings, env=str(env), as_json=as_json, check=check, shard=shard, only=only)
        return
    if schema:  # --schema: also compare the live schema with the snapshot of the applied head
        from drizzle_ops.cli.drift import run_drift

        run_drift(settings, url=url, env=env, as_json=as_json, check=check, show_all=show_all)
        return
    with guarded(url, as_json):
        outcome = status(open_context(settings, url=url, env=env, as_json=as_json))
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
