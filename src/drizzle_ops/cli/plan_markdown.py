"""`inv plan --format markdown`: the deploy plan as a pull-request comment (summary table first, details folded)."""

from __future__ import annotations

from drizzle_ops.analysis import lockmodes
from drizzle_ops.cli.plan_batches import batch_lines
from drizzle_ops.commands.plan import PlanOutcome
from drizzle_ops.engine.transactionality import Mode
from drizzle_ops.review.deploy_plan import MigrationPlan
from drizzle_ops.review.tracer import MigrationTrace, StatementTrace
from drizzle_ops.review.verdicts import MigrationSummary

MARKER = "<!-- drizzle-ops:plan -->"  # the CI job finds its earlier comment by this line
VERDICT_ICON = {
    "safe": "✅",
    "needs a maintenance window": "⚠️",
    "blocked by lint": "⛔",
    "fails": "❌",
}


def cell(text: object) -> str:
    """A table cell: pipes escaped, one line."""
    return " ".join(str(text).split()).replace("|", "\\|") or " "


def _rows(n: int | None) -> str:
    if n is None:
        return "new"
    return "?" if n < 0 else f"{n:,}"


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"~{value * 1000:.0f} ms" if value < 1 else f"~{value:.1f} s"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines


def render_markdown(outcome: PlanOutcome) -> str:
    plan, trace = outcome.plan, outcome.trace
    where = plan.database + (f" (environment {plan.environment})" if plan.environment else "")
    lines = [MARKER, f"## Deploy plan: {where}", ""]
    lines.append(
        f"PostgreSQL {plan.pg_version}; lock_timeout {plan.lock_timeout or 'not set'}, "
        f"statement_timeout {plan.statement_timeout or 'not set'}."
    )
    if trace is not None:
        lines.append(
            f"Locks **recorded** on a scratch copy (PostgreSQL {trace.major}, migrated to "
            f"{('`' + trace.head + '`') if trace.head else 'an empty database'}, then dropped) and compared with the "
            "static prediction. Hold times are **estimates**: the trace's duration plus the target's rows at rough "
            "rates per row."
        )
    else:
        lines.append(
            "Locks as **predicted** from the SQL (run `inv plan --trace` to record the real ones). Hold times are "
            "**estimates** from the target's rows alone, at rough rates per row."
        )
    lines.append("")
    for blocker in plan.blocked_by:
        lines.append(f"- ⛔ migrate would refuse: {blocker}")
    if not plan.migrations:
        lines += ["Nothing pending: migrate would change nothing.", ""]
        return "\n".join(lines)
    by_tag = {s.tag: s for s in outcome.summaries}
    header = [
        "migration",
        "in transaction",
        "strongest lock",
        "blocks",
        "rewrite",
        "held (estimate)",
        "lint",
        "verdict",
    ]
    if trace is not None:
        header.insert(-1, "trace vs prediction")
    rows = []
    for migration in plan.migrations:
        summary = by_tag[migration.tag]
        row = [
            f"`{migration.tag}`",
            _in_transaction(migration),
            f"{summary.strongest_lock} on {summary.table}" if summary.strongest_lock else "none on existing tables",
            summary.blocks,
            "yes" if summary.rewrite else "no",
            _seconds(summary.estimated_hold_seconds),
            str(len(migration.findings)),
            f"{VERDICT_ICON.get(summary.verdict, '')} {summary.verdict}".strip(),
        ]
        if trace is not None:
            row.insert(-1, _agreement(trace.for_tag(migration.tag)))
        rows.append(row)
    lines += _table(header, rows)
    lines.append("")
    for migration in plan.migrations:
        lines += _details(migration, by_tag[migration.tag], trace.for_tag(migration.tag) if trace else None)
    flags = sum(len(m.flags) for m in plan.migrations)
    findings = sum(len(m.findings) for m in plan.migrations)
    lines.append(
        f"{len(plan.migrations)} pending migration(s), {flags} flagged table operation(s), "
        f"{findings} lint finding(s). Nothing was changed on the target."
    )
    return "\n".join(lines) + "\n"


