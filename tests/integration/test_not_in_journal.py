"""An SQL file the journal does not list (a branch's migration dropped from the journal in a merge):
`status` and `drift` show it as not-in-journal, a warning that never fails, and nothing applies it."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from tests.helpers import rows, run_inv

STRAY = "0007_branch_only"


def test_status_and_drift_show_it_and_never_fail_or_apply_it(migrated_db: str, workspace_copy: Path) -> None:
    (workspace_copy / "drizzle" / f"{STRAY}.sql").write_text("create table branch_only (id int);\n")
    common = ("--workspace", str(workspace_copy), "--url", migrated_db)

    status = run_inv("status", *common, "--check")
    assert status.returncode == 0, status.stdout + status.stderr
    assert STRAY in status.stdout and "not-in-journal" in status.stdout
    assert f"not in the journal ({STRAY}.sql)" in status.stderr  # the warning, once, on stderr

    document = json.loads(run_inv("status", *common, "--json").stdout)
    assert [m["state"] for m in document["migrations"] if m["tag"] == STRAY] == ["not-in-journal"]
    assert document["ok"] is True and document["summary"]["not-in-journal"] == 1

    drift = run_inv("drift", *common, "--check", "--json")
    assert drift.returncode == 0, drift.stdout + drift.stderr
    drift_doc = json.loads(drift.stdout)
    assert [m["state"] for m in drift_doc["migrations"] if m["tag"] == STRAY] == ["not-in-journal"]
    assert drift_doc["ok"] is True

    before = rows(migrated_db)
    assert run_inv("migrate", *common).returncode == 0
    assert rows(migrated_db) == before
    with psycopg.connect(migrated_db) as conn:
        assert conn.execute("select to_regclass('public.branch_only')").fetchone() == (None,)

    strict = run_inv("status", *common, "--check", "--strict")
    assert strict.returncode == 1  # --strict turns every history warning into a failure, this one too
