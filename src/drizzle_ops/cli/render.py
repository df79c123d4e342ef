"""Rendering: tables on stdout, progress and logs on stderr, or one JSON document.

``out`` and ``err`` write plain text off a terminal and load rich only to draw (cli/console.py); the
tables here are cli/tables.py's, laid out without rich in a pipe.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from drizzle_ops.cli.console import Output, Part
from drizzle_ops.cli.console import err as err
from drizzle_ops.cli.console import out as out
from drizzle_ops.cli.console import table_console as table_console
from drizzle_ops.cli.tables import Table
from drizzle_ops.engine.states import Entry, MigrationState
from drizzle_ops.errors import MigrationFailed, OpsError

if TYPE_CHECKING:  # only for annotations: migrate and status never load rollback or verify
    from rich.progress import Progress, TaskID
    from rich.status import Status

    from drizzle_ops.engine.batch_migration import BatchReport
    from drizzle_ops.engine.lock import LockHolder
    from drizzle_ops.engine.rollback import DownFile, RollbackResult
    from drizzle_ops.engine.runner import MigrateResult
    from drizzle_ops.engine.workspace import Migration
    from drizzle_ops.verify.run_checks import CheckResult

STATE_STYLE = {
    MigrationState.APPLIED: "green",
    MigrationState.PENDING: "yellow",
    MigrationState.MODIFIED: "bold red",
    MigrationState.OUT_OF_ORDER: "bold red",
    MigrationState.MISSING_FILE: "bold red",
    MigrationState.NOT_IN_JOURNAL: "yellow",
}


WARNING = "warning: "
# every warning logged during this run: the JSON document carries them too, so scripts see what people see
logged_warnings: list[str] = []


def print_json(document: Any) -> None:
    if isinstance(document, dict):  # always there, so scripts need not test for it
        own = [w for w in document.get("warnings") or [] if w not in logged_warnings]
        document = {**document, "warnings": [*logged_warnings, *own]}
    sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")


def log(message: str) -> None:
    if message.startswith(WARNING) and message[len(WARNING) :] not in logged_warnings:
        logged_warnings.append(message[len(WARNING) :])
    err.print(message, highlight=False)


_Progress = TypeVar("_Progress", bound="ConsoleProgress")

# above this many applied migrations the summary line replaces the table (the lines are on stderr already)
TABLE_LIMIT = 30


class ConsoleProgress:
    """Progress on stderr: one spinner for the whole run (terminals only), and a line per finished step.

    One spinner, not one per migration: starting and stopping a rich Live per
    step cost more than applying a small migration (1.9 s over 1,000 of them).
    Use it as a context manager so the spinner always stops.
    """

    def __init__(self, console: Output = err) -> None:
        self.console = console
        self._status: Status | None = None
        self._label = ""
        self._bar: tuple[Progress, TaskID] | None = None  # a batch migration's bar (terminals only)
        self._batches: BatchReport | None = None  # the last report of the batch migration running
        self._batch_line_at = 0.0  # when the last plain batch line was printed (no terminal)

    def __enter__(self: _Progress) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_bar()
        if self._status is not None:
            self._status.stop()
            self._status = None

    def _show(self, text: str) -> None:
        if not self.console.is_terminal:  # CI logs and pipes get the finished lines only
            return
        if self._bar is not None:  # one live display at a time: the bar says it
            bar, task = self._bar
            bar.update(task, description=text)
            return
        if self._status is None:
            self._status = self.console.status(text)
            self._status.start()
        else:
            self._status.update(text)

    def lock_waiting(self, holder: LockHolder | None) -> None:
        who = str(holder) if holder else "another process"
        self.console.line(("waiting", "yellow"), f" for the migration lock, held by {who} …")

    def migration_started(self, migration: Migration, statements: int) -> None:
        self._label = f"{migration.tag} ({statements} statement{'s' if statements != 1 else ''})"
        self._show(f"applying {self._label}")

    def migration_finished(self, migration: Migration, seconds: float) -> None:
        self._stop_bar()
        done = self._batches
        batches = f" in {done.batches:,} batches, {done.rows:,} rows changed" if done is not None else ""
        self._batches = None
        self.console.line(("✓", "green"), f" {self._label}{batches} {seconds * 1000:.0f} ms")

    def migration_failed(self, migration: Migration, failure: MigrationFailed) -> None:
        self._stop_bar()
        self._batches = None
        outcome = "failed; part of it stays (see below)" if failure.partial else "rolled back"
        self.console.line(("✗", "red"), f" {self._label} {outcome}")

    def batch_progress(self, migration: Migration, report: BatchReport) -> None:
        """A batch migration's bar at a terminal (rows walked, rows changed, time left); elsewhere a line at times."""
        first = self._batches is None
        self._batches = report
        if first and report.resumed_after:
            self.console.line(
                f"resuming {migration.tag} after batch {report.resumed_after:,} (committed by an earlier run)"
            )
        line = batch_line(report)
        if not self.console.is_terminal:
            now = time.monotonic()
            if first or report.done or report.waiting_for_lag is not None or now - self._batch_line_at >= PLAIN_EVERY:
                self._batch_line_at = now
                self.console.line(f"  {migration.tag}: {line}")
            return
        if self._bar is None:
            from rich.progress import BarColumn, Progress, TextColumn

            if self._status is not None:  # the spinner gives way to the bar
                self._status.stop()
                self._status = None
            bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[line]}"),
                console=self.console.console,
            )
            bar.start()
            self._bar = (bar, bar.add_task(f"applying {migration.tag}", total=None, line=""))
        bar, task = self._bar
        bar.update(task, total=report.keys_total, completed=report.keys_done, line=line)

    def _stop_bar(self) -> None:
        if self._bar is not None:
            self._bar[0].stop()
            self._bar = None

    def warning(self, message: str) -> None:
        self.console.line(("warning:", "yellow"), f" {message}")

    def retrying(self, migration: Migration | DownFile, attempt: int, delay: float, reason: str) -> None:
        self.console.line(("↻", "yellow"), f" {self._label}: lock timeout ({reason}); retry {attempt} in {delay:.1f}s")
        self._show(f"applying {self._label} (retry {attempt})")


