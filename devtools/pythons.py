"""Find the Python interpreters nox can use, including pyenv versions the shims hide."""

from __future__ import annotations

import os
import shutil
import subprocess


def _works(command: str) -> bool:
    path = shutil.which(command)
    if path is None:
        return False
    try:
        return subprocess.run([path, "-c", "pass"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _expose_pyenv_versions() -> None:
    """pyenv's shims only run the selected version; select every installed one so nox finds them all."""
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return
    try:
        current = subprocess.run([pyenv, "version-name"], capture_output=True, text=True, timeout=20).stdout.strip()
        installed = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return
    # the shim that started us exports PYENV_VERSION; keep it first so `python` stays the same
    selected = [v for v in os.environ.get("PYENV_VERSION", current).split(":") if v]
    versions = selected + [v for v in installed.split() if v not in selected and v[:1].isdigit()]
    os.environ["PYENV_VERSION"] = ":".join(v for v in versions if v)


def available_pythons(wanted: list[str]) -> list[str]:
    _expose_pyenv_versions()
    found = [version for version in wanted if _works(f"python{version}")]
    return found or [wanted[-1]]
