"""The composite GitHub Action (action.yml): its shape, the workflow example, and its steps' shell run for real."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from drizzle_ops.cli.lint_markdown import MARKER
from tests.action_runner import ACTION, EXPRESSION, PROGRAM, WORKFLOW, Runner, load, step
from tests.helpers import ROOT

INPUTS = {"command", "working-directory", "args", "python-version", "version", "summary"}


def workflow_uses(workflow: dict[str, object]) -> list[tuple[str, dict[str, object]]]:
    """(job, step) for every step of the example that uses this repository's action."""
    jobs = workflow["jobs"]
    assert isinstance(jobs, dict)
    return [(name, s) for name, job in jobs.items() for s in job["steps"] if s.get("uses") == "./"]


def test_the_action_is_composite_with_the_documented_inputs() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) == INPUTS
    assert action["inputs"]["command"]["required"] is True
    defaults = {name: spec.get("default") for name, spec in action["inputs"].items()}
    assert defaults == {
        "command": None,
        "working-directory": ".",
        "args": "",
        "python-version": "3.12",
        "version": "",
        "summary": "true",
    }
    assert all(spec["description"] for spec in action["inputs"].values())
    assert set(action["outputs"]) == {"report", "exit-code"}


def test_every_input_is_used_and_nothing_undeclared_is_referenced() -> None:
    action = load(ACTION)
    text = ACTION.read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", text))
    assert used == INPUTS
    step_ids = {s["id"] for s in action["runs"]["steps"]}
    for expression in EXPRESSION.findall(text):
        if expression.startswith("steps."):
            assert expression.split(".")[1] in step_ids, expression


def test_python_is_set_up_pinned_without_touching_the_jobs_own() -> None:
    python = step(load(ACTION), "python")
    assert python["uses"].startswith("actions/setup-python@v")
    assert python["with"] == {"python-version": "${{ inputs.python-version }}", "update-environment": False}


def test_run_steps_get_inputs_through_env_only_and_call_scripts_that_exist() -> None:
    for spec in load(ACTION)["runs"]["steps"]:
        if "run" not in spec:
            continue
        assert spec["shell"] == "bash"
        # an input pasted into the script's text could run as shell code; env values never do
        assert "${{" not in spec["run"], spec["run"]
        (script,) = re.findall(r'"\$GITHUB_ACTION_PATH/([^"]+)"', spec["run"])
        assert (ROOT / script).is_file(), script


def test_the_workflow_example_uses_the_action_for_each_task_with_declared_inputs() -> None:
    workflow = load(WORKFLOW)
    uses = workflow_uses(workflow)
    assert {s["with"]["command"] for _, s in uses} == {"lint", "migrate", "plan", "status", "verify"}
    for job, spec in uses:
        assert set(spec["with"]) <= INPUTS, spec
        job_env = workflow["jobs"][job].get("env", {})
        folder = (
            spec["with"]
            .get("working-directory", ".")
            .replace("${{ env.SCHEMA_PACKAGE }}", job_env.get("SCHEMA_PACKAGE", "?"))
        )
        assert (ROOT / folder).is_dir(), folder
        # `uses: ./` runs the action from the checkout: it must come first
        steps = workflow["jobs"][job]["steps"]
        assert steps[0]["uses"].startswith("actions/checkout@")


def test_lint_writes_its_markdown_to_the_step_summary_and_names_the_report(tmp_path: Path) -> None:
    runner = Runner(tmp_path)
    runner.summary.write_text("an earlier step's summary\n", encoding="utf-8")
    # from the repository root, where invoke.yaml names the workspace: the example workflow's lint job
    ((_, lint),) = [(job, s) for job, s in workflow_uses(load(WORKFLOW)) if job == "lint"]
    done, outputs = runner.use_action({k: str(v) for k, v in lint["with"].items()})
    assert done.returncode == 0, done.stdout + done.stderr
    assert outputs["exit-code"] == "0"
    report = Path(outputs["report"])
    assert report.parent == tmp_path / "temp" and report.name.startswith("drizzle-ops-lint.")
    text = report.read_text(encoding="utf-8")
    assert text.startswith(MARKER) and "0 error(s), 3 warning(s) in 8 file(s)" in text
    assert runner.summary.read_text(encoding="utf-8") == "an earlier step's summary\n" + text + "\n"
    assert text in done.stdout  # the log shows it too