# without a terminal, a batch migration's line is printed at most this often (and at its first and last batch)
PLAIN_EVERY = 5.0


def batch_line(report: BatchReport) -> str:
    """``batch 12: 12,000 of ~50,000 rows (24%), 11,998 changed, ~3 s left``."""
    if report.waiting_for_lag is not None:
        when = f"after batch {report.batches:,}" if report.batches else "before the first batch"
        return f"waiting {when}: a standby's replay lag is {report.waiting_for_lag:.1f} s, above max-lag"
    walked = f"{report.keys_done:,}"
    if report.keys_total:
        walked += f" of ~{report.keys_total:,} rows ({min(report.keys_done / report.keys_total, 1.0):.0%})"
    else:
        walked += " rows"
    left = ""
    if report.done:
        left = ", done"
    elif report.seconds_left is not None:
        left = f", ~{duration(report.seconds_left)} left"
    return f"batch {report.batches:,}: {walked}, {report.rows:,} changed{left}"


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``2 h 10 min``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def entry_dict(entry: Entry) -> dict[str, Any]:
    return {
        "tag": entry.tag,
        "state": entry.state.value,
        "when": entry.when,
        "hash": entry.file_hash,
        "recorded_hash": entry.row.hash if entry.row else None,
        "row_id": entry.row.id if entry.row else None,
    }


def summary(entries: Sequence[Entry]) -> dict[str, int]:
    counts = {state.value: 0 for state in MigrationState}
    for entry in entries:
        counts[entry.state.value] += 1
    return counts


# a summary line names what it counts up to this many: "1 out-of-order: 20260224105235_AddGitHubIntegrationSupport"
FEW = 3


