"""`migrate`, `status` and `verify` on a fleet: one row per target on stdout (or one JSON document), exit 1 if any
target failed or was interrupted (status --check and verify: also if any lags, drifts or fails a check)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from invoke.exceptions import Exit
from rich.table import Table
from rich.text import Text

from drizzle_ops.cli import render, tables
from drizzle_ops.cli.flags import Given
from drizzle_ops.cli.fleet.run import FleetProgress, counts_text, fail_if_not_ok, head, stop_on_signals
from drizzle_ops.cli.guard import guarded
from drizzle_ops.commands.fleet.run import FleetRun, TargetRun, TargetState
from drizzle_ops.commands.fleet.tasks import migrate_fleet, status_fleet, verify_fleet
from drizzle_ops.commands.migrate import MigrateOptions
from drizzle_ops.commands.status import StatusOutcome
from drizzle_ops.commands.verify import VerifyOutcome
from drizzle_ops.context.fleet.build import Fleet
from drizzle_ops.engine.states import MigrationState, drifted

RESULT_STYLE = {
    TargetState.DONE: "green",
    TargetState.FAILED: "bold red",
    TargetState.INTERRUPTED: "yellow",
    TargetState.NOT_STARTED: "dim",
}


def _result(run: TargetRun[Any]) -> Text:
    return Text(run.state.value + (" (canary)" if run.canary else ""), style=RESULT_STYLE.get(run.state, ""))


NUMBERS = {"applied", "pending", "drift", "time", "passed", "failed", "skipped"}  # right-justified columns
NAMES = {"target", "head"}  # whole, never cut or folded: a label is what --only takes back, a head what --to does


def _table(title: str, columns: Sequence[str]) -> Table:
    table = Table(title=title, title_justify="left")
    for name in columns:
        table.add_column(name, justify="right" if name in NUMBERS else "left", no_wrap=name in NAMES)
    return table


def _seconds(run: TargetRun[Any]) -> str:
    return "—" if run.state is TargetState.NOT_STARTED else f"{run.seconds:.2f}s"


def _selection(fleet: Fleet) -> str:
    if fleet.shard:
        return f" (shard {fleet.shard} of {fleet.size})"
    if fleet.only:
        return f" (--only, of {fleet.size})"
    return ""


# -- migrate ------------------------------------------------------------------------------------------------


def run_fleet_migrate(fleet: Fleet, given: Given, options: MigrateOptions) -> None:
    as_json, keep_going = given.as_json, bool(given["keep_going"])
    with guarded(as_json=as_json):
        if not fleet.targets:
            _nothing_selected(fleet, as_json)
            return
        fleet = fleet.confirm("migrate")  # before Ctrl-C means "start nothing new": at the prompt it still quits
        with stop_on_signals() as stop, FleetProgress(fleet, "{n} applied") as progress:
            run = migrate_fleet(fleet, options, keep_going=keep_going, stop=stop, on_event=progress)
    if as_json:
        render.print_json(
            {
                **head(fleet, run),
                "canary": fleet.canary,
                "keep_going": keep_going,
                "results": [
                    {
                        **_common(r),
                        "applied": r.applied,
                        "database": r.outcome.database if r.outcome else None,
                        "warnings": r.warnings,
                    }
                    for r in run.runs
                ],
            }
        )
    else:
        table = _table(
            f"migrate · fleet {fleet.environment.name}{_selection(fleet)}",
            ["target", "applied", "time", "result", "error"],
        )
        for r in run.runs:
            table.add_row(r.label, str(len(r.applied)), _seconds(r), _result(r), Text(r.error or ""))
        tables.show(table)
        applied = sum(len(r.applied) for r in run.runs)
        render.out.print(
            f"{counts_text(run)}; {applied} migration(s) applied across {len(fleet.targets)} target(s).",
            highlight=False,
        )
    fail_if_not_ok(fleet, run, "migrate")


def _common(run: TargetRun[Any]) -> dict[str, Any]:
    return {
        "label": run.label,
        "canary": run.canary,
        "result": run.state.value,
        "seconds": round(run.seconds, 4),
        "error": run.error,
    }


def _nothing_selected(fleet: Fleet, as_json: bool) -> None:
    """A shard with no target (more shards than targets) has nothing to do: that is no failure."""
    if as_json:
        render.print_json({**head(fleet, FleetRun([])), "results": []})
    else:
        render.out.print(f"No target in this selection{_selection(fleet)}: nothing to do.", highlight=False)


# -- status -------------------------------------------------------------------------------------------------


def _lag(outcome: StatusOutcome) -> dict[str, Any]:
    entries = [e for e in outcome.entries if e.state is not MigrationState.NOT_IN_JOURNAL]
    applied = [e for e in entries if e.state is MigrationState.APPLIED]
    return {
        "applied": len(applied),
        "pending": sum(e.state is MigrationState.PENDING for e in entries),
        "drift": len(drifted(entries)),
        "head": applied[-1].tag if applied else None,
    }


def run_fleet_status(fleet: Fleet, *, as_json: bool, check: bool) -> None:
    with guarded(as_json=as_json):
        if not fleet.targets:
            _nothing_selected(fleet, as_json)
            return
        with stop_on_signals() as stop, FleetProgress(fleet, "read") as progress:
            run = status_fleet(fleet, stop=stop, on_event=progress)
    lags = {r.label: _lag(r.outcome) for r in run.runs if r.outcome is not None}
    lagging = [label for label, lag in lags.items() if lag["pending"]]
    drifting = [label for label, lag in lags.items() if lag["drift"]]
    total = len(fleet.request.workspace.migrations)
    if as_json:
        render.print_json(
            {
                **head(fleet, run),
                "ok": run.ok and not lagging and not drifting,
                "migrations": total,
                "lagging": lagging,
                "drifted": drifting,
                "results": [
                    {
                        **_common(r),
                        **(lags.get(r.label) or {}),
                        "database": r.outcome.database if r.outcome else None,
                    }
                    for r in run.runs
                ],
            }
        )
    else:
        table = _table(
            f"status · fleet {fleet.environment.name}{_selection(fleet)} · {total} migration(s) in the workspace",
            ["target", "applied", "pending", "drift", "head", "result", "error"],
        )
        for r in run.runs:
            lag = lags.get(r.label)
            cells = (
                [str(lag["applied"]), str(lag["pending"]), str(lag["drift"]), lag["head"] or "—"] if lag else [""] * 4
            )
            table.add_row(r.label, *cells, _result(r), Text(r.error or ""))
        tables.show(table)
        if lagging:
            behind = f"; lagging: {', '.join(lagging)}"
        elif run.ok:
            behind = "; every target is up to date"
        else:
            behind = f"; no lag among the {len(lags)} target(s) read"
        render.out.print(
            f"{counts_text(run)}{behind}" + (f"; drift on: {', '.join(drifting)}" if drifting else ""),
            highlight=False,
            markup=False,
        )
    fail_if_not_ok(fleet, run, "status")
    if check and (lagging or drifting):
        raise Exit(
            f"status check failed on fleet {fleet.environment.name}: {len(lagging)} target(s) with pending "
            f"migrations, {len(drifting)} with drift",
            code=1,
        )


# -- verify -------------------------------------------------------------------------------------------------


def run_fleet_verify(fleet: Fleet, *, as_json: bool, checks: tuple[str, ...]) -> None:
    with guarded(as_json=as_json):
        if not fleet.targets:
            _nothing_selected(fleet, as_json)
            return
        with stop_on_signals() as stop, FleetProgress(fleet, "checked") as progress:
            run = verify_fleet(fleet, checks=checks, stop=stop, on_event=progress)
    failing = {r.label: _failed_checks(r.outcome) for r in run.runs if r.outcome is not None}
    failing = {label: ids for label, ids in failing.items() if ids}
    if as_json:
        render.print_json(
            {
                **head(fleet, run),
                "ok": run.ok and not failing,
                "results": [
                    {
                        **_common(r),
                        "database": r.outcome.database if r.outcome else None,
                        "head": r.outcome.head if r.outcome else None,
                        "checks": [render.check_dict(c) for c in r.outcome.results] if r.outcome else [],
                        "summary": render.check_counts(r.outcome.results) if r.outcome else None,
                    }
                    for r in run.runs
                ],
            }
        )
    else:
        table = _table(
            f"verify · fleet {fleet.environment.name}{_selection(fleet)}",
            ["target", "head", "passed", "failed", "skipped", "conformance", "result", "error"],
        )
        for r in run.runs:
            cells = ["", "", "", "", ""]
            if r.outcome is not None:
                counts = render.check_counts(r.outcome.results)
                conformance = next((c.status for c in r.outcome.results if c.id == "snapshot-conformance"), "—")
                cells = [
                    r.outcome.head or "—",
                    str(counts["passed"]),
                    str(counts["failed"] + counts["errors"]),
                    str(counts["skipped"]),
                    conformance,
                ]
            error = r.error or (f"failed: {', '.join(failing[r.label])}" if r.label in failing else "")
            table.add_row(r.label, *cells, _result(r), Text(error))
        tables.show(table)
        render.out.print(
            f"{counts_text(run)}; checks failed on {len(failing)} target(s).", highlight=False, markup=False
        )
    fail_if_not_ok(fleet, run, "verify")
    if failing:
        raise Exit(
            f"error: checks failed on {len(failing)} target(s) of fleet {fleet.environment.name} "
            f"({', '.join(list(failing)[:5])}{' …' if len(failing) > 5 else ''}); see the details above",
            code=1,
        )


def _failed_checks(outcome: VerifyOutcome | None) -> list[str]:
    return [c.id for c in outcome.results if not c.ok] if outcome else []