def _in_transaction(migration: MigrationPlan) -> str:
    if migration.transactions is Mode.OWN_TRANSACTIONS:
        return "own transactions"
    if migration.batch is not None:
        return "in batches"
    return "yes" if migration.runs_in_transaction else "no"


def _agreement(traced: MigrationTrace | None) -> str:
    if traced is None or traced.skipped:
        return "not traced"
    counts: dict[str, int] = {}
    for statement in traced.statements:
        for check in statement.checks:
            counts[check.verdict] = counts.get(check.verdict, 0) + 1
    if traced.error:
        return "failed"
    return ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items())) or "no table locks"


def _how_it_runs(migration: MigrationPlan) -> str:
    if migration.batch is not None:
        return "; ".join(batch_lines(migration.batch, markup=False)) + "."
    if migration.transactions is Mode.OWN_TRANSACTIONS:
        return "**manages its own transactions**: its BEGIN and COMMIT decide, as under drizzle-kit."
    if migration.runs_in_transaction:
        return "one transaction."
    return "**outside a transaction**, statement by statement."


def _details(migration: MigrationPlan, summary: MigrationSummary, traced: MigrationTrace | None) -> list[str]:
    lines = [
        "<details>",
        f"<summary><code>{migration.tag}</code>: {len(migration.statements)} statement(s), {summary.verdict}</summary>",
        "",
        f"File `{migration.path}`, " + _how_it_runs(migration),
        "",
    ]
    by_number: dict[int, StatementTrace] = {s.number: s for s in traced.statements} if traced else {}
    header = ["#", "line", "statement", "table", "predicted lock", "blocks", "rewrite", "rows"]
    if traced is not None:
        header += ["traced lock", "check"]
    rows: list[list[str]] = []
    for statement in migration.statements:
        statement_trace = by_number.get(statement.number)
        tables = {t.table: t for t in statement.tables}
        checks = {c.table: c for c in statement_trace.checks} if statement_trace else {}
        names = list(dict.fromkeys([*tables, *checks])) or [""]
        for i, name in enumerate(names):
            impact, check = tables.get(name), checks.get(name)
            row = [
                str(statement.number) if i == 0 else "",
                str(statement.line) if i == 0 else "",
                (statement.kind + ("" if statement.transactional else " (no transaction)")) if i == 0 else "",
                name or "—",
                impact.lock if impact else "—",
                lockmodes.blocks(check.traced) if check and check.traced else (impact.blocks if impact else "—"),
                "yes" if (check and check.traced_rewrite) or (not check and impact and impact.rewrite) else "no",
                _rows(impact.rows) if impact else "",
            ]
            if traced is not None:
                if statement_trace is None:
                    row += ["not run", ""]
                elif statement_trace.error and i == 0:
                    row += ["failed", statement_trace.error]
                else:
                    row += [
                        (check.traced or "—") if check else "—",
                        (check.verdict + (f" ({check.note})" if check.note else "")) if check else "",
                    ]
            rows.append(row)
    lines += _table(header, rows)
    lines.append("")
    if traced is not None:
        notes = []
        for s in traced.statements:
            for index in s.new_indexes:
                how = f"implicit, for {index['constraint']}" if index["implicit"] else "explicit"
                notes.append(f"statement {s.number}: new index {index['index']} on {index['table']} ({how})")
            for constraint in s.new_constraints:
                state = "validated" if constraint["validated"] else "**NOT VALID**"
                notes.append(f"statement {s.number}: new {constraint['type']} {constraint['constraint']} ({state})")
            for name in s.validated_constraints:
                notes.append(f"statement {s.number}: validated {name}")
            for column in s.volatile_columns:
                notes.append(f"statement {s.number}: new column {column} with a volatile default")
            for relation in s.rewrites:
                notes.append(f"statement {s.number}: rewrote {relation} (new relfilenode)")
        if notes:
            lines += ["Recorded on the scratch copy:", "", *[f"- {n}" for n in notes], ""]
    for reason in summary.reasons:
        lines.append(f"- {reason}")
    for finding in migration.findings:
        lines.append(f"- lint {finding.severity.value} `{finding.rule}` at {finding.location}: {finding.message}")
    if summary.reasons or migration.findings:
        lines.append("")
    lines += ["```sql", migration.sql.rstrip(), "```", "", "</details>", ""]
    return lines
