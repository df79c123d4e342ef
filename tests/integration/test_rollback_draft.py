"""`inv rollback --draft` end to end: down files drafted for a history that has none, then run by rollback.

The history is tests/fixtures/drafts/ten-migrations (real drizzle-kit 0.31 output,
ten migrations, the last one adds a column). Drafting reads no database: the
tests give it the URL of a socket that listens and never answers, and check
that nothing ever connected to it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from drizzle_ops.down_draft import DRAFT_MARKER, is_draft
from drizzle_ops.engine.workspace import load_workspace
from tests.helpers import NO_DRIZZLE_KIT_V1, ROOT, requires, rows, run_inv

TEN = ROOT / "tests" / "fixtures" / "drafts" / "ten-migrations"
V1 = ROOT / "examples" / "drizzle-v1"
V1_KIT = V1 / "node_modules" / ".bin" / "drizzle-kit"
ALL_ROWS = [(m.hash, m.when) for m in load_workspace(TEN).migrations]


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    target = tmp_path / "ws"
    shutil.copytree(TEN, target)
    return target


@pytest.fixture
def silent_url() -> Iterator[tuple[str, socket.socket]]:
    """A URL whose port listens but never answers: any connection attempt would be waiting in its backlog."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    yield f"postgresql://nobody:secret@127.0.0.1:{listener.getsockname()[1]}/nothing", listener
    listener.close()


def nobody_connected(listener: socket.socket) -> bool:
    try:
        connection, _ = listener.accept()
    except BlockingIOError:
        return True
    connection.close()
    return False


def draft(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_inv("rollback", "--draft", "--workspace", str(ws), "--rollback-dir", str(ws / "rb"), *args)


def rollback(ws: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_inv("rollback", "--workspace", str(ws), "--rollback-dir", str(ws / "rb"), "--url", url, *args)


def test_draft_the_newest_then_roll_it_back_verified_with_no_edit(
    empty_db: str, ws: Path, silent_url: tuple[str, socket.socket]
) -> None:
    """The acceptance: `rollback --draft --steps 1`, then `rollback --steps 1 --verify`, passes with no edit."""
    migrated = run_inv("migrate", "--workspace", str(ws), "--url", empty_db)
    assert migrated.returncode == 0, migrated.stderr
    url, listener = silent_url

    drafted = draft(ws, "--steps", "1", "--url", url)
    assert drafted.returncode == 0, drafted.stderr
    down = ws / "rb" / "0009_published_at.down.sql"
    assert drafted.stdout.splitlines()[0].startswith(f"written  {down}: ready, nothing to judge (1 statement(s)")
    assert "No database was read." in drafted.stdout
    assert nobody_connected(listener)
    assert not is_draft(down.read_text())
    assert 'ALTER TABLE "public"."posts" DROP COLUMN "published_at";' in down.read_text()
    assert sorted(p.name for p in (ws / "rb").iterdir()) == ["0009_published_at.down.sql"]

    back = rollback(ws, empty_db, "--steps", "1", "--verify", "--json")
    assert back.returncode == 0, back.stdout + back.stderr
    [step] = json.loads(back.stdout)["rolled_back"]
    assert step["tag"] == "0009_published_at"
    assert step["verification"]["result"] == "pass" and step["verification"]["head"] == "0008_comments"
    assert rows(empty_db) == ALL_ROWS[:9]


def test_the_whole_history_drafted_reviewed_and_rolled_back_to_empty(empty_db: str, ws: Path) -> None:
    assert run_inv("migrate", "--workspace", str(ws), "--url", empty_db).returncode == 0
    with psycopg.connect(empty_db, autocommit=True) as conn:
        user = conn.execute("insert into users (email) values ('ada@example.com') returning id").fetchone()
        assert user is not None
        conn.execute("insert into posts (author_id, title, body) values (%s, 'Hello', 'first')", [user[0]])

    drafted = draft(ws, "--all")
    assert drafted.returncode == 0, drafted.stderr
    lines = drafted.stdout.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == ["written"] * 5 + ["stub"] + ["written"] * 4
    assert lines[-1] == f"Down files in {ws / 'rb'}: 7 ready to run, 2 to review, 1 stub(s) to write by hand. " + (
        "No database was read."
    )
    rb = ws / "rb"
    drafts = sorted(p.name for p in rb.iterdir() if is_draft(p.read_text()))
    assert drafts == [
        "0004_backfill_display_names.down.sql",
        "0006_title_text.down.sql",
        "0007_drop_nickname.down.sql",
    ]
    refused = rollback(ws, empty_db, "--all")
    assert refused.returncode == 2 and "are unreviewed drafts" in refused.stderr

    # a reviewer reads the two drafts and deletes their DRAFT lines, and writes the stub's down by hand
    for name in drafts[1:]:
        path = rb / name
        path.write_text("".join(li for li in path.read_text().splitlines(True) if not li.startswith(DRAFT_MARKER)))
    (rb / drafts[0]).write_text("-- the backfill filled display names from e-mail addresses: kept\n")

    back = rollback(ws, empty_db, "--all", "--verify")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "Rolled back 10 migration(s)" in back.stdout
    assert rows(empty_db) == []
    with psycopg.connect(empty_db) as conn:
        left = conn.execute(
            "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public'"
        ).fetchone()
    assert left == (0,)

    again = run_inv("migrate", "--workspace", str(ws), "--url", empty_db)
    assert again.returncode == 0, again.stderr
    assert rows(empty_db) == ALL_ROWS


def test_json_reports_each_file_and_an_existing_file_is_kept(ws: Path) -> None:
    (ws / "rb").mkdir()
    (ws / "rb" / "0009_published_at.down.sql").write_text("-- mine\n")
    drafted = draft(ws, "--to", "0006_title_text", "--json")
    assert drafted.returncode == 0, drafted.stderr
    document = json.loads(drafted.stdout)
    assert document["ok"] is True and document["draft"] is True and document["dry_run"] is False
    assert [(f["tag"], f["result"], f["ready"]) for f in document["files"]] == [
        ("0009_published_at", "skipped", False),
        ("0008_comments", "written", True),
        ("0007_drop_nickname", "written", False),
    ]
    assert document["files"][2]["reviews"] == [
        "0007_drop_nickname dropped users.nickname and its data with it; the column comes back holding NULL in "
        "every row: restore the values from a backup if they matter"
    ]
    assert (ws / "rb" / "0009_published_at.down.sql").read_text() == "-- mine\n"
    assert not (ws / "rb" / "0006_title_text.down.sql").exists()


def test_a_dry_run_prints_the_drafts_and_writes_nothing(ws: Path) -> None:
    drafted = draft(ws, "--steps", "2", "--dry-run")
    assert drafted.returncode == 0, drafted.stderr
    assert 'DROP TABLE "public"."comments";' in drafted.stdout
    assert drafted.stdout.splitlines()[-1].startswith("Dry run: nothing was written: 2 ready to run.")
    assert not (ws / "rb").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--verify",), "error: --draft writes down files and touches no database, so there is nothing to --verify"),
        (("--steps", "0"), "error: --steps '0': give a whole number of migrations, 1 or more"),
        (("--steps", "11"), "error: --steps 11: the workspace has only 10 migration(s); use --all"),
        (("--steps", "two"), "error: --steps 'two': give a whole number of migrations, 1 or more"),
        (("--steps", "1", "--all"), "error: give only one of --steps, --to and --all"),
        (("--to", "0042_nope"), "error: --to 0042_nope: no migration has that tag"),
    ],
)
def test_bad_flags_are_refused_with_exit_2_and_nothing_written(ws: Path, args: tuple[str, ...], message: str) -> None:
    refused = draft(ws, *args)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.strip().splitlines()[-1].startswith(message)
    assert "Traceback" not in refused.stderr
    assert not (ws / "rb").exists()


