"""Run the composite action's steps (action.yml) the way a GitHub runner does, without GitHub.

A step's `env` is resolved from the given inputs (with the action's defaults) and earlier steps'
outputs, and its `run` text goes to bash with the runner's variables pointing at temp files:
GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP, GITHUB_ACTION_PATH. setup-python is not run:
its python-path is this test run's Python; and `use_action` runs only the run step, with the
drizzle-ops installed here as the install step's `bin` (installing from PyPI is for the runner).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from invoke.util import yaml

from tests.helpers import ROOT

ACTION = ROOT / "action.yml"
WORKFLOW = ROOT / ".github" / "workflows" / "drizzle-ops-action.yml"
PROGRAM = Path(sys.executable).with_name("drizzle-ops")  # what the install step's `bin` output names
EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def step(action: dict[str, Any], step_id: str) -> dict[str, Any]:
    (found,) = [s for s in action["runs"]["steps"] if s.get("id") == step_id]
    return found


def resolve(text: str, context: dict[str, str]) -> str:
    """Replace each ${{ … }} by its value in ``context``; an expression it does not know fails the test."""

    def value(match: re.Match[str]) -> str:
        assert match.group(1) in context, f"unknown expression {match.group(0)} in {text!r}"
        return context[match.group(1)]

    return EXPRESSION.sub(value, text)


@dataclass
class Runner:
    """One job's runner: its temp folder, summary file and the outputs of the steps it ran."""

    root: Path
    checkout: Path = ROOT
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        (self.root / "temp").mkdir(parents=True, exist_ok=True)
        self.summary.touch()

    @property
    def summary(self) -> Path:
        return self.root / "summary.md"

    def run_step(
        self, step_id: str, inputs: dict[str, str], env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        action = load(ACTION)
        declared = action["inputs"]
        unknown = set(inputs) - set(declared)
        assert not unknown, f"inputs the action does not declare: {unknown}"
        context = {f"inputs.{name}": str(spec.get("default", "")) for name, spec in declared.items()}
        context.update({f"inputs.{name}": value for name, value in inputs.items()})
        context["steps.python.outputs.python-path"] = sys.executable
        context["steps.install.outputs.bin"] = str(PROGRAM)
        for earlier, values in self.outputs.items():
            context.update({f"steps.{earlier}.outputs.{k}": v for k, v in values.items()})
        spec = step(action, step_id)
        assert spec["shell"] == "bash"
        output_file = self.root / f"output-{step_id}"
        output_file.write_text("", encoding="utf-8")
        full_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        full_env.update(
            {
                "NO_COLOR": "1",
                "COLUMNS": "200",
                "GITHUB_ACTION_PATH": str(ROOT),
                "GITHUB_OUTPUT": str(output_file),
                "GITHUB_STEP_SUMMARY": str(self.summary),
                "RUNNER_TEMP": str(self.root / "temp"),
                **(env or {}),
                **{name: resolve(str(value), context) for name, value in spec.get("env", {}).items()},
            }
        )
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", spec["run"]],  # as the runner runs `shell: bash`
            cwd=self.checkout,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.outputs[step_id] = dict(
            line.split("=", 1) for line in output_file.read_text(encoding="utf-8").splitlines() if "=" in line
        )
        return done

    def use_action(
        self, inputs: dict[str, str], env: dict[str, str] | None = None
    ) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
        """`uses: ./` with these inputs: the run step, and the action's outputs as a workflow sees them."""
        done = self.run_step("run", inputs, env)
        context = {f"steps.run.outputs.{k}": v for k, v in self.outputs["run"].items()}
        outputs = {
            name: EXPRESSION.sub(lambda m: context.get(m.group(1), ""), str(spec["value"]))
            for name, spec in load(ACTION)["outputs"].items()
        }
        return done, outputs
