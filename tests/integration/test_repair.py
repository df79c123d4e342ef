"""`inv repair --tag TAG --yes`: record the hash of an applied migration whose file was edited on purpose."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import psycopg

from drizzle_ops.engine import lock
from tests.helpers import add_migration, rows, run_inv

TAG = "0007_wishlist_items"


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def edit(ws: Path) -> tuple[str, str]:
    """Append a comment to the applied 0007 file; (old hash, new hash)."""
    path = ws / "drizzle" / f"{TAG}.sql"
    old = path.read_bytes()
    path.write_bytes(old + b"\n-- reviewed: indexes match the WISH-2007 queries\n")
    return hashlib.sha256(old).hexdigest(), hashlib.sha256(path.read_bytes()).hexdigest()


def repair(ws: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_inv("repair", "--tag", TAG, "--workspace", str(ws), "--url", url, *args)


def test_repair_shows_the_diff_from_git_history_then_records_the_new_hash(
    migrated_db: str, workspace_copy: Path
) -> None:
    git(workspace_copy, "init", "-q")
    git(workspace_copy, "add", ".")
    git(workspace_copy, "commit", "-q", "-m", "as applied")
    old_hash, new_hash = edit(workspace_copy)
    git(workspace_copy, "commit", "-q", "-am", "document 0007")  # the edit is merged: HEAD no longer has the old text

    preview = repair(workspace_copy, migrated_db)
    assert preview.returncode == 2
    assert "(applied, from git " in preview.stdout
    assert "+-- reviewed: indexes match the WISH-2007 queries" in preview.stdout
    assert "check the change above, then run again with --yes" in preview.stderr
    assert rows(migrated_db)[-1][0] == old_hash  # nothing changed

    done = repair(workspace_copy, migrated_db, "--yes")
    assert done.returncode == 0, done.stderr
    assert f"Recorded the current hash of {TAG}" in done.stdout
    audit = [line for line in done.stderr.splitlines() if line.startswith("audit: ")]
    assert len(audit) == 1
    assert f"repaired {TAG} on " in audit[0] and f"hash {old_hash} -> {new_hash}" in audit[0]
    assert rows(migrated_db)[-1][0] == new_hash
    status = run_inv("status", "--check", "--workspace", str(workspace_copy), "--url", migrated_db)
    assert status.returncode == 0, status.stdout


def test_without_git_history_it_shows_both_hashes(migrated_db: str, workspace_copy: Path) -> None:
    old_hash, new_hash = edit(workspace_copy)
    done = repair(workspace_copy, migrated_db, "--yes", "--json")
    assert done.returncode == 0, done.stderr
    assert '"old_hash": "' + old_hash in done.stdout and '"diff": null' in done.stdout
    preview = repair(workspace_copy, migrated_db)  # now there is nothing left to repair
    assert preview.returncode == 0
    assert f"Nothing to repair: the recorded hash of {TAG}" in preview.stdout

    edit(workspace_copy)
    shown = repair(workspace_copy, migrated_db)
    assert shown.returncode == 2
    assert "is not in git history, so no diff can be shown" in shown.stdout
    assert f"recorded hash: {new_hash}" in shown.stdout


def test_a_pending_or_unknown_migration_is_bad_input(migrated_db: str, workspace_copy: Path) -> None:
    tag = add_migration(workspace_copy, "later", "create table later (id int);")
    pending = run_inv("repair", "--tag", tag, "--yes", "--workspace", str(workspace_copy), "--url", migrated_db)
    assert pending.returncode == 2
    assert f"error: {tag} is pending, not applied: there is no recorded hash to repair" in pending.stderr
    unknown = run_inv("repair", "--tag", "9999_nope", "--yes", "--workspace", str(workspace_copy), "--url", migrated_db)
    assert unknown.returncode == 2
    assert "no migration tagged '9999_nope'" in unknown.stderr
    missing = run_inv("repair", "--workspace", str(workspace_copy), "--url", migrated_db)
    assert missing.returncode == 2
    assert "error: repair needs --tag TAG" in missing.stderr


def test_repair_takes_the_migration_lock(migrated_db: str, workspace_copy: Path) -> None:
    old_hash, _ = edit(workspace_copy)
    key = lock.lock_key("drizzle", "__drizzle_migrations")
    with psycopg.connect(migrated_db, autocommit=True) as holder:
        holder.execute("select pg_advisory_lock(%s)", [key])
        done = repair(workspace_copy, migrated_db, "--yes", "--lock-wait", "0.3")
    assert done.returncode == 1
    assert "another migration holds the lock" in done.stderr
    assert rows(migrated_db)[-1][0] == old_hash
