"""Conformance on histories real teams have: long names, reordered enums, lost snapshots, accepted drift.

Each test runs the real `inv` against the session's PostgreSQL and checks what a
user sees (exit code, output, the accepted file) and what the server holds.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import psycopg
import pytest

from drizzle_ops.paths import display_path
from drizzle_ops.verify.accepted import HEADER, TODO
from drizzle_ops.verify.identifiers import truncate
from tests.helpers import ROOT, run_inv
from tests.integration.test_generate import drizzle_workspace, edit_schema, needs_drizzle_kit

FIXTURES = ROOT / "tests" / "fixtures" / "histories"
CONFORMANCE = ("--only", "snapshot-conformance")
_BOX = re.compile(r"[\u2500-\u257f]")  # rich's table borders


def flat(output: str) -> str:
    """Text as read across the table's wrapped cells: borders gone, every run of whitespace one space."""
    return " ".join(_BOX.sub(" ", output).split())


def shows(text: str, output: str) -> bool:
    return " ".join(text.split()) in flat(output)


def test_the_server_cuts_names_exactly_as_truncate_does(empty_db: str) -> None:
    names = ["a" * 63, "b" * 64, "c" * 61 + "é", "d" * 62 + "é", "e" * 61 + "€x", "f" * 62 + "😀", "ü" * 40]
    with psycopg.connect(empty_db, autocommit=True) as conn:
        for name in names:
            conn.execute(psycopg.sql.SQL("create table {} (id int)").format(psycopg.sql.Identifier(name)))
        stored = {
            r[0] for r in conn.execute("select relname from pg_class where relnamespace = 'public'::regnamespace")
        }
    assert stored == {truncate(n) for n in names}


@pytest.mark.drizzle
@needs_drizzle_kit
def test_a_composite_foreign_key_named_past_63_bytes_conforms_after_migrate(empty_db: str, tmp_path: Path) -> None:
    ws = drizzle_workspace(tmp_path)
    edit_schema(ws, "  primaryKey,\n", "  foreignKey,\n  primaryKey,\n")
    edit_schema(
        ws,
        "export type User = ",
        'export const userSetBuildProgress = pgTable("user_set_build_progress", {\n'
        '  userId: uuid("user_id").notNull(),\n'
        '  setId: integer("set_id").notNull(),\n'
        '  step: integer("step").default(0).notNull(),\n'
        "}, (t) => [\n"
        "  foreignKey({ columns: [t.userId, t.setId], foreignColumns: [userSets.userId, userSets.setId] })\n"
        '    .onDelete("cascade"),\n'
        "]);\n\n"
        "export type User = ",
    )
    generated = run_inv("generate", "--workspace", str(ws), "--rollback-dir", str(tmp_path / "down"), "--name", "prog")
    assert generated.returncode == 0, generated.stderr
    full = "user_set_build_progress_user_id_set_id_user_sets_user_id_set_id_fk"  # drizzle-kit's name, 66 bytes
    assert f'ADD CONSTRAINT "{full}"' in (ws / "drizzle" / "0008_prog.sql").read_text()
    assert full in (ws / "drizzle" / "meta" / "0008_snapshot.json").read_text()

    assert run_inv("migrate", "--workspace", str(ws), "--url", empty_db).returncode == 0
    with psycopg.connect(empty_db) as conn:
        stored = conn.execute(
            "select conname from pg_constraint where conrelid = 'user_set_build_progress'::regclass and contype = 'f'"
        ).fetchall()
    assert stored == [(full[:63],)]  # the server cut it: ..._set_i

    verified = run_inv("verify", "--workspace", str(ws), "--url", empty_db, *CONFORMANCE)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert shows("matches the snapshot of 0008_prog", verified.stdout)
    drift = run_inv("drift", "--workspace", str(ws), "--url", empty_db, "--check")
    assert drift.returncode == 0, drift.stdout + drift.stderr
    assert "Schema: matches the snapshot of 0008_prog" in drift.stdout