def test_a_failing_lint_still_writes_the_summary_and_fails_the_step(tmp_path: Path) -> None:
    runner = Runner(tmp_path)
    done, outputs = runner.use_action({"command": "lint", "args": "--fail-on 'warning'"})
    assert done.returncode == 1
    assert outputs["exit-code"] == "1"
    assert "❌ lint fails: 3 finding(s) at level warning or above" in runner.summary.read_text(encoding="utf-8")
    assert "::error title=drizzle-ops lint::exit code 1" in done.stdout
    assert "lint failed: 3 finding(s) at level warning or above" in done.stderr


@pytest.mark.parametrize(
    "inputs",
    [
        {"command": "lint", "args": "--json"},
        {"command": "lint", "summary": "false"},
    ],
)
def test_no_markdown_when_args_choose_a_format_or_summary_is_off(tmp_path: Path, inputs: dict[str, str]) -> None:
    runner = Runner(tmp_path)
    done, outputs = runner.use_action(inputs)
    assert done.returncode == 0, done.stderr
    assert outputs == {"report": "", "exit-code": "0"}
    assert runner.summary.read_text(encoding="utf-8") == ""
    if "--json" in inputs.get("args", ""):
        assert json.loads(done.stdout.split("::endgroup::\n", 1)[1])["summary"] == {"warning": 3, "error": 0}
    else:
        assert "Safe alternatives:" in done.stdout


def test_other_tasks_run_in_the_working_directory_without_a_summary(tmp_path: Path) -> None:
    runner = Runner(tmp_path)
    folder = "examples/wishlist/packages/backend/database-schema"
    done, outputs = runner.use_action({"command": "verify", "working-directory": folder, "args": "--rollback-drafts"})
    assert done.returncode == 0, done.stderr
    assert f"in {ROOT / folder}" in done.stdout
    assert outputs["exit-code"] == "0" and outputs["report"] == ""
    assert runner.summary.read_text(encoding="utf-8") == ""


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"command": "lint --json"}, "command must be one drizzle-ops task such as migrate"),
        ({"command": ""}, "command must be one drizzle-ops task such as migrate"),
        ({"command": "lint", "args": "--exclude 'ban-drop-table"}, "args: No closing quotation"),
        (
            {"command": "lint", "working-directory": "no/such/folder"},
            "working-directory 'no/such/folder' does not exist",
        ),
    ],
)
def test_bad_inputs_are_one_annotation_and_exit_2(tmp_path: Path, inputs: dict[str, str], message: str) -> None:
    done, outputs = Runner(tmp_path).use_action(inputs)
    assert done.returncode == 2
    assert outputs["exit-code"] == "2"
    (line,) = done.stdout.strip().splitlines()
    assert line.startswith("::error title=drizzle-ops action::" + message)
    assert "Traceback" not in done.stdout + done.stderr


def test_args_are_split_like_words_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    done, outputs = Runner(tmp_path).use_action({"command": "lint", "args": f"$(touch {marker}) `touch {marker}`"})
    assert not marker.exists()
    assert done.returncode == 2 and outputs["exit-code"] == "2"  # drizzle-ops refuses the words as bad input
    assert "error: No idea what '$(touch' is!" in done.stderr


def test_install_maps_the_version_input_and_reuses_an_installed_venv(tmp_path: Path) -> None:
    """The path taken without PyPI: a venv this job already has for the same requirement is kept."""
    runner = Runner(tmp_path)
    venv = tmp_path / "temp" / "drizzle-ops-venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "drizzle-ops").symlink_to(PROGRAM)
    for version, requirement in [("v0.1.0", "drizzle-ops==0.1.0"), ("", str(ROOT))]:
        (venv / ".requirement").write_text(requirement, encoding="utf-8")
        done = runner.run_step("install", {"command": "status", "version": version})
        assert done.returncode == 0, done.stderr
        assert f"drizzle-ops already installed in {venv} (drizzle-ops " in done.stdout
        assert runner.outputs["install"] == {"bin": str(venv / "bin" / "drizzle-ops")}
