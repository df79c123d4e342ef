"""`migrate`: apply pending migrations and render what was applied."""

from __future__ import annotations

from collections.abc import Sequence

from drizzle_ops.cli import render, tables
from drizzle_ops.cli.edge import guarded, open_context
from drizzle_ops.cli.fleet.flags import refuse_fleet_flags, refuse_on_fleet
from drizzle_ops.commands.migrate import migrate
from drizzle_ops.context.config import Settings
from drizzle_ops.context.fleet.build import Shard

RUNNERS = ("drizzle-ops", "drizzle")


def run_migrate(
    settings: Settings,
    *,
    url: str | None,
    env: str | None,
    as_json: bool,
    to: str | None,
    dry_run: bool,
    allow_out_of_order: bool,
    allow_modified: bool,
    yes: bool = False,
    verify: bool = False,
    runner: str | None = None,
    shard: Shard | None = None,
    only: Sequence[str] | str | None = None,
    keep_going: bool = False,
) -> None:
    with guarded(as_json=as_json):
        flags = {"--shard": shard, "--only": only, "--keep-going": keep_going}
        fleet = refuse_fleet_flags(settings, env, url, [flag for flag, value in flags.items() if value])
        if fleet:
            refuse_on_fleet(
                str(env), [f for f, v in {"--dry-run": dry_run, "--runner": runner == "drizzle"}.items() if v]
            )
    if fleet:  # many databases: each runs exactly the path below, under its own context
        from drizzle_ops.cli.fleet.tasks import run_fleet_migrate

        run_fleet_migrate(
            settings,
            env=str(env),
            as_json=as_json,
            shard=shard,
            only=only,
            keep_going=keep_going,
            yes=yes,
            to=to,
            allow_out_of_order=allow_out_of_order,
            allow_modified=allow_modified,
            verify=verify,
        )
        return
    if runner == "drizzle":  # the workspace's own drizzle-kit migrate, under our lock
        from drizzle_ops.cli.migrate_drizzle import run_migrate_drizzle

        given = {"--to": to, "--dry-run": dry_run, "--allow-out-of-order": allow_out_of_order, "--verify": verify}
        run_migrate_drizzle(
            settings,
            url=url,
            env=env,
            as_json=as_json,
            allow_modified=allow_modified,
            yes=yes,
            unsupported=[flag for flag, value in given.items() if value],
        )
        return
    with guarded(url, as_json), render.ConsoleProgress() as progress:
        ctx = open_context(settings, url=url, env=env, as_json=as_json, yes=yes)
        outcome = migrate(
            ctx,
            to=to,
            dry_run=dry_run,
            allow_out_of_order=allow_out_of_order,
            allow_modified=allow_modified,
            verify=verify,
            progress=progress,
        )
    result = outcome.result
    if as_json:
        render.print_json(
            {
                "ok": True,
                "database": outcome.database,
                "dry_run": result.dry_run,
                "applied": [
                    {"tag": a.tag, "statements": a.statements, "seconds": round(a.seconds, 4)} for a in result.applied
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
