"""Disk full during a migration: SQLSTATE 53100 in one line, nothing partial, a rerun completes once space is freed.

The small disk is a tablespace on a size-limited tmpfs: the migration's table
lives there and fills it. The data directory (and its WAL) stay on the big disk,
so the server survives, as it does when a table's volume fills in production.
Mounting needs root; elsewhere the test skips and says why (fails under DRIZZLE_OPS_REQUIRE_ALL, as in CI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from drizzle_ops.engine import runner
from drizzle_ops.engine.workspace import load_workspace
from tests.helpers import EXAMPLE, add_migration, only_with_backend, require, rows, run_inv_process

SIZE = "8m"
ROWS = 20_000  # about 20 MB of 1 kB rows: more than the disk holds


@pytest.fixture
def small_disk(pg_server, admin: psycopg.Connection) -> Iterator[tuple[Path, str]]:  # type: ignore[no-untyped-def]
    """(mount point, tablespace name) of a tablespace on an 8 MB tmpfs."""
    user = (pg_server.details or {}).get("user")
    require(os.geteuid() == 0 and bool(user), "needs to run as root, to mount a small tmpfs for a tablespace")
    mount = Path(tempfile.mkdtemp(prefix="drizzle-ops-disk-"))
    mount.chmod(0o755)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0755", "tmpfs", str(mount)], check=False)
    if done.returncode != 0:
        mount.rmdir()
        require(False, "this machine does not allow mounting a tmpfs")
    location = mount / "ts"
    location.mkdir()
    shutil.chown(location, user=user)
    name = f"small_disk_{uuid.uuid4().hex[:8]}"
    admin.execute(sql.SQL("create tablespace {} location {}").format(sql.Identifier(name), sql.Literal(str(location))))
    try:
        yield mount, name
    finally:
        admin.execute(sql.SQL("drop tablespace if exists {}").format(sql.Identifier(name)))
        subprocess.run(["umount", "-l", str(mount)], check=False)
        mount.rmdir()


@only_with_backend("local", reason="mounts a tmpfs for the local server's tablespace (the reliability session)")
def test_disk_full_mid_migration_is_53100_nothing_partial_and_a_rerun_completes(
    databases,  # type: ignore[no-untyped-def]
    small_disk: tuple[Path, str],
    workspace_copy: Path,
) -> None:
    mount, tablespace = small_disk
    url = databases.create()
    with psycopg.connect(url, autocommit=True) as conn:
        runner.migrate(conn, load_workspace(EXAMPLE))
    tag = add_migration(
        workspace_copy,
        "ballast",
        f'CREATE TABLE "ballast" ("id" integer, "pad" text) TABLESPACE "{tablespace}";--> statement-breakpoint\n'
        f"INSERT INTO \"ballast\" SELECT g, repeat('x', 1000) FROM generate_series(1, {ROWS}) g;",
    )
    before = rows(url)
    try:
        failed = run_inv_process("migrate", "--url", url, "--workspace", str(workspace_copy))
        assert failed.returncode == 1, failed.stderr
        assert "Traceback" not in failed.stderr + failed.stdout
        [line] = [x for x in failed.stderr.splitlines() if x.startswith("error:")]
        assert f"migration {tag} failed at statement 2" in line and "[53100]" in line
        assert "The server's disk is full" in line and f"nothing of {tag} was committed" in line
        assert "free space on the database server and run migrate again" in line
        # nothing partial: no row, no table, and the space it took is given back
        assert rows(url) == before
        with psycopg.connect(url) as conn:
            assert conn.execute("select to_regclass('ballast')").fetchone() == (None,)
        # space freed (the volume grown): the same run completes
        subprocess.run(["mount", "-o", "remount,size=64m", str(mount)], check=True)
        again = run_inv_process("migrate", "--url", url, "--workspace", str(workspace_copy))
        assert again.returncode == 0, again.stderr
        assert len(rows(url)) == len(before) + 1
        with psycopg.connect(url) as conn:
            assert conn.execute('select count(*) from "ballast"').fetchone() == (ROWS,)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute('drop table if exists "ballast"')  # the tablespace must be empty to go
