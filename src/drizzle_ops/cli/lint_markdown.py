"""`lint --format markdown`: the findings as a pull-request comment or a CI job summary."""

from __future__ import annotations

import os
from collections.abc import Sequence

from drizzle_ops.lint import Finding, Severity

MARKER = "<!-- drizzle-ops:lint -->"  # a CI job finds its earlier comment by this line
LEVEL_ICON = {Severity.ERROR: "⛔", Severity.WARNING: "⚠️"}


def _cell(text: str) -> str:
    """A table cell: one line, pipes escaped (also inside code spans, as GitHub's tables need)."""
    return " ".join(text.split()).replace("|", "\\|") or " "


def _code(text: str) -> str:
    return f"`{_cell(text).replace('`', '´')}`"


def render_markdown(
    findings: Sequence[Finding],
    *,
    files: int,
    failing: int,
    fail_on: str,
    pg_version: int,
    pg_version_from: str,
) -> str:
    errors = sum(f.severity is Severity.ERROR for f in findings)
    warnings = len(findings) - errors
    verdict = (
        f"❌ lint fails: {failing} finding(s) at level {fail_on} or above"
        if failing
        else f"✅ lint passes (--fail-on {fail_on})"
    )
    lines = [
        MARKER,
        f"## Migration lint: {errors} error(s), {warnings} warning(s) in {files} file(s)",
        "",
        f"{verdict}. Judged for PostgreSQL {pg_version} ({pg_version_from}).",
        "",
    ]
    if not findings:
        return "\n".join(lines)
    lines += ["| where | level | rule | finding |", "|---|---|---|---|"]
    for f in findings:
        level = f"{LEVEL_ICON[f.severity]} {f.severity.value}"
        lines.append(
            f"| {_code(f.location)} | {level} | {_code(f.rule)} | {_cell(f.message)}<br>{_code(f.statement)} |"
        )
    lines += ["", "**Safe alternatives**", ""]
    alternatives = dict.fromkeys((f.rule, f.help) for f in findings)
    lines += [f"- {_code(rule)}: {_cell(help_text)}" for rule, help_text in alternatives]
    return "\n".join(lines) + "\n"


def append_to_step_summary(text: str) -> None:
    """On GitHub Actions the report also goes to the job's summary page, as `plan --format markdown` does."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
