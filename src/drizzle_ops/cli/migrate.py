"""`migrate`: apply pending migrations and render what was applied."""

from __future__ import annotations

from drizzle_ops.cli import render, tables
from drizzle_ops.cli.flags import Given
from drizzle_ops.cli.guard import guarded
from drizzle_ops.cli.where import where_to
from drizzle_ops.commands.migrate import MigrateOptions, migrate
from drizzle_ops.context.request import Request


def run_migrate(given: Given) -> None:
    as_json, options = given.as_json, given.options(MigrateOptions)
    drizzle_runner = given["runner"] == "drizzle"
    not_on_fleet = given.named("dry_run") + (["--runner"] if drizzle_runner else [])
    if drizzle_runner:  # the workspace's own drizzle-kit migrate, under our lock
        from drizzle_ops.cli.migrate_drizzle import run_migrate_drizzle

        run_migrate_drizzle(given, not_on_fleet)
        return
    with guarded(given["url"], as_json):
        where = where_to(given, fleet=given.fleet_flags(), not_on_fleet=not_on_fleet)
    if not isinstance(where, Request):  # many databases: each runs exactly the path below, with its own request
        from drizzle_ops.cli.fleet.tasks import run_fleet_migrate

        run_fleet_migrate(where, given, options)
        return
    with guarded(given["url"], as_json), render.ConsoleProgress() as progress:
        outcome = migrate(where, options, progress)
    result = outcome.result
    if as_json:
        render.print_json(
            {
                "ok": True,
                "database": outcome.database,
                "dry_run": result.dry_run,
                "applied": [
                    {
                        "tag": a.tag,
                        "statements": a.statements,
                        "seconds": round(a.seconds, 4),
                        **({"batches": a.batches.batches, "rows_changed": a.batches.rows} if a.batches else {}),
                    }
                    for a in result.applied
                ],
                "would_apply": [m.tag for m in result.planned] if result.dry_run else [],
                "lock_waited_seconds": round(result.lock_waited, 3),
                "applied_by_another_run": result.applied_elsewhere,
                "warnings": result.warnings,
                "summary": render.summary(outcome.entries),
            }
        )
        return
    total = len(outcome.workspace.migrations)
    if result.dry_run:
        if not result.planned:
            render.out.print(f"Nothing to migrate on {outcome.database}: all {total} migrations are applied.")
            return
        for m in result.planned:
            render.out.print(f"-- {m.tag} ({m.sql_path})", style="bold", highlight=False)
            render.out.print(m.text.rstrip(), highlight=False, markup=False)
            render.out.print()
        tables.show(render.migrate_table(result))
        render.out.print(
            f"Dry run: {len(result.planned)} migration(s) would be applied to {outcome.database}; nothing was changed."
        )
        return
    if result.lock_waited > 0.5:
        render.log(f"waited {result.lock_waited:.1f}s for the migration lock")
    if result.applied_elsewhere:  # planned here, then applied by a run that held the lock first: not ours, not twice
        render.log(f"applied meanwhile by another run: {', '.join(result.applied_elsewhere)}")
    if not result.applied:
        render.out.print(
            f"Nothing to migrate on {outcome.database}: all {total} migrations are applied.", highlight=False
        )
        return
    if len(result.applied) <= render.TABLE_LIMIT:
        tables.show(render.migrate_table(result))
    seconds = sum(a.seconds for a in result.applied)
    render.out.print(
        f"Applied {len(result.applied)} migration(s) to {outcome.database} in {seconds:.2f}s.", highlight=False
    )
