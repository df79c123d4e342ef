"""Provide what the test suite needs from outside Python before pytest starts: the examples' Node packages.

The tests that compare with the real drizzle-kit run it from the example
workspaces' ``node_modules``. When a workspace has none and npm is on the PATH,
``npm ci`` installs it (from the committed package-lock.json, so the versions
are the tested ones). Every step is said on stderr. Without npm, the tests that
need drizzle-kit skip, and fail when ``DRIZZLE_OPS_REQUIRE_ALL`` is set, as CI
sets it.

    python -m drizzle_ops.devtools.provision [ROOT]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

# set by .ci/run: a test that needs something the machine may lack fails instead of skipping
REQUIRE_ALL = "DRIZZLE_OPS_REQUIRE_ALL"
NPM_CI = ("ci", "--no-audit", "--no-fund", "--loglevel=error")
PREFIX = "[drizzle-ops provision]"


def require_all(environ: Mapping[str, str] | None = None) -> bool:
    """True when REQUIRE_ALL is set to anything but empty, 0, false or no."""
    value = (os.environ if environ is None else environ).get(REQUIRE_ALL, "")
    return value.strip().lower() not in ("", "0", "false", "no")


def node_workspaces(root: Path) -> list[Path]:
    """Folders under ``root/examples`` with a package-lock.json of their own (node_modules is not searched)."""
    found = []
    for folder, subfolders, files in os.walk(root / "examples"):
        subfolders[:] = sorted(name for name in subfolders if name != "node_modules" and not name.startswith("."))
        if "package-lock.json" in files and "package.json" in files:
            found.append(Path(folder))
    return sorted(found)


def missing_node_modules(workspaces: list[Path]) -> list[Path]:
    return [ws for ws in workspaces if not (ws / "node_modules").is_dir()]


@dataclass
class Outcome:
    """What provisioning found and did; ``problems`` is empty when every workspace has its node_modules."""

    present: list[Path] = field(default_factory=list)
    installed: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.problems


def provision(
    root: Path,
    *,
    path: str | None = None,
    out: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float = 900,
) -> Outcome:
    """Run ``npm ci`` in every example workspace under ``root`` whose node_modules is missing.

    ``path`` is the PATH searched for npm (default: the process's). Nothing is
    installed where node_modules exists: a present one is never replaced.
    """
    stream = sys.stderr if out is None else out
    env = dict(os.environ if environ is None else environ)

    def say(message: str) -> None:
        print(f"{PREFIX} {message}", file=stream, flush=True)

    def shown(ws: Path) -> str:
        return ws.relative_to(root).as_posix() if ws.is_relative_to(root) else str(ws)

    workspaces = node_workspaces(root)
    missing = missing_node_modules(workspaces)
    outcome = Outcome(present=[ws for ws in workspaces if ws not in missing])
    if outcome.present:
        say(f"node_modules present in {', '.join(map(shown, outcome.present))}: not reinstalled")
    if not missing:
        return outcome
    npm = shutil.which("npm", path=path if path is not None else env.get("PATH"))
    if npm is None:
        consequence = (
            f"they fail, as {REQUIRE_ALL} is set"
            if require_all(env)
            else f"they are skipped (and fail with {REQUIRE_ALL}=1, as in CI)"
        )
        for ws in missing:
            outcome.problems.append(f"node_modules is missing in {shown(ws)} and npm is not on the PATH")
        say(
            f"npm is not on the PATH, so node_modules cannot be installed in {', '.join(map(shown, missing))}: "
            f"the tests that need drizzle-kit from there will not run; {consequence}. Install Node.js and npm."
        )
        return outcome
    command = " ".join(["npm", *NPM_CI])
    for ws in missing:
        say(f"node_modules is missing in {shown(ws)}: running `{command}` there")
        started = time.monotonic()
        try:
            done = subprocess.run(
                [npm, *NPM_CI], cwd=ws, env=env, capture_output=True, text=True, timeout=timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            outcome.problems.append(f"`{command}` in {shown(ws)} did not finish: {exc}")
            say(outcome.problems[-1])
            continue
        if done.returncode != 0 or not (ws / "node_modules").is_dir():
            tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            reason = f"exit {done.returncode}" if done.returncode else "no node_modules was made"
            outcome.problems.append(f"`{command}` in {shown(ws)} failed ({reason}): {tail}".rstrip(": "))
            say(outcome.problems[-1])
            continue
        outcome.installed.append(ws)
        say(f"installed node_modules in {shown(ws)} ({time.monotonic() - started:.1f}s)")
    return outcome


def main(argv: list[str] | None = None) -> int:
    """Provision; exit 1 when something is missing and REQUIRE_ALL is set (CI), else 0."""
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path.cwd()
    outcome = provision(root.resolve())
    return 1 if outcome.problems and require_all() else 0


if __name__ == "__main__":
    raise SystemExit(main())
