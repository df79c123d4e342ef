"""Helpers shared by the tests: paths, URLs, running `inv` (in process or not), bookkeeping rows, requirements."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from devtools.provision import REQUIRE_ALL, require_all
from tests import inprocess  # before anything imports drizzle_ops.cli: see there

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "wishlist" / "packages" / "backend" / "database-schema"
V1 = ROOT / "examples" / "drizzle-v1"

# what a test may need that the machine may lack: skipped with the reason, or failed when REQUIRE_ALL is set (CI)
NO_DRIZZLE_KIT = f"drizzle-kit is not installed: run `npm ci --no-audit --no-fund` in {EXAMPLE} (nox does, with npm)"
NO_DRIZZLE_KIT_V1 = f"drizzle-kit v1 is not installed: run `npm ci --no-audit --no-fund` in {V1} (nox does, with npm)"
NO_DOCKER = "no Docker engine answers (DOCKER_HOST or /var/run/docker.sock): the docker backend needs one"
NO_PG_BINARIES = "no PostgreSQL server binaries (initdb, pg_ctl): install postgresql or set PG_BIN"


def require(condition: bool, reason: str) -> None:
    """Skip the test with ``reason`` unless ``condition``; fail it instead when REQUIRE_ALL is set (CI).

    For what a machine may lack (drizzle-kit, Docker, squawk, server binaries):
    CI sets the variable, so a missing tool turns CI red rather than quietly
    running less. What only another backend runs is deselected instead (see
    ``only_with_backend``).
    """
    if condition:
        return
    if require_all():
        pytest.fail(f"{reason} ({REQUIRE_ALL} is set: required, not skipped)", pytrace=False)
    pytest.skip(reason)


def requires(condition: bool | Callable[[], bool], reason: str) -> pytest.MarkDecorator:
    """``require`` as a marker, checked when the test is set up (a callable is called then, once per session)."""
    return pytest.mark.requires(condition, reason=reason)


def only_with_backend(backend: str, reason: str) -> pytest.MarkDecorator:
    """Deselected (not skipped) in sessions of another backend: those tests belong to another matrix cell."""
    return pytest.mark.only_with_backend(backend, reason=reason)


def only_when(condition: bool, reason: str) -> pytest.MarkDecorator:
    """Deselected unless ``condition``: a test another test starts by itself, never run on its own."""
    return pytest.mark.only_when(condition, reason=reason)


@functools.cache
def docker_engine_answers() -> bool:
    from drizzle_ops.disposable.docker import engine_answers

    return engine_answers()


@functools.cache
def pg_binaries(major: str | None = None) -> bool:
    from drizzle_ops.disposable.local import has_binaries

    return has_binaries(major)


def url_for(server_url: str, dbname: str) -> str:
    params = conninfo_to_dict(server_url)
    params["dbname"] = dbname
    return (
        "postgresql://" + _userinfo(params) + f"{params.get('host', 'localhost')}:{params.get('port', 5432)}/{dbname}"
    )


def _userinfo(params: dict[str, Any]) -> str:
    user = quote(str(params.get("user", "postgres")), safe="")
    password = params.get("password")
    return f"{user}:{quote(str(password), safe='')}@" if password else f"{user}@"


def command_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a command gets: this one without DATABASE_URL, no colour, 200 columns, then ``env``."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    full_env.update({"NO_COLOR": "1", "COLUMNS": "200"})
    full_env.update(env or {})
    return full_env


def run_inv(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT, timeout: float = 120, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The `inv` command line as a user runs it, in this process (tests/inprocess.py): no process start.

    What only a real process shows (a signal, programs at once, the interpreter's own exit) uses
    ``run_inv_process``; tests/integration/test_in_process.py proves both give the same bytes.
    """
    return inprocess.run("inv", args, env=command_env(env), cwd=cwd, timeout=timeout, stdin=stdin)


