"""The suite's own rules for what does not run: skipped with the reason (failed in CI), or deselected, and counted.

Each test runs a small pytest session in a subprocess, with this suite's
conftest as a plugin, and reads its outcome as a developer would.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from devtools.provision import REQUIRE_ALL
from tests.helpers import ROOT

SAMPLE = """
from tests.helpers import only_when, only_with_backend, require, requires


def test_direct():
    require(False, "the tool is missing")


@requires(lambda: False, "the marked tool is missing")
def test_marked():
    pass


@requires(True, "never shown")
def test_present():
    pass


@only_with_backend("docker", reason="needs the docker backend")
def test_docker_only():
    pass


@only_when(False, reason="the inner session")
def test_inner():
    pass
"""


def run(tmp_path: Path, *args: str, require_all: bool = False) -> tuple[dict[str, int], str]:
    """(outcome counts from pytest's last line, the whole output) of the sample run in a subprocess."""
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    env = {k: v for k, v in os.environ.items() if k not in (REQUIRE_ALL, "DRIZZLE_OPS_TEST_BACKEND", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if require_all:
        env[REQUIRE_ALL] = "1"
    command = [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider", "-q", "-rs", *args]
    done = subprocess.run(
        [*command, "test_sample.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    last = done.stdout.strip().splitlines()[-1]
    counts = {word.rstrip("s") if word == "errors" else word: int(n) for n, word in re.findall(r"(\d+) (\w+)", last)}
    return counts, done.stdout


def test_outside_ci_a_missing_tool_skips_with_its_reason_and_the_summary_counts_it(tmp_path: Path) -> None:
    counts, output = run(tmp_path, "--backend", "local")
    assert counts == {"passed": 1, "skipped": 2, "deselected": 2}, output
    assert "[drizzle-ops tests] skipped: 2\n" in output
    assert "[drizzle-ops tests]   1 × the tool is missing\n" in output
    assert "[drizzle-ops tests]   1 × the marked tool is missing\n" in output
    assert "[drizzle-ops tests] deselected: 2\n" in output
    assert "[drizzle-ops tests]   1 × needs the docker backend\n" in output
    assert "[drizzle-ops tests]   1 × the inner session\n" in output
    assert "SKIPPED [1] test_sample.py:5: the tool is missing\n" in output  # at the test, not in helpers.py


def test_in_ci_a_missing_tool_fails_instead_with_the_same_reason(tmp_path: Path) -> None:
    counts, output = run(tmp_path, "--backend", "local", require_all=True)
    # the direct call fails in the test; the marker fails its set-up, before any fixture: pytest says "error"
    assert counts == {"failed": 1, "error": 1, "passed": 1, "deselected": 2}, output
    assert f"the tool is missing ({REQUIRE_ALL} is set: required, not skipped)" in output
    assert f"the marked tool is missing ({REQUIRE_ALL} is set: required, not skipped)" in output
    assert "[drizzle-ops tests] skipped: 0\n" in output


def test_a_test_of_another_backend_runs_in_that_backend_s_session(tmp_path: Path) -> None:
    counts, output = run(tmp_path, "--backend", "docker")
    assert counts == {"passed": 2, "skipped": 2, "deselected": 1}, output
    assert "[drizzle-ops tests]   1 × the inner session\n" in output
    assert "needs the docker backend\n" not in output


def test_with_xdist_workers_the_reasons_are_counted_once(tmp_path: Path) -> None:
    counts, output = run(tmp_path, "--backend", "local", "-n", "2")
    assert counts.get("passed") == 1 and counts.get("skipped") == 2, output
    assert "[drizzle-ops tests] skipped: 2\n" in output
    assert "[drizzle-ops tests] deselected: 2\n" in output  # both workers collect both: not 4