def counted(count: int, what: str, names: Sequence[str]) -> str:
    """ "2 pending: 0007_a, 0008_b", or "12 pending" when they are more than a few."""
    return f"{count} {what}: {', '.join(names)}" if names and count <= FEW else f"{count} {what}"


def listing(parts: Sequence[str]) -> str:
    """Parts joined by commas, or by a semicolon after a part that names things (its names hold commas)."""
    text = ""
    for i, part in enumerate(parts):
        text += ("; " if ": " in parts[i - 1] else ", ") + part if i else part
    return text


def _label(entry: Entry) -> str:
    return entry.tag or _orphan_label(entry)


def state_counts(entries: Sequence[Entry]) -> list[str]:
    """One part per state present; those that need attention name their migrations when few."""
    named = {state.value for state in MigrationState if state is not MigrationState.APPLIED}
    return [
        counted(n, state, [_label(e) for e in entries if e.state.value == state] if state in named else [])
        for state, n in summary(entries).items()
        if n
    ]


def counts_line(entries: Sequence[Entry]) -> str:
    """ "3 applied, 1 pending: 0004_add_index": the line under a status table."""
    return listing(state_counts(entries)) or "no migrations"


def _when(ms: int | None) -> str:
    if ms is None:
        return "—"
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def _orphan_label(entry: Entry) -> str:
    """A row with no file: its v1 name when it has one, else its id."""
    if entry.row is None:
        return "?"
    return entry.row.name or f"row {entry.row.id}"


# a history this long shows only what needs attention and the newest applied rows (--all shows every row)
SHORT_STATUS_OVER = 20
RECENT_APPLIED = 5


def shown_entries(entries: Sequence[Entry], *, show_all: bool = False) -> tuple[list[Entry], int]:
    """The rows a status table shows, and how many applied ones it leaves out (older than the newest few)."""
    if show_all or len(entries) <= SHORT_STATUS_OVER:
        return list(entries), 0
    applied = [i for i, e in enumerate(entries) if not e.needs_attention]
    keep = set(applied[-RECENT_APPLIED:])
    shown = [e for i, e in enumerate(entries) if e.needs_attention or i in keep]
    return shown, len(entries) - len(shown)


# Tables: a no_wrap column holds names (tags, files, check ids), which tables.show never cuts. Every cell is
# literal text, never markup: a "[" in a tag or a detail is printed as it is.


def status_table(entries: Sequence[Entry], title: str, *, show_all: bool = False) -> Table:
    shown, hidden = shown_entries(entries, show_all=show_all)
    note = (f"… {hidden} older applied migration(s) not shown (--all lists every one)", "dim")
    table = Table(title=title, caption=note if hidden else None)
    table.add_column("migration", no_wrap=True)
    table.add_column("state")
    table.add_column("created (journal)")
    table.add_column("hash")
    for e in shown:
        digest = e.file_hash or (e.row.hash if e.row else "")
        recorded = f" (recorded {e.row.hash[:8]})" if e.state is MigrationState.MODIFIED and e.row else ""
        tag: Part = e.tag if e.tag else (_orphan_label(e), "dim")
        table.add_row(tag, (e.state.value, STATE_STYLE[e.state]), _when(e.when), f"{digest[:12]}{recorded}")
    return table


def migrate_table(result: MigrateResult) -> Table:
    table = Table(title="Applied" if not result.dry_run else "Would apply")
    table.add_column("migration", no_wrap=True)
    table.add_column("statements", justify="right")
    table.add_column("time", justify="right")
    if result.dry_run:
        for m in result.planned:
            table.add_row(m.tag, str(len(m.statements)), "—")
    for a in result.applied:
        table.add_row(a.tag, str(a.statements), f"{a.seconds * 1000:.0f} ms")
    return table


# -- rollback and verify ---------------------------------------------------------------------------