def run_inv_process(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT, timeout: float = 120, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The real `inv` command line in a process of its own: for the edge (exit codes, streams, signals)."""
    return _process("inv", args, env=env, cwd=cwd, timeout=timeout, stdin=stdin)


def run_drizzle_ops(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT, timeout: float = 120, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The `drizzle-ops` console script, in this process (as ``run_inv``)."""
    return inprocess.run("drizzle-ops", args, env=command_env(env), cwd=cwd, timeout=timeout, stdin=stdin)


def run_drizzle_ops_process(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT, timeout: float = 120, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The real `drizzle-ops` console script in a process of its own (as ``run_inv_process``)."""
    return _process("drizzle-ops", args, env=env, cwd=cwd, timeout=timeout, stdin=stdin)


def program_path(name: str) -> str:
    """Where the console script `pip install` wrote is (beside this Python when it is not on PATH)."""
    return shutil.which(name) or str(Path(sys.executable).with_name(name))


def _process(
    name: str, args: tuple[str, ...], *, env: dict[str, str] | None, cwd: Path, timeout: float, stdin: str | None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [program_path(name), *args],
        cwd=cwd,
        env=command_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
    )


def drizzle_kit_migrate(url: str, workspace: Path = EXAMPLE) -> None:
    """`npm run db:migrate` in ``workspace`` (the real drizzle-kit's own migrate), as its developers run it."""
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run(
        ["npm", "run", "--silent", "db:migrate"], cwd=workspace, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, f"drizzle-kit migrate failed:\n{done.stdout}\n{done.stderr}"


def run_drizzle_kit(kit: Path, workspace: Path, url: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """`drizzle-kit migrate` of the real drizzle-kit at ``kit`` (its bin.cjs), run with node in ``workspace``."""
    return subprocess.run(
        ["node", str(kit), "migrate", "--config", "drizzle.config.ts"],
        cwd=workspace,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def drizzle_kit_applied(kit: Path, workspace: Path, url: str) -> None:
    """:func:`run_drizzle_kit`, which must succeed."""
    done = run_drizzle_kit(kit, workspace, url)
    assert done.returncode == 0, f"drizzle-kit migrate failed:\n{done.stdout}\n{done.stderr}"


def rows(url: str, schema: str = "drizzle", table: str = "__drizzle_migrations") -> list[tuple[str, int]]:
    """(hash, created_at) of every bookkeeping row in id order; none when the table doesn't exist yet."""
    with psycopg.connect(url) as conn:
        exists = conn.execute("select to_regclass(format('%%I.%%I', %s::text, %s::text))", [schema, table]).fetchone()
        if not exists or exists[0] is None:
            return []
        return [
            (h, int(c))
            for h, c in conn.execute(
                sql.SQL("select hash, created_at from {}.{} order by id").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
            ).fetchall()
        ]


def add_migration(ws: Path, name: str, sql_text: str, *, when: int | None = None) -> str:
    """Append a journal entry, its SQL file and a chained snapshot, as a hand-made migration.

    For tests only: the snapshot copies the previous one (same schema), which is
    all the runner needs; real workspaces get these files from drizzle-kit.
    """
    import json
    import uuid

    journal_path = ws / "drizzle" / "meta" / "_journal.json"
    journal = json.loads(journal_path.read_text())
    last = journal["entries"][-1]
    idx = last["idx"] + 1
    tag = f"{idx:04d}_{name}"
    journal["entries"].append(
        {
            "idx": idx,
            "version": "7",
            "when": when if when is not None else last["when"] + 1000,
            "tag": tag,
            "breakpoints": True,
        }
    )
    journal_path.write_text(json.dumps(journal, indent=2))
    (ws / "drizzle" / f"{tag}.sql").write_text(sql_text)
    snapshot = json.loads((ws / "drizzle" / "meta" / f"{last['idx']:04d}_snapshot.json").read_text())
    snapshot["prevId"], snapshot["id"] = snapshot["id"], str(uuid.uuid4())
    (ws / "drizzle" / "meta" / f"{idx:04d}_snapshot.json").write_text(json.dumps(snapshot))
    return tag


def keep_journal_entries(ws: Path, keep: int) -> str:
    """Keep only the first ``keep`` journal entries (what a checkout from back then had); returns the full journal."""
    import json

    path = ws / "drizzle" / "meta" / "_journal.json"
    full = path.read_text()
    journal = json.loads(full)
    journal["entries"] = journal["entries"][:keep]
    path.write_text(json.dumps(journal, indent=2))
    return full


def schema_dump(url: str) -> str:
    """pg_dump --schema-only when it can dump this server (its major ≥ the server's), else a catalog fingerprint."""
    from tests.reliability.catalog import fingerprint

    pg_dump = shutil.which("pg_dump")
    if pg_dump:
        proc = subprocess.run([pg_dump, "--schema-only", "--no-owner", url], capture_output=True, text=True)
        if proc.returncode == 0:  # without the random key of its \\restrict lines
            return "\n".join(
                line for line in proc.stdout.splitlines() if not line.startswith(("\\restrict", "\\unrestrict"))
            )
    return "\n".join(fingerprint(url))