@pytest.mark.drizzle
@requires(V1_KIT.exists, NO_DRIZZLE_KIT_V1)
def test_a_v1_column_drafted_from_folded_snapshots_rolls_back_verified(empty_db: str, tmp_path: Path) -> None:
    ws = tmp_path / "v1"
    shutil.copytree(V1, ws, ignore=shutil.ignore_patterns("node_modules", "rollback"))
    (ws / "node_modules").symlink_to(V1 / "node_modules")
    schema = ws / "src" / "schema.ts"
    schema.write_text(
        schema.read_text().replace('  email: text("email")', '  nickname: text("nickname"),\n  email: text("email")')
    )
    time.sleep(max(0.0, 1.05 - time.time() % 1))  # v1 folders are named by the second
    env = {**os.environ, "DATABASE_URL": "postgresql://x@localhost/x"}
    made = subprocess.run(
        [str(V1_KIT), "generate", "--name", "nickname"], cwd=ws, env=env, capture_output=True, text=True, timeout=120
    )
    assert made.returncode == 0, made.stdout + made.stderr
    [tag] = [m.tag for m in load_workspace(ws).migrations if m.tag.endswith("_nickname")]

    drafted = draft(ws, "--steps", "1")
    assert drafted.returncode == 0, drafted.stderr
    down = (ws / "rb" / f"{tag}.down.sql").read_text()
    assert not is_draft(down) and 'ALTER TABLE "public"."users" DROP COLUMN "nickname";' in down

    assert run_inv("migrate", "--workspace", str(ws), "--url", empty_db).returncode == 0
    back = rollback(ws, empty_db, "--steps", "1", "--verify")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "Each step was verified against its new head's snapshot." in back.stdout
