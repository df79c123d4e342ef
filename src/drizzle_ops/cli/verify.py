"""`inv verify`: run the checks, render a table, JSON or JUnit, exit 1 on any failure."""

from __future__ import annotations

from pathlib import Path

from invoke.exceptions import Exit

from drizzle_ops.cli import render, tables
from drizzle_ops.cli.flag_values import comma_list
from drizzle_ops.cli.flags import Given
from drizzle_ops.cli.guard import guarded
from drizzle_ops.cli.where import where_to
from drizzle_ops.commands.verify import accept, rollback_drafts, verify
from drizzle_ops.context.request import Reading, Request, build_request
from drizzle_ops.errors import UserError


def _write_junit(path: str, xml: str) -> None:
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(xml, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write --junit {path}: {exc.strerror}; choose a writable path") from None


def run_verify(given: Given) -> None:
    as_json, junit, only = given.as_json, given["junit"], comma_list(given["only"])
    if given["rollback_drafts"]:
        check_drafts(given)
        return
    if given["accept"]:
        accept_differences(given)
        return
    with guarded(given["url"], as_json):
        where = where_to(
            given,
            Reading.SNAPSHOT_CHAIN,
            fleet=given.fleet_flags(only="targets"),
            only_flag="--targets",
            not_on_fleet=given.named("accept", "junit"),
        )
    if not isinstance(where, Request):  # checks and conformance on every target
        from drizzle_ops.cli.fleet.tasks import run_fleet_verify

        run_fleet_verify(where, as_json=as_json, checks=only)
        return
    with guarded(given["url"], as_json):
        outcome = verify(where, only=only)
        if junit:
            _write_junit(junit, render.junit_xml(outcome.results, "drizzle-ops verify"))
    results = outcome.results
    failed = [r for r in results if not r.ok]
    if as_json:
        render.print_json(
            {
                "ok": not failed,
                "database": outcome.database,
                "head": outcome.head,
                "checks": [render.check_dict(r) for r in results],
                "accepted_differences": sum(len(r.accepted) for r in results),
                "summary": render.check_counts(results),
            }
        )
    else:
        head = outcome.head or "nothing applied"
        tables.show(render.verify_table(results, f"{outcome.database} · head {head}"))
        counts = render.check_counts(results)
        skipped = [r.id for r in results if r.status == "skip"]
        also = f", {render.counted(len(skipped), 'skipped', skipped)}" if skipped else ""
        render.out.print(f"{counts['passed']} of {len(results)} check(s) passed{also}.", highlight=False, markup=False)
    if failed:
        shown = "in the JSON document" if as_json else "in the table above"
        raise Exit(
            f"error: {len(failed)} of {len(results)} check(s) failed ({', '.join(r.id for r in failed)}); "
            f"see the details {shown}",
            code=1,
        )


# -- verify --accept --------------------------------------------------------------------------------------


def accept_differences(given: Given) -> None:
    """Write today's failing conformance differences to the accepted file; exit 0 (the file is for review)."""
    as_json = given.as_json
    with guarded(given["url"], as_json):
        request = where_to(
            given,
            fleet=given.fleet_flags(only="targets"),
            only_flag="--targets",
            not_on_fleet=given.named("accept", "junit"),
        )
        assert isinstance(request, Request)  # a fleet is refused: the accepted file is one database's
        outcome = accept(request)
    conformance, change, shown = outcome.conformance, outcome.rewrite, outcome.file.shown
    warnings = [str(w) for w in conformance.warnings]
    if as_json:
        render.print_json(
            {
                "ok": True,
                "database": outcome.database,
                "head": conformance.head,
                "file": shown,
                "skipped": conformance.skipped,
                "accepted": [] if conformance.skipped else [str(d) for d in conformance.differences],
                "added": change.added,
                "removed": change.removed,
                "warnings": warnings,
            }
        )
        return
    say = render.out.print
    if conformance.skipped:
        say(
            f"Schema conformance skipped ({conformance.skipped}): nothing to accept; {shown} left as it is.",
            highlight=False,
            markup=False,
        )
        return
    target = f"the snapshot of {conformance.head}" if conformance.head else "an empty schema (nothing applied)"
    if not conformance.differences:
        if change.removed:
            say(f"The schema matches {target}: nothing needs accepting.", highlight=False)
            say(f"Removed {len(change.removed)} line(s) no longer seen from {shown}:", highlight=False, markup=False)
        elif outcome.file.exists:
            say(f"The schema matches {target}: nothing needs accepting; {shown} accepts nothing.", highlight=False)
        else:
            say(f"The schema matches {target}: nothing needs accepting ({shown} not written).", highlight=False)
    else:
        say(
            f"Accepted {len(conformance.differences)} difference(s) from {target} in {shown} "
            f"({len(change.added)} new, {len(change.kept)} already there, {len(change.removed)} removed):",
            highlight=False,
            markup=False,
        )
        for line in change.added:
            say(f"  + {line}", highlight=False, markup=False)
    for line in change.removed:
        say(f"  - {line}", highlight=False, markup=False)
    for warning in warnings:
        say(f"warning: {warning}", highlight=False, markup=False)
    if change.added:
        say(f"Give each new line a reason (the TODO comment above it), then commit {shown}.", highlight=False)


# -- verify --rollback-drafts -------------------------------------------------------------------------


def check_drafts(given: Given) -> None:
    """`inv verify --rollback-drafts`: fail while a down file of a journal migration is still a draft (offline)."""
    as_json = given.as_json
    with guarded(as_json=as_json):
        outcome = rollback_drafts(build_request(given.settings, as_json=as_json, log=render.log))
    workspace, drafts = outcome.workspace, outcome.drafts
    if as_json:
        render.print_json(
            {
                "ok": not drafts,
                "drafts": [{"tag": d.tag, "file": d.display} for d in drafts],
                "migrations": len(workspace.migrations),
            }
        )
    elif drafts:
        for d in drafts:
            render.out.print(f"draft  {d.display}", highlight=False)
    else:
        render.out.print(
            f"No down file of the {len(workspace.migrations)} migration(s) is still a draft.", highlight=False
        )
    if drafts:
        raise Exit(
            f"error: {len(drafts)} down file(s) are unreviewed drafts ({', '.join(d.tag for d in drafts)}); "
            "review each and delete its `-- drizzle-ops: DRAFT` line",
            code=1,
        )
