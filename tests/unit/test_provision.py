"""Provisioning before the tests: `npm ci` where an example workspace lacks node_modules, said on stderr."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.provision import REQUIRE_ALL, main, node_workspaces, provision, require_all
from tests.helpers import EXAMPLE, NO_DRIZZLE_KIT, ROOT, require, requires

NPM = shutil.which("npm")
needs_npm = requires(NPM is not None, "npm is not on the PATH (install Node.js and npm)")


def tiny_workspace(folder: Path) -> Path:
    """A package with one dependency on a sibling folder: `npm ci` makes node_modules offline, in a second."""
    (folder / "helper").mkdir(parents=True)
    (folder / "helper" / "package.json").write_text(json.dumps({"name": "helper", "version": "1.0.0"}))
    (folder / "package.json").write_text(
        json.dumps({"name": "tiny", "version": "1.0.0", "private": True, "dependencies": {"helper": "file:helper"}})
    )
    lock = {
        "name": "tiny",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "requires": True,
        "packages": {
            "": {"name": "tiny", "version": "1.0.0", "dependencies": {"helper": "file:helper"}},
            "helper": {"version": "1.0.0"},
            "node_modules/helper": {"resolved": "helper", "link": True},
        },
    }
    (folder / "package-lock.json").write_text(json.dumps(lock))
    return folder


def test_the_repository_s_node_workspaces_are_the_two_examples() -> None:
    assert node_workspaces(ROOT) == sorted([ROOT / "examples" / "drizzle-v1", EXAMPLE])


def test_workspaces_inside_node_modules_or_without_a_lockfile_are_not_ours(tmp_path: Path) -> None:
    ours = tiny_workspace(tmp_path / "examples" / "app")
    tiny_workspace(tmp_path / "examples" / "app" / "node_modules" / "dep")  # a package's own lockfile
    (tmp_path / "examples" / "nolock").mkdir()
    (tmp_path / "examples" / "nolock" / "package.json").write_text("{}")
    assert node_workspaces(tmp_path) == [ours]


@needs_npm
def test_npm_ci_runs_where_node_modules_is_missing_and_says_so(tmp_path: Path) -> None:
    app = tiny_workspace(tmp_path / "examples" / "app")
    done = tiny_workspace(tmp_path / "examples" / "done")
    (done / "node_modules").mkdir()
    (done / "node_modules" / "keep").write_text("a present node_modules is never replaced")
    out = io.StringIO()
    outcome = provision(tmp_path, out=out)
    assert outcome.complete and outcome.installed == [app] and outcome.present == [done]
    assert (app / "node_modules" / "helper" / "package.json").exists()
    assert (done / "node_modules" / "keep").exists()
    said = out.getvalue()
    assert (
        "node_modules is missing in examples/app: running `npm ci --no-audit --no-fund --loglevel=error` there" in said
    )
    assert "installed node_modules in examples/app" in said
    assert "node_modules present in examples/done: not reinstalled" in said
    again = io.StringIO()
    assert provision(tmp_path, out=again).installed == []  # the second run has nothing to do
    assert "running `npm ci" not in again.getvalue()


def test_without_npm_it_says_the_drizzle_kit_tests_will_be_skipped(tmp_path: Path) -> None:
    app = tiny_workspace(tmp_path / "examples" / "app")
    empty = tmp_path / "bin"
    empty.mkdir()
    out = io.StringIO()
    outcome = provision(tmp_path, path=str(empty), out=out, environ={"PATH": str(empty)})
    assert outcome.problems == ["node_modules is missing in examples/app and npm is not on the PATH"]
    assert not (app / "node_modules").exists()
    said = out.getvalue()
    assert "npm is not on the PATH, so node_modules cannot be installed in examples/app" in said
    assert f"they are skipped (and fail with {REQUIRE_ALL}=1, as in CI)" in said
    ci = io.StringIO()
    provision(tmp_path, path=str(empty), out=ci, environ={"PATH": str(empty), REQUIRE_ALL: "1"})
    assert f"they fail, as {REQUIRE_ALL} is set" in ci.getvalue()


@needs_npm
def test_a_failing_npm_ci_is_reported_with_npm_s_own_words(tmp_path: Path) -> None:
    app = tiny_workspace(tmp_path / "examples" / "app")
    (app / "package-lock.json").write_text("{ not json")
    out = io.StringIO()
    outcome = provision(tmp_path, out=out)
    assert len(outcome.problems) == 1 and outcome.installed == []
    assert outcome.problems[0].startswith(
        "`npm ci --no-audit --no-fund --loglevel=error` in examples/app failed (exit "
    )
    assert outcome.problems[0] in out.getvalue()


def test_require_all_reads_the_variable() -> None:
    assert not require_all({})
    assert not require_all({REQUIRE_ALL: ""}) and not require_all({REQUIRE_ALL: "0"})
    assert require_all({REQUIRE_ALL: "1"}) and require_all({REQUIRE_ALL: "yes"})


def test_the_module_runs_and_fails_only_when_something_is_required(tmp_path: Path) -> None:
    tiny_workspace(tmp_path / "examples" / "app")
    empty = tmp_path / "bin"
    empty.mkdir()

    def run(**extra: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != REQUIRE_ALL}
        env.update({"PATH": str(empty), **extra})
        command = [sys.executable, "-m", "devtools.provision", str(tmp_path)]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)

    relaxed, strict = run(), run(**{REQUIRE_ALL: "1"})
    assert relaxed.returncode == 0 and "npm is not on the PATH" in relaxed.stderr
    assert strict.returncode == 1 and "npm is not on the PATH" in strict.stderr


def test_nothing_to_do_in_this_checkout_when_node_modules_are_there(capsys: pytest.CaptureFixture[str]) -> None:
    present = [ws for ws in node_workspaces(ROOT) if (ws / "node_modules").is_dir()]
    require(len(present) == 2, NO_DRIZZLE_KIT)  # nox provisions before pytest; never from inside a test
    assert main([str(ROOT)]) == 0
    assert "running `npm ci" not in capsys.readouterr().err
