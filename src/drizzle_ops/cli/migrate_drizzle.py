"""`migrate --runner drizzle`: run the workspace's own drizzle-kit migrate under our lock, and report it."""

from __future__ import annotations

from collections.abc import Sequence

from invoke.exceptions import Exit

from drizzle_ops.cli import render, tables
from drizzle_ops.cli.flags import Given
from drizzle_ops.cli.guard import guarded
from drizzle_ops.cli.where import lock_wait_line, where_to
from drizzle_ops.commands.migrate_drizzle import migrate_with_drizzle
from drizzle_ops.context.request import Request
from drizzle_ops.errors import UserError


def run_migrate_drizzle(given: Given, not_on_fleet: Sequence[str]) -> None:
    as_json = given.as_json
    unsupported = given.named("to", "dry_run", "allow_out_of_order", "verify")

    def refuse_unsupported() -> None:
        if unsupported:
            raise UserError(
                f"{', '.join(unsupported)} cannot be combined with --runner drizzle (drizzle-kit migrate applies "
                "everything pending); leave them out, or use the default runner"
            )

    with guarded(given["url"], as_json):
        request = where_to(given, fleet=given.fleet_flags(), not_on_fleet=not_on_fleet, then=refuse_unsupported)
        assert isinstance(request, Request)  # a fleet refuses --runner drizzle
        outcome = migrate_with_drizzle(request, allow_modified=given["allow_modified"], on_wait=lock_wait_line)
    if as_json:
        render.print_json(
            {
                "ok": outcome.ok,
                "runner": "drizzle",
                "database": outcome.database,
                "exit_code": outcome.returncode,
                "applied": outcome.applied,
                "lock_waited_seconds": round(outcome.lock_waited, 3),
                "output_tail": None if outcome.ok else _tail(outcome.output),
                "summary": render.summary(outcome.entries),
            }
        )
    else:
        if not outcome.ok:
            render.err.print(_tail(outcome.output) or "(drizzle-kit printed nothing)", highlight=False, markup=False)
        title = f"{outcome.database} · after drizzle-kit migrate"
        tables.show(render.status_table(outcome.entries, title))
        if outcome.ok:
            done = f"applied {len(outcome.applied)}: {', '.join(outcome.applied)}" if outcome.applied else "nothing"
            render.out.print(f"drizzle-kit migrate under the drizzle-ops lock: {done}.", highlight=False)
    if not outcome.ok:
        raise Exit(
            f"error: `{' '.join(outcome.command)}` failed with exit code {outcome.returncode}"
            f" after applying {len(outcome.applied)} migration(s); drizzle-kit prints nothing on an SQL error, "
            "so see the status above for what was applied, then run `inv migrate` for the failing statement",
            code=1,
        )


def _tail(output: str, lines: int = 20) -> str:
    return "\n".join(output.rstrip().splitlines()[-lines:])
