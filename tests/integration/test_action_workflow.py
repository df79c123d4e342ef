"""The workflow example's database job (.github/workflows/drizzle-ops-action.yml), replayed step by step.

Each `uses: ./` step runs the action's own run step (tests/action_runner.py) with the step's inputs, and each
`run:` step runs as the runner would; the job's service container is this session's test database.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.action_runner import WORKFLOW, Runner, load, resolve
from tests.helpers import ROOT, rows

PLAN_MARKER = "<!-- drizzle-ops:plan -->"


def test_the_rehearse_job_migrates_plans_and_checks_a_real_database(empty_db: str, tmp_path: Path) -> None:
    job = load(WORKFLOW)["jobs"]["rehearse"]
    env = {**job["env"], "DATABASE_URL": empty_db}  # instead of the job's service container
    runner = Runner(tmp_path)
    context = {f"env.{name}": value for name, value in env.items()}
    ran = []
    for spec in job["steps"]:
        if spec.get("uses", "").startswith("actions/checkout@"):
            continue  # the checkout is this repository
        if spec.get("uses") == "./":
            inputs = {name: resolve(str(value), context) for name, value in spec["with"].items()}
            done, outputs = runner.use_action(inputs, env=env)
            ran.append(inputs["command"])
            if "id" in spec:
                context.update({f"steps.{spec['id']}.outputs.{k}": v for k, v in outputs.items()})
        else:
            step_env = {name: resolve(str(value), context) for name, value in spec.get("env", {}).items()}
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", spec["run"]],
                cwd=ROOT,
                env={**os.environ, **env, **step_env},
                capture_output=True,
                text=True,
                timeout=60,
            )
            ran.append("run")
        assert done.returncode == 0, f"{spec.get('name', spec)}: {done.stdout}{done.stderr}"
        if ran == ["migrate"]:
            assert len(rows(empty_db)) == 7  # --to the one before the newest
    assert ran == ["migrate", "plan", "run", "migrate", "status", "verify"]
    assert len(rows(empty_db)) == 8
    summary = runner.summary.read_text(encoding="utf-8")
    # only plan writes to the summary in this job: its Markdown, naming the one pending migration
    assert summary.startswith(PLAN_MARKER) and summary.count(PLAN_MARKER) == 1
    assert "`0007_wishlist_items`" in summary
