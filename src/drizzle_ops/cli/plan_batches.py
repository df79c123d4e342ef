"""How a batch migration runs and roughly how long: lines for the plan's table and its Markdown alike."""

from __future__ import annotations

from drizzle_ops.cli import render
from drizzle_ops.review.deploy_plan import BATCH_ROWS_PER_SECOND, BatchPlan


def batch_lines(batch: BatchPlan, *, markup: bool = True) -> list[str]:
    """How a batch migration runs and roughly how long, for the table and the Markdown plan alike."""
    bold, red, end = ("[bold]", "[red]", "[/]") if markup else ("**", "", "**")
    if batch.refused is not None:
        return [f"{red}migrate would refuse it (exit 2, before any batch):{end if markup else ''} {batch.refused}"]
    key = f" ({', '.join(batch.key)})" if batch.key else ""
    lines = [
        f"{bold}runs in batches{end} ({batch.options}): {batch.rows_per_batch:,} rows per batch by the primary "
        f"key{key} of {batch.table}, each batch its own transaction under lock_timeout"
    ]
    if batch.rows is None:
        lines.append("estimate: the table's size is unknown (never analysed and over 1 GB)")
    else:
        took = render.duration(batch.seconds or 0)
        lines.append(
            f"estimate: ~{batch.rows:,} rows → ~{batch.batches or 0:,} batch(es), ~{took}"
            f" (at ~{BATCH_ROWS_PER_SECOND:,} rows/s with the pauses; an estimate"
            + (", plus any wait while a standby lags)" if batch.max_lag is not None else ")")
        )
    if batch.done_batches:
        after = ", ".join(batch.resumes_after or [])
        lines.append(
            f"an earlier run committed {batch.done_batches:,} batch(es) ({batch.done_rows:,} rows changed): migrate "
            f"resumes after key ({after})"
        )
    return lines