def test_an_enum_whose_added_value_was_appended_is_a_warning_not_a_failure(empty_db: str, workspace_copy: Path) -> None:
    # a value added in the middle with a plain ADD VALUE (older drizzle-kit, hand-written SQL): it appends
    first = workspace_copy / "drizzle" / "0000_init_users.sql"
    first.write_text(first.read_text().replace("ENUM('member', 'moderator', 'admin')", "ENUM('member', 'admin')"))
    later = workspace_copy / "drizzle" / "0006_moc_parts_lists.sql"
    later.write_text(
        'ALTER TYPE "public"."user_role" ADD VALUE \'moderator\';--> statement-breakpoint\n' + later.read_text()
    )
    assert run_inv("migrate", "--workspace", str(workspace_copy), "--url", empty_db).returncode == 0
    with psycopg.connect(empty_db) as conn:
        order = conn.execute("select enum_range(null::user_role)::text").fetchone()
    assert order == ("{member,admin,moderator}",)

    warning = (
        "enum user_role: same values in another order (database: member, admin, moderator; "
        "snapshot: member, moderator, admin); an ADD VALUE without BEFORE appends "
        "(older drizzle-kit, hand-written SQL), so this is expected after adding a value in the middle"
    )
    verified = run_inv("verify", "--workspace", str(workspace_copy), "--url", empty_db)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert shows(f"warning: {warning}", verified.stdout)
    as_json = run_inv("verify", "--workspace", str(workspace_copy), "--url", empty_db, "--json", *CONFORMANCE)
    document = json.loads(as_json.stdout)
    assert document["ok"] is True
    (check,) = document["checks"]
    assert (check["result"], check["warnings"], check.get("differences")) == ("pass", [warning], None)
    drift = run_inv("drift", "--workspace", str(workspace_copy), "--url", empty_db, "--check")
    assert drift.returncode == 0, drift.stdout + drift.stderr
    assert f"  warning: {warning}" in drift.stdout


def test_a_head_without_a_snapshot_skips_conformance(empty_db: str, tmp_path: Path) -> None:
    ws = tmp_path / "broken-chain"
    shutil.copytree(FIXTURES / "broken-chain", ws)
    head = "0003_backfill_post_titles"  # a --custom migration whose snapshot was lost
    assert not (ws / "drizzle" / "meta" / "0003_snapshot.json").exists()
    migrated = run_inv("migrate", "--workspace", str(ws), "--url", empty_db, "--to", head)
    assert migrated.returncode == 0, migrated.stderr

    verified = run_inv("verify", "--workspace", str(ws), "--url", empty_db, *CONFORMANCE)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert shows(f"skip skipped (no snapshot for {head})", verified.stdout)
    document = json.loads(run_inv("verify", "--workspace", str(ws), "--url", empty_db, "--json", *CONFORMANCE).stdout)
    assert [(c["result"], c["detail"]) for c in document["checks"]] == [("skip", f"skipped (no snapshot for {head})")]
    for task in (["drift", "--check"], ["status", "--schema"]):  # status --check would fail on 0004 pending
        result = run_inv(*task, "--workspace", str(ws), "--url", empty_db)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"Schema: skipped (no snapshot for {head})." in result.stdout
    drift = json.loads(run_inv("drift", "--workspace", str(ws), "--url", empty_db, "--json").stdout)
    assert (drift["schema"]["skipped"], drift["schema"]["ok"], drift["ok"]) == (f"no snapshot for {head}", True, True)

    # one migration later the head has its own snapshot again, and it is compared
    assert run_inv("migrate", "--workspace", str(ws), "--url", empty_db).returncode == 0
    verified = run_inv("verify", "--workspace", str(ws), "--url", empty_db, *CONFORMANCE)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert shows("matches the snapshot of 0004_comment_flags", verified.stdout)


INDEX = "index users_display_name_idx: not in snapshot (on users)"
COLUMN = "column users.nickname: not in snapshot"


