"""`repair`: show the diff of an edited applied migration; with --yes record its new hash, with an audit line."""

from __future__ import annotations

import getpass
from datetime import datetime, timezone

from invoke.exceptions import Exit

from drizzle_ops.cli import render
from drizzle_ops.cli.flags import Given
from drizzle_ops.cli.guard import guarded
from drizzle_ops.cli.where import lock_wait_line, one_database
from drizzle_ops.commands.repair import repair
from drizzle_ops.errors import UserError


def run_repair(given: Given) -> None:
    as_json, tag = given.as_json, given["tag"]
    with guarded(given["url"], as_json):
        if not tag:
            raise UserError("repair needs --tag TAG: the migration whose edited file should be recorded as applied")
        outcome = repair(one_database(given), tag=tag, on_wait=lock_wait_line)
    plan = outcome.plan
    if as_json:
        render.print_json(
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
            render.out.print(
                f"Nothing to repair: the recorded hash of {tag} on {outcome.database} matches its file.",
                highlight=False,
            )
        return
    if not as_json:
        if plan.diff is not None:
            render.out.print(plan.diff.rstrip("\n"), highlight=False, markup=False)
        else:
            render.out.print(
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
    render.log(
        f"audit: {when} {getpass.getuser()} repaired {tag} on {outcome.database} "
        f"(bookkeeping row {plan.row_id}): hash {plan.old_hash} -> {plan.new_hash}"
    )
    if not as_json:
        render.out.print(f"Recorded the current hash of {tag} on {outcome.database}.", highlight=False)
