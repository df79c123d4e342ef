"""What the fleet tests share: an invoke.yaml with a `tenants` fleet, the real `inv` on it, labels, poison."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psycopg

from drizzle_ops.context.fleet.targets import label_of, natural_key
from tests import processes
from tests.helpers import ROOT, add_migration, run_inv

TARGETS_VAR = "TENANT_DATABASE_URLS"


def fleet_config(folder: Path, **tenants: object) -> Path:
    """A runtime config (`inv -f FILE`) over this repository's invoke.yaml, whose example `tenants` fleet it
    overrides key by key (invoke merges the two): not protected unless asked."""
    spec = {"targets_env": TARGETS_VAR, "parallel": 8, "canary": 1, "protected": False, **tenants}
    path = folder / "fleet.yaml"
    path.write_text(json.dumps({"drizzle_ops": {"environments": {"tenants": spec}}}))  # JSON is YAML
    return path


def fleet_inv(
    config: Path, urls: list[str], *args: str, workspace: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return run_inv(
        "-f", str(config), *args, "--env", "tenants", "--workspace", str(workspace),
        env={TARGETS_VAR: "\n".join(urls)}, timeout=timeout,
    )  # fmt: skip


def start_fleet_inv(config: Path, urls: list[str], *args: str, workspace: Path) -> processes.Started:
    """The same as ``fleet_inv``, in a process of its own started in the background (for runs at once)."""
    return processes.start(
        "inv", "-f", str(config), *args, "--env", "tenants", "--workspace", str(workspace),
        env={TARGETS_VAR: "\n".join(urls)},
    )  # fmt: skip


def spawn_fleet_inv(config: Path, urls: list[str], *args: str, workspace: Path) -> subprocess.Popen[str]:
    """The same as ``fleet_inv``, the real `inv` started in the background (for signals)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"NO_COLOR": "1", "COLUMNS": "200", TARGETS_VAR: "\n".join(urls)})
    argv = [shutil.which("inv") or "inv", "-f", str(config), *args, "--env", "tenants", "--workspace", str(workspace)]
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def in_fleet_order(urls: list[str]) -> list[str]:
    """The URLs in the order the fleet runs them (the canary first)."""
    return sorted(urls, key=lambda url: natural_key(label_of(url)))


def by_label(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {result["label"]: result for result in document["results"]}


POISON_PILL = "poison_pill"  # a table; while a target has it, the poisoned migration fails there


def add_poisoned_migration(workspace: Path, name: str = "poisoned") -> str:
    """A migration that creates a table, then fails on a target holding the pill (so a partial one would show)."""
    return add_migration(
        workspace,
        name,
        'CREATE TABLE "poison_marker" ("id" integer);\n--> statement-breakpoint\n'
        "DO $$ BEGIN IF to_regclass('public.poison_pill') IS NOT NULL "
        "THEN RAISE EXCEPTION 'poisoned target'; END IF; END $$;\n",
    )


def set_pill(url: str, present: bool) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {POISON_PILL} (id int)" if present else f"DROP TABLE {POISON_PILL}")


def has_table(url: str, name: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute("select to_regclass(%s) is not null", [f"public.{name}"]).fetchone()
        return bool(row and row[0])
