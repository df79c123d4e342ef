"""`inv rollback`: parse its flags, run the command, render the outcome."""

from __future__ import annotations

from drizzle_ops import commands, report
from drizzle_ops.cli import guarded, terminal_prompt
from drizzle_ops.context.config import Settings
from drizzle_ops.errors import UserError


def parse_steps(steps: str | int | None) -> int | None:
    if steps is None or steps == "":
        return None
    try:
        return int(steps)
    except (TypeError, ValueError):
        raise UserError(f"--steps {steps}: give a whole number of migrations, e.g. --steps 2") from None


def rollback(
    settings: Settings,
    *,
    url: str | None,
    env: str | None,
    as_json: bool,
    steps: str | int | None,
    to: str | None,
    all_: bool,
    dry_run: bool,
    yes: bool,
    verify: bool = False,
) -> None:
    with guarded(url, as_json), report.ConsoleRollbackProgress() as progress:
        outcome = commands.rollback(
            settings,
            url,
            env,
            steps=parse_steps(steps),
            to=to,
            all_=all_,
            dry_run=dry_run,
            yes=yes,
            ask=terminal_prompt(),
            progress=progress,
            log=report.log,
            verify=verify,
        )
    result = outcome.result
    if as_json:
        report.print_json(
            {
                "ok": True,
                "database": outcome.database,
                "dry_run": result.dry_run,
                "verify": verify and not result.dry_run,
                "rolled_back": [
                    {
                        "tag": s.tag,
                        "file": s.file,
                        "statements": s.statements,
                        "seconds": round(s.seconds, 4),
                        "verification": s.verification.as_dict() if s.verification else None,
                    }
                    for s in result.rolled_back
                ],
                "would_roll_back": [d.tag for d in result.planned] if result.dry_run else [],
                "lock_waited_seconds": round(result.lock_waited, 3),
                "summary": report.summary(outcome.entries),
            }
        )
        return
    if result.applied_before == 0:
        report.out.print(f"Nothing to roll back on {outcome.database}: no migration is applied.", highlight=False)
        return
    if not result.planned:
        report.out.print(f"Nothing to roll back on {outcome.database}: {to} is the newest applied migration.")
        return
    if result.dry_run:
        for down in result.planned:
            report.out.print(f"-- {down.tag} ({down.display})", style="bold", highlight=False)
            report.out.print(down.text.rstrip(), highlight=False, markup=False)
            report.out.print()
        report.out.print(report.rollback_table(result))
        report.out.print(
            f"Dry run: {len(result.planned)} migration(s) would be rolled back on {outcome.database}; "
            "nothing was changed.",
            highlight=False,
        )
        return
    if result.lock_waited > 0.5:
        report.log(f"waited {result.lock_waited:.1f}s for the migration lock")
    report.out.print(report.rollback_table(result))
    seconds = sum(s.seconds for s in result.rolled_back)
    still = sum(1 for e in outcome.entries if e.row is not None)
    verified = [s.verification for s in result.rolled_back if s.verification]
    skipped = sum(v.status == "skip" for v in verified)
    checked = (
        f" Each step was verified against its new head's snapshot{f' ({skipped} skipped)' if skipped else ''}."
        if verified
        else ""
    )
    report.out.print(
        f"Rolled back {len(result.rolled_back)} migration(s) on {outcome.database} in {seconds:.2f}s; "
        f"{still} still applied.{checked}",
        highlight=False,
    )