class ConsoleRollbackProgress(ConsoleProgress):
    """Progress of a rollback on stderr, like a migrate run's."""

    def rollback_started(self, down: DownFile, statements: int) -> None:
        self._label = f"{down.tag} ({statements} statement{'s' if statements != 1 else ''} from {down.display})"
        self._show(f"rolling back {self._label}")

    def rollback_finished(self, down: DownFile, seconds: float) -> None:
        self.console.line(("✓", "green"), f" rolled back {self._label} {seconds * 1000:.0f} ms")

    def rollback_failed(self, down: DownFile, failure: OpsError) -> None:
        partial = isinstance(failure, MigrationFailed) and failure.partial
        outcome = "part of it stays (see below)" if partial else "that step was undone"
        self.console.line(("✗", "red"), f" {self._label} failed; {outcome}")


def rollback_table(result: RollbackResult) -> Table:
    table = Table(title="Would roll back" if result.dry_run else "Rolled back")
    table.add_column("migration", no_wrap=True)
    table.add_column("down file", no_wrap=True)
    table.add_column("statements", justify="right")
    table.add_column("time", justify="right")
    verified = any(step.verification for step in result.rolled_back)
    if verified:  # --verify: what each step's schema was compared with
        table.add_column("verified")
    if result.dry_run:
        for down in result.planned:
            table.add_row(down.tag, down.display, str(len(down.statements)), "—")
    for step in result.rolled_back:
        cells: list[Part] = [step.tag, step.file, str(step.statements), f"{step.seconds * 1000:.0f} ms"]
        if verified:
            check = step.verification
            shown = (f"skipped ({check.detail})" if check.status == "skip" else check.detail) if check else "—"
            cells.append(shown)
        table.add_row(*cells)
    return table


RESULT_STYLE = {"pass": "green", "fail": "bold red", "error": "bold red", "skip": "yellow"}


def check_detail(result: CheckResult) -> str:
    """The detail as every format shows it: a skip reads "skipped (<reason>)"."""
    if result.status != "skip" or result.detail.startswith("skipped"):
        return result.detail
    return f"skipped ({result.detail})" if result.detail else "skipped"


def verify_table(results: Sequence[CheckResult], title: str) -> Table:
    table = Table(title=title, show_lines=True)
    table.add_column("check", no_wrap=True)
    table.add_column("result")
    table.add_column("detail")
    for r in results:
        table.add_row(r.id, (r.status, RESULT_STYLE.get(r.status, "bold red")), check_detail(r) or r.description)
    return table


def check_counts(results: Sequence[CheckResult]) -> dict[str, int]:
    """The summary of a verify run: how many passed, failed, errored and were skipped."""
    return {
        "passed": sum(r.status == "pass" for r in results),
        "failed": sum(r.status == "fail" for r in results),
        "errors": sum(r.status == "error" for r in results),
        "skipped": sum(r.status == "skip" for r in results),
    }


def check_dict(result: CheckResult) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": result.id,
        "description": result.description,
        "result": result.status,
        "detail": check_detail(result),
        "seconds": round(result.seconds, 4),
    }
    if result.differences:
        document["differences"] = result.differences
    if result.accepted:
        document["accepted"] = result.accepted
    if result.warnings:
        document["warnings"] = result.warnings
    return document


def junit_xml(results: Sequence[CheckResult], suite: str) -> str:
    """One JUnit testsuite, a testcase per check: what CI systems render as test results."""
    from xml.etree import ElementTree

    root = ElementTree.Element(
        "testsuite",
        name=suite,
        tests=str(len(results)),
        failures=str(sum(r.status == "fail" for r in results)),
        errors=str(sum(r.status == "error" for r in results)),
        skipped=str(sum(r.status == "skip" for r in results)),
        time=f"{sum(r.seconds for r in results):.3f}",
    )
    for r in results:
        case = ElementTree.SubElement(root, "testcase", classname=suite, name=r.id, time=f"{r.seconds:.3f}")
        if r.status == "skip":
            ElementTree.SubElement(case, "skipped", message=check_detail(r))
        elif r.status != "pass":
            first = r.detail.splitlines()[0] if r.detail else r.status
            node = ElementTree.SubElement(case, "failure" if r.status == "fail" else "error", message=first)
            node.text = r.detail
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"
