"""Small facts read from the machine, used both by the harness and by the report's description of the run."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path


def node_package_version(node_modules: Path, name: str) -> str | None:
    try:
        return str(json.loads((node_modules / name / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def file_creation_probe(folder: Path, count: int = 300) -> float:
    """Seconds to create ``count`` files of 8 KiB in a new folder under ``folder``: what CREATE DATABASE and
    initdb do by the hundred, so a slow file system shows here before it shows in their figures."""
    probe = Path(tempfile.mkdtemp(prefix="files-probe-", dir=folder))
    try:
        started = time.perf_counter()
        for i in range(count):
            (probe / f"f{i}").write_bytes(b"x" * 8192)
        return time.perf_counter() - started
    finally:
        shutil.rmtree(probe, ignore_errors=True)
