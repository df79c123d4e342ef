"""Choosing the package manager from the lockfile, and the commands run through it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from drizzle_ops.drizzle_kit import node
from drizzle_ops.errors import UserError
from drizzle_ops.image import IN_IMAGE_ENV


def package(folder: Path, scripts: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text(json.dumps({"name": "x", "scripts": scripts or {}}))
    return folder


@pytest.mark.parametrize(
    ("lockfile", "manager", "install"),
    [
        ("pnpm-lock.yaml", "pnpm", ["pnpm", "install", "--frozen-lockfile"]),
        ("package-lock.json", "npm", ["npm", "ci", "--no-audit", "--no-fund"]),
        ("npm-shrinkwrap.json", "npm", ["npm", "ci", "--no-audit", "--no-fund"]),
        ("yarn.lock", "yarn", ["yarn", "install", "--frozen-lockfile"]),
    ],
)
def test_the_lockfile_chooses_the_package_manager(
    tmp_path: Path, lockfile: str, manager: str, install: list[str]
) -> None:
    ws = package(tmp_path / "ws")
    (ws / lockfile).write_text("")
    found = node.detect_package_manager(ws)
    assert (found.name, found.root, found.install_command()) == (manager, ws, install)


def test_a_monorepo_lockfile_above_the_workspace_is_found(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pnpm-lock.yaml").write_text("")
    ws = package(tmp_path / "packages" / "backend" / "database-schema")
    found = node.detect_package_manager(ws)
    assert (found.name, found.root) == ("pnpm", tmp_path)


def test_the_search_stops_at_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / "yarn.lock").write_text("")  # belongs to something outside the repository
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    ws = package(repo / "db")
    found = node.detect_package_manager(ws)
    assert (found.name, found.lockfile) == ("npm", None)
    assert found.install_command() == ["npm", "install", "--no-audit", "--no-fund"]


def test_yarn_berry_installs_immutably(tmp_path: Path) -> None:
    ws = package(tmp_path)
    (ws / "yarn.lock").write_text("")
    (ws / ".yarnrc.yml").write_text("nodeLinker: node-modules\n")
    assert node.detect_package_manager(ws).install_command() == ["yarn", "install", "--immutable"]


def test_script_arguments_pass_through_each_package_manager(tmp_path: Path) -> None:
    args = ["--name", "add_tags", "--custom"]
    npm = node.PackageManager("npm", tmp_path, None)
    assert npm.run_command("db:generate", args) == ["npm", "run", "--silent", "db:generate", "--", *args]
    assert npm.run_command("db:migrate") == ["npm", "run", "--silent", "db:migrate"]
    assert node.PackageManager("pnpm", tmp_path, None).run_command("db:generate", args) == [
        "pnpm",
        "run",
        "db:generate",
        *args,
    ]
    assert node.PackageManager("yarn", tmp_path, None).run_command("db:generate", args)[:3] == [
        "yarn",
        "run",
        "db:generate",
    ]


def test_a_missing_script_names_the_ones_that_exist(tmp_path: Path) -> None:
    ws = package(tmp_path, {"db:migrate": "drizzle-kit migrate", "build": "tsc"})
    assert node.require_script(ws, "db:migrate", "drizzle-kit migrate") == "drizzle-kit migrate"
    with pytest.raises(UserError, match=r"has no `db:generate` script \(it has: build, db:migrate\); add "):
        node.require_script(ws, "db:generate", "drizzle-kit generate")


def test_no_package_json_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="package.json is missing; point --workspace at the Drizzle package folder"):
        node.read_scripts(tmp_path)


def test_node_or_the_package_manager_missing_from_path_is_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UserError, match=r"Node.js is not installed \(no `node` on PATH\)"):
        node.require_tools(node.PackageManager("npm", tmp_path, None))
    fake_node = tmp_path / "node"
    fake_node.symlink_to(sys.executable)  # anything executable named node
    lock = tmp_path / "pnpm-lock.yaml"
    with pytest.raises(UserError, match=r"uses pnpm \(pnpm-lock.yaml in .*\) but `pnpm` is not on PATH; run `corepack"):
        node.require_tools(node.PackageManager("pnpm", tmp_path, lock))


def test_node_modules_beside_the_workspace_or_at_the_lockfile_root_counts(tmp_path: Path) -> None:
    ws = package(tmp_path / "packages" / "db")
    manager = node.PackageManager("pnpm", tmp_path, tmp_path / "pnpm-lock.yaml")
    assert not node.has_node_modules(ws, manager)
    (tmp_path / "node_modules").mkdir()
    assert node.has_node_modules(ws, manager)


def test_run_captures_output_and_exit_code(tmp_path: Path) -> None:
    done = node.run([sys.executable, "-c", "import sys; print('hi'); sys.exit(3)"], tmp_path, capture=True)
    assert (done.ok, done.returncode, done.tail()) == (False, 3, "hi")
    with pytest.raises(UserError, match="`no-such-tool-xyz` is not on PATH"):
        node.run(["no-such-tool-xyz"], tmp_path, capture=True)


def test_in_the_container_image_a_missing_node_says_where_to_run_generate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv(IN_IMAGE_ENV, "1")
    with pytest.raises(
        UserError,
        match=r"^the drizzle-ops image has no Node.js: generate runs the app's own drizzle-kit "
        r"from its node_modules; run `drizzle-ops generate` where Node 20\+ and the app's packages",
    ):
        node.require_tools(node.PackageManager("npm", tmp_path, None))
