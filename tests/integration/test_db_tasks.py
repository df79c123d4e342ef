"""`inv db.up | db.url | db.down` and the embedded default that migrate falls back to."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.helpers import NO_PG_BINARIES, only_with_backend, pg_binaries, requires, run_inv

# these start their own local servers whatever the session's backend: once, in the local sessions, is enough
pytestmark = [
    only_with_backend("local", reason="runs in the local-backend sessions (it starts its own local servers)"),
    requires(pg_binaries, NO_PG_BINARIES),
]


@pytest.fixture
def state_env(tmp_path: Path) -> dict[str, str]:
    """A private state folder, so the tests never touch a developer's own default server."""
    return {"INVOKE_DRIZZLE_OPS_STATE_DIR": str(tmp_path / "state")}


def test_local_default_server_lifecycle(state_env: dict[str, str], tmp_path: Path) -> None:
    up = run_inv("db.up", "--provider", "local", "--json", env=state_env)
    assert up.returncode == 0, up.stderr
    started = json.loads(up.stdout)
    assert started["state"] == "started" and started["provider"] == "local" and ":***@" in started["url"]
    state_file = tmp_path / "state" / "default-server.json"
    assert state_file.stat().st_mode & 0o777 == 0o600  # holds the password: owner only

    masked = run_inv("db.url", env=state_env)
    assert ":***@" in masked.stdout
    revealed = run_inv("db.url", "--reveal", env=state_env).stdout.strip()
    with psycopg.connect(revealed) as conn:
        assert conn.execute("select 1").fetchone() == (1,)

    migrate = run_inv("migrate", env=state_env)  # no URL anywhere: the embedded default
    assert migrate.returncode == 0, migrate.stderr
    assert "starting a disposable" not in migrate.stderr  # reused, not started again
    assert "Applied 8 migration(s)" in migrate.stdout

    again = run_inv("db.up", env=state_env)
    assert again.returncode == 0 and "already running" in again.stdout

    base_dir = Path(json.loads(state_file.read_text())["details"]["base_dir"])
    down = run_inv("db.down", env=state_env)
    assert down.returncode == 0 and "stopped the default local server" in down.stdout
    assert not base_dir.exists() and not state_file.exists()
    gone = run_inv("db.url", env=state_env)
    assert gone.returncode == 1 and "no default server is running" in gone.stderr


def test_migrate_starts_the_default_when_none_runs(state_env: dict[str, str]) -> None:
    env = {**state_env, "INVOKE_DRIZZLE_OPS_PROVIDER": "local"}
    try:
        first = run_inv("status", "--json", env=env)
        assert first.returncode == 0, first.stderr
        assert "starting a disposable PostgreSQL server" in first.stderr
        assert json.loads(first.stdout)["summary"]["pending"] == 8
    finally:
        run_inv("db.down", env=env)


def test_stale_state_is_replaced(state_env: dict[str, str], tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "default-server.json").write_text(
        json.dumps(
            {
                "provider": "local",
                "url": "postgresql://postgres:x@127.0.0.1:1/postgres",
                "major": "15",
                "details": {"base_dir": str(tmp_path / "gone"), "bin_dir": "/nonexistent", "user": None},
            }
        )
    )
    try:
        up = run_inv("db.up", "--provider", "local", env=state_env)
        assert up.returncode == 0, up.stderr
        assert "started" in up.stdout
    finally:
        run_inv("db.down", env=state_env)
