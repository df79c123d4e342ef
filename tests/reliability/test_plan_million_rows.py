"""The safety issue's acceptance: 1,000,000 rows in the table that gets an index, and the plan says so."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run_inv_process
from tests.integration.test_plan import prepare


def test_plan_on_a_million_rows_flags_the_index_build_and_says_how_to_fix_it(
    empty_db: str, workspace_copy: Path
) -> None:
    prepare(empty_db, workspace_copy, 1_000_000)
    proc = run_inv_process(
        "plan",
        "--env",
        "staging",
        "--json",
        "--workspace",
        str(workspace_copy),
        env={"STAGING_DATABASE_URL": empty_db},
    )
    assert proc.returncode == 0, proc.stderr
    (pending,) = json.loads(proc.stdout)["pending"]
    (table,) = pending["statements"][0]["tables"]
    assert table["rows"] >= 900_000  # the planner's estimate, or the exact count before ANALYZE
    (flag,) = pending["flags"]
    assert "blocks writes for the whole build" in flag
    assert "CREATE INDEX CONCURRENTLY" in flag and "-- drizzle-ops: no-transaction" in flag
