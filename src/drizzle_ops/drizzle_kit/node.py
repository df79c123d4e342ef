"""The workspace's Node side: which package manager it uses, installing its packages, running its scripts.

The package manager is chosen from the lockfile found in the workspace or the
nearest folder above it (a monorepo keeps one lockfile at its root). Scripts
run from the workspace folder through that package manager, exactly as a
developer would run them (``npm run db:generate -- --name x``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from drizzle_ops.errors import OperationFailed, UserError
from drizzle_ops.image import in_image

# lockfile -> package manager; the first found, walking up from the workspace, wins
LOCKFILES = (
    ("pnpm-lock.yaml", "pnpm"),
    ("package-lock.json", "npm"),
    ("npm-shrinkwrap.json", "npm"),
    ("yarn.lock", "yarn"),
)


@dataclass(frozen=True)
class PackageManager:
    name: str  # npm | pnpm | yarn
    root: Path  # the folder holding the lockfile (where packages are installed)
    lockfile: Path | None  # None: no lockfile anywhere, npm assumed

    @property
    def yarn_berry(self) -> bool:
        return self.name == "yarn" and (self.root / ".yarnrc.yml").is_file()

    def install_command(self) -> list[str]:
        """The reproducible install: exactly the lockfile's versions, never an update of it."""
        if self.name == "pnpm":
            return ["pnpm", "install", "--frozen-lockfile"]
        if self.name == "yarn":
            return ["yarn", "install", "--immutable"] if self.yarn_berry else ["yarn", "install", "--frozen-lockfile"]
        if self.lockfile is None:
            return ["npm", "install", "--no-audit", "--no-fund"]
        return ["npm", "ci", "--no-audit", "--no-fund"]

    def run_command(self, script: str, args: Sequence[str] = ()) -> list[str]:
        """npm needs `--` before the script's own arguments; pnpm and yarn pass them through."""
        if self.name == "npm":
            return ["npm", "run", "--silent", script, *(["--", *args] if args else [])]
        return [self.name, "run", script, *args]


def detect_package_manager(workspace: Path) -> PackageManager:
    """The package manager of the lockfile nearest to ``workspace`` (npm when there is none)."""
    folder = workspace.resolve()
    for candidate in (folder, *folder.parents):
        for lockfile, name in LOCKFILES:
            if (candidate / lockfile).is_file():
                return PackageManager(name, candidate, candidate / lockfile)
        if (candidate / ".git").exists():
            break  # the repository's root: a lockfile above it belongs to something else
    return PackageManager("npm", folder, None)


def read_scripts(workspace: Path) -> dict[str, str]:
    path = workspace / "package.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path} is missing; point --workspace at the Drizzle package folder") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read {path} ({exc}); fix the file") from None
    scripts = data.get("scripts") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in scripts.items()} if isinstance(scripts, dict) else {}


def require_script(workspace: Path, script: str, purpose: str) -> str:
    """The script's command line, or a refusal naming the scripts that do exist."""
    scripts = read_scripts(workspace)
    if script not in scripts:
        known = ", ".join(sorted(scripts)) or "none"
        raise UserError(
            f"{workspace / 'package.json'} has no `{script}` script (it has: {known}); "
            f'add "{script}": "{purpose}" to its scripts'
        )
    return scripts[script]


def require_tools(manager: PackageManager) -> None:
    """Node and the package manager must be on PATH; say how to get them when not."""
    if shutil.which("node") is None:
        if in_image():  # installing Node there is not the answer: run generate where the app's Node is
            raise UserError(
                "the drizzle-ops image has no Node.js: generate runs the app's own drizzle-kit from its node_modules; "
                "run `drizzle-ops generate` where Node 20+ and the app's packages are installed"
            )
        raise UserError("Node.js is not installed (no `node` on PATH); install Node 20 or newer and run again")
    if shutil.which(manager.name) is None:
        where = f"{manager.lockfile.name} in {manager.root}" if manager.lockfile else "the default"
        hint = "run `corepack enable`" if manager.name in ("pnpm", "yarn") else "install npm"
        raise UserError(f"the workspace uses {manager.name} ({where}) but `{manager.name}` is not on PATH; {hint}")


def has_node_modules(workspace: Path, manager: PackageManager) -> bool:
    """Installed either beside the workspace's package.json or at the lockfile's root (hoisted)."""
    return any((folder / "node_modules").is_dir() for folder in {workspace.resolve(), manager.root})


_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def plain(text: str) -> str:
    """Output as a log should hold it: no colour or cursor escapes, a spinner's redraws on lines of their own."""
    return _ESCAPES.sub("\n", text.replace("\r", "\n")).replace("\n\n", "\n")


@dataclass(frozen=True)
class ScriptRun:
    command: list[str]
    returncode: int
    output: str  # stdout and stderr interleaved; empty when the output was streamed

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.output.rstrip().splitlines()[-lines:])


def _stream_target() -> IO[str] | int:
    """Where a streamed child writes: our stderr (stdout is kept for results and JSON)."""
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # a replaced stderr (tests, notebooks)
        return subprocess.DEVNULL


def at_terminal() -> bool:
    """A person is there to answer a prompt (drizzle-kit asks about renames only at a terminal)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def run(
    command: Sequence[str],
    cwd: Path,
    *,
    env: Mapping[str, str] | None = None,
    capture: bool = False,
    echo: bool = False,
    timeout: float | None = None,
) -> ScriptRun:
    """Run a Node tool; its output goes to our stderr (stdout is kept for results and JSON).

    ``capture`` keeps the output instead, and ``echo`` with it also shows each
    line on stderr as it comes. Without ``capture`` the child writes straight
    to our stderr and reads our stdin, so a person at a terminal can answer.
    """
    full_env = {**os.environ, **(env or {})}
    full_env.setdefault("NO_UPDATE_NOTIFIER", "1")
    full_env.setdefault("npm_config_update_notifier", "false")
    interactive = not capture and sys.stdin.isatty()
    try:
        if capture and echo:
            return _run_echoed(command, cwd, full_env)
        completed = subprocess.run(
            list(command),
            cwd=cwd,
            env=full_env,
            stdin=None if interactive else subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture else _stream_target(),
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise UserError(f"`{command[0]}` is not on PATH; install it and run again") from None
    except subprocess.TimeoutExpired:
        raise OperationFailed(f"`{' '.join(command[:3])}` did not finish within {timeout:g}s; run it by hand") from None
    return ScriptRun(list(command), completed.returncode, plain(completed.stdout or "") if capture else "")


def _run_echoed(command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> ScriptRun:
    kept: list[str] = []
    with subprocess.Popen(
        list(command),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            kept.append(line)
            sys.stderr.write(line)
            sys.stderr.flush()
    return ScriptRun(list(command), child.returncode, plain("".join(kept)))


def ensure_installed(
    workspace: Path, manager: PackageManager, log: Callable[[str], None] | None = None, *, capture: bool = False
) -> bool:
    """Install the lockfile's packages when node_modules is missing; True when it installed."""
    if has_node_modules(workspace, manager):
        return False
    command = manager.install_command()
    if log:
        log(f"node_modules is missing: installing packages with `{' '.join(command)}` in {manager.root} …")
    result = run(command, manager.root, capture=capture)
    if not result.ok:
        shown = f": {result.tail(5)}" if result.output else " (its output is above)"
        raise OperationFailed(
            f"`{' '.join(command)}` failed with exit code {result.returncode}{shown}; fix the install and run again"
        )
    return True