def test_accepted_differences_from_first_accept_to_stale_line(migrated_db: str, tmp_path: Path) -> None:
    accepted = tmp_path / "accepted-differences.txt"

    def inv(*args: str) -> tuple[int, str]:
        result = run_inv(*args, "--url", migrated_db, "--accepted", str(accepted))
        assert "Traceback" not in result.stderr
        return result.returncode, result.stdout + result.stderr

    def conformance() -> dict[str, object]:
        result = run_inv("verify", "--json", *CONFORMANCE, "--url", migrated_db, "--accepted", str(accepted))
        document = json.loads(result.stdout)
        check: dict[str, object] = document["checks"][0]
        check["ok"], check["accepted_differences"] = document["ok"], document["accepted_differences"]
        return check

    with psycopg.connect(migrated_db, autocommit=True) as conn:
        conn.execute("create index users_display_name_idx on users (display_name)")

    code, output = inv("verify")
    assert code == 1 and shows(INDEX, output)
    assert not accepted.exists()

    code, output = inv("verify", "--accept")
    assert code == 0, output
    shown = display_path(accepted, ROOT)  # relative when inside the project (a nox session's tmp)
    assert f"Accepted 1 difference(s) from the snapshot of 0007_wishlist_items in {shown}" in output
    assert f"  + {INDEX}" in output
    assert accepted.read_text() == "\n".join([*HEADER, "", TODO, INDEX]) + "\n"

    # a reviewer replaces the TODO with the reason
    accepted.write_text(accepted.read_text().replace(TODO, "# the admin search needs it; schema.ts lags (WISH-2100)"))
    code, output = inv("verify")
    assert code == 0, output
    assert shows(f"accepted: {INDEX}", output)
    assert shows("matches the snapshot of 0007_wishlist_items (7 table(s)) apart from 1 accepted difference(s)", output)
    check = conformance()
    assert (check["ok"], check["result"], check["accepted"], check["accepted_differences"]) == (
        True,
        "pass",
        [INDEX],
        1,
    )
    for task in (["drift", "--check"], ["status", "--schema", "--check"]):
        code, output = inv(*task)
        assert code == 0, output
        assert f"  accepted: {INDEX}" in output

    # a new hand-made change fails, and only it is named as failing
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        conn.execute("alter table users add column nickname text")
    code, output = inv("verify")
    assert code == 1
    check = conformance()
    assert (check["ok"], check["differences"], check["accepted"]) == (False, [COLUMN], [INDEX])
    code, output = inv("drift", "--check")
    assert code == 1
    assert output.splitlines()[-1] == "drift check failed: 0 drifted, 1 schema difference(s) (column users.nickname)"

    # both hand-made changes undone: verify passes and names the accepted line nobody needs any more
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        conn.execute("alter table users drop column nickname")
        conn.execute("drop index users_display_name_idx")
    code, output = inv("verify")
    assert code == 0, output
    stale = f"accepted but no longer seen: {INDEX}; remove them from {display_path(accepted, ROOT)}"
    assert shows(f"warning: {stale}", output)
    assert conformance()["warnings"] == [stale]

    # --accept on a matching database removes the stale line, with its reason, and keeps the header
    code, output = inv("verify", "--accept")
    assert code == 0, output
    assert "nothing needs accepting" in output
    assert f"  - {INDEX}" in output
    assert accepted.read_text() == "\n".join(HEADER) + "\n"


def test_accept_on_a_matching_database_writes_no_file(migrated_db: str, tmp_path: Path) -> None:
    accepted = tmp_path / "accepted.txt"
    result = run_inv("verify", "--accept", "--url", migrated_db, "--accepted", str(accepted))
    assert result.returncode == 0, result.stderr
    assert f"nothing needs accepting ({display_path(accepted, ROOT)} not written)" in result.stdout
    assert not accepted.exists()


def test_an_unreadable_accepted_file_is_one_line_and_exit_2(migrated_db: str, tmp_path: Path) -> None:
    folder = tmp_path / "accepted.txt"
    folder.mkdir()
    for task in (["verify"], ["drift"], ["status", "--schema"], ["verify", "--accept"]):
        result = run_inv(*task, "--url", migrated_db, "--accepted", str(folder))
        assert result.returncode == 2, (task, result.stdout + result.stderr)
        assert result.stderr.strip().splitlines() == [
            f"error: cannot read the accepted differences file {display_path(folder, ROOT)}: Is a directory; "
            "fix it or pass --accepted PATH"
        ]


def test_a_v1_head_whose_fold_needs_a_lost_snapshot_skips_conformance(empty_db: str, tmp_path: Path) -> None:
    ws = tmp_path / "drizzle-v1"
    shutil.copytree(ROOT / "examples" / "drizzle-v1", ws, ignore=shutil.ignore_patterns("node_modules"))
    folders = sorted(p for p in (ws / "drizzle").iterdir() if p.is_dir())
    (folders[1] / "snapshot.json").unlink()  # a middle diff: the head's own snapshot is there, its fold is not
    assert run_inv("migrate", "--workspace", str(ws), "--url", empty_db).returncode == 0
    result = run_inv("verify", "--workspace", str(ws), "--url", empty_db, "--json", *CONFORMANCE)
    assert result.returncode == 0, result.stdout + result.stderr
    (check,) = json.loads(result.stdout)["checks"]
    assert (check["result"], check["detail"]) == ("skip", f"skipped (no snapshot for {folders[1].name})")
