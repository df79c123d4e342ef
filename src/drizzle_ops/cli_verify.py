"""`inv verify`: run the checks, render a table, JSON or JUnit, exit 1 on any failure."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from invoke.exceptions import Exit

from . import commands, report
from .cli import guarded
from .config import Settings
from .errors import UserError


def split_only(only: Sequence[str] | str | None) -> tuple[str, ...]:
    """--only may be repeated and may hold comma-separated ids."""
    if not only:
        return ()
    values = [only] if isinstance(only, str) else list(only)
    return tuple(dict.fromkeys(part.strip() for value in values for part in value.split(",") if part.strip()))


def _write_junit(path: str, xml: str) -> None:
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(xml, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write --junit {path}: {exc.strerror}; choose a writable path") from None


def verify(
    settings: Settings,
    *,
    url: str | None,
    env: str | None,
    as_json: bool,
    junit: str | None,
    only: Sequence[str] | str | None,
) -> None:
    with guarded(url, as_json):
        outcome = commands.verify(settings, url, env, only=split_only(only), log=report.log)
        if junit:
            _write_junit(junit, report.junit_xml(outcome.results, "drizzle-ops verify"))
    results = outcome.results
    failed = [r for r in results if not r.ok]
    if as_json:
        report.print_json(
            {
                "ok": not failed,
                "database": outcome.database,
                "head": outcome.head,
                "checks": [report.check_dict(r) for r in results],
                "summary": report.check_counts(results),
            }
        )
    else:
        head = outcome.head or "nothing applied"
        report.out.print(report.verify_table(results, f"{outcome.database} · head {head}"))
        counts = report.check_counts(results)
        skipped = f", {counts['skipped']} skipped" if counts["skipped"] else ""
        report.out.print(f"{counts['passed']} of {len(results)} check(s) passed{skipped}.", highlight=False)
    if failed:
        where = "in the JSON document" if as_json else "in the table above"
        raise Exit(
            f"error: {len(failed)} of {len(results)} check(s) failed ({', '.join(r.id for r in failed)}); "
            f"see the details {where}",
            code=1,
        )
