"""`inv rollback`: parse its flags, run the command, render the outcome."""

from __future__ import annotations

from drizzle_ops.cli import render, tables
from drizzle_ops.cli.flags import Given
from drizzle_ops.cli.guard import guarded
from drizzle_ops.cli.where import one_database
from drizzle_ops.commands.rollback import RollbackOptions, rollback
from drizzle_ops.commands.rollback_draft import SKIPPED, STUB, WRITTEN
from drizzle_ops.errors import UserError


def run_rollback(given: Given) -> None:
    options, as_json = given.options(RollbackOptions), given.as_json
    verify, to = options.verify, options.choice.to
    if given["draft"]:
        run_rollback_draft(given, options)
        return
    with guarded(given["url"], as_json), render.ConsoleRollbackProgress() as progress:
        outcome = rollback(one_database(given), options, progress)
    result = outcome.result
    if as_json:
        render.print_json(
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
                "summary": render.summary(outcome.entries),
            }
        )
        return
    if result.applied_before == 0:
        render.out.print(f"Nothing to roll back on {outcome.database}: no migration is applied.", highlight=False)
        return
    if not result.planned:
        render.out.print(f"Nothing to roll back on {outcome.database}: {to} is the newest applied migration.")
        return
    if result.dry_run:
        for down in result.planned:
            render.out.print(f"-- {down.tag} ({down.display})", style="bold", highlight=False)
            render.out.print(down.text.rstrip(), highlight=False, markup=False)
            render.out.print()
        tables.show(render.rollback_table(result))
        render.out.print(
            f"Dry run: {len(result.planned)} migration(s) would be rolled back on {outcome.database}; "
            "nothing was changed.",
            highlight=False,
        )
        return
    if result.lock_waited > 0.5:
        render.log(f"waited {result.lock_waited:.1f}s for the migration lock")
    tables.show(render.rollback_table(result))
    seconds = sum(s.seconds for s in result.rolled_back)
    still = sum(1 for e in outcome.entries if e.row is not None)
    verified = [s.verification for s in result.rolled_back if s.verification]
    skipped = sum(v.status == "skip" for v in verified)
    checked = (
        f" Each step was verified against its new head's snapshot{f' ({skipped} skipped)' if skipped else ''}."
        if verified
        else ""
    )
    render.out.print(
        f"Rolled back {len(result.rolled_back)} migration(s) on {outcome.database} in {seconds:.2f}s; "
        f"{still} still applied.{checked}",
        highlight=False,
    )


def run_rollback_draft(given: Given, options: RollbackOptions) -> None:
    """`rollback --draft`: write down drafts from the snapshots; no request, since no database is read."""
    from drizzle_ops.commands.rollback_draft import draft_downs

    as_json, choice, to = given.as_json, options.choice, options.choice.to
    with guarded(as_json=as_json):
        if options.verify:
            raise UserError(
                "--draft writes down files and touches no database, so there is nothing to --verify: "
                "draft first, then run `rollback --steps N --verify`"
            )
        outcome = draft_downs(given.settings, choice, dry_run=options.dry_run, log=render.log)
    if as_json:
        render.print_json(
            {
                "ok": True,
                "draft": True,
                "dry_run": outcome.dry_run,
                "rollback_dir": outcome.rollback_dir,
                "files": [{**f.as_dict(), **({"text": f.text} if outcome.dry_run else {})} for f in outcome.files],
            }
        )
        return
    if not outcome.files:
        render.out.print(f"Nothing to draft: {to} is the newest migration.", highlight=False, markup=False)
        return
    would = "would write" if outcome.dry_run else "written"
    for f in outcome.files:
        if f.result == SKIPPED:
            line = f"skipped  {f.file}: exists, never written over"
        elif f.result == STUB:
            line = f"stub     {f.file}: {f.reason}"
        elif f.ready:
            line = f"{would}  {f.file}: ready, nothing to judge ({f.statements} statement(s), no DRAFT line)"
        else:
            notes = len(f.reviews)
            line = f"{would}  {f.file}: a draft, {notes} REVIEW note(s) to read, then delete its DRAFT line"
        render.out.print(line, highlight=False, markup=False, soft_wrap=True)
        if outcome.dry_run and f.text:
            render.out.print(f.text.rstrip(), highlight=False, markup=False)
            render.out.print()
    counts = {
        "ready to run": sum(f.result == WRITTEN and f.ready for f in outcome.files),
        "to review": sum(f.result == WRITTEN and not f.ready for f in outcome.files),
        "stub(s) to write by hand": sum(f.result == STUB for f in outcome.files),
        "kept": sum(f.result == SKIPPED for f in outcome.files),
    }
    done = ", ".join(f"{n} {what}" for what, n in counts.items() if n)
    verb = "Dry run: nothing was written" if outcome.dry_run else f"Down files in {outcome.rollback_dir}"
    render.out.print(f"{verb}: {done}. No database was read.", highlight=False, markup=False)
