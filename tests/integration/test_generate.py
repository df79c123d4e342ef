"""`inv generate` with the real drizzle-kit on a copy of the example workspace.

Each scenario edits src/schema/index.ts as a developer would, generates, then
proves the draft: migrate applies the new migration (the schema conforms to its
snapshot), `inv rollback` runs the reviewed draft, and the schema conforms to
the previous snapshot again.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from drizzle_ops.down_draft import DRAFT_MARKER, is_draft
from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.paths import display_path
from drizzle_ops.verify.conformance import check_conformance
from tests.helpers import EXAMPLE, NO_DRIZZLE_KIT, ROOT, requires, rows, run_inv

DRIZZLE_KIT = EXAMPLE / "node_modules" / ".bin" / "drizzle-kit"
needs_drizzle_kit = requires(DRIZZLE_KIT.exists, NO_DRIZZLE_KIT)
drizzle = [pytest.mark.drizzle, needs_drizzle_kit]


def drizzle_workspace(tmp_path: Path) -> Path:
    """A private copy of the example workspace whose node_modules is a link to the example's (no install)."""
    target = tmp_path / "database-schema"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("node_modules"))
    (target / "node_modules").symlink_to(EXAMPLE / "node_modules", target_is_directory=True)
    return target


def edit_schema(ws: Path, old: str, new: str) -> None:
    path = ws / "src" / "schema" / "index.ts"
    text = path.read_text()
    assert old in text, f"the example schema no longer contains {old!r}"
    path.write_text(text.replace(old, new, 1))


def generate(ws: Path, rollback_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_inv("generate", "--workspace", str(ws), "--rollback-dir", str(rollback_dir), *args)


def reviewed(path: Path) -> str:
    """What a person does after reading the draft: delete its DRAFT line."""
    text = path.read_text()
    kept = "".join(line for line in text.splitlines(keepends=True) if not line.startswith(DRAFT_MARKER))
    path.write_text(kept)
    return text


def differences(url: str, ws: Path, tag: str) -> list[str]:
    workspace = load_workspace(ws)
    with psycopg.connect(url, autocommit=True) as conn:
        return [str(d) for d in check_conformance(conn, workspace, workspace.by_tag(tag)).differences]


def generate_and_round_trip(
    ws: Path, tmp_path: Path, url: str, name: str, before_rollback: str | None = None
) -> tuple[str, str]:
    """Generate ``name``, migrate, (run ``before_rollback``), roll back with the reviewed draft; the draft's text."""
    rollback_dir = tmp_path / "rollback"
    done = generate(ws, rollback_dir, "--name", name)
    assert done.returncode == 0, done.stderr
    workspace = load_workspace(ws)
    new, previous = workspace.migrations[-1], workspace.migrations[-2]
    assert new.tag == f"{previous.idx + 1:04d}_{name}"
    assert f"Generated {new.tag}" in done.stdout
    draft_path = rollback_dir / f"{new.tag}.down.sql"
    assert f"Drafted the down migration {display_path(draft_path, ROOT)}" in done.stdout
    assert is_draft(draft_path.read_text())

    applied = run_inv("migrate", "--workspace", str(ws), "--url", url)
    assert applied.returncode == 0, applied.stderr
    assert differences(url, ws, new.tag) == []
    if before_rollback:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(before_rollback)
    rows_before = rows(url)

    text = reviewed(draft_path)
    undone = run_inv("rollback", "--workspace", str(ws), "--url", url, "--rollback-dir", str(rollback_dir))
    assert undone.returncode == 0, undone.stderr
    assert differences(url, ws, previous.tag) == []
    assert rows(url) == rows_before[:-1]
    return new.tag, text


@pytest.mark.drizzle
@needs_drizzle_kit
def test_adding_a_table(migrated_db: str, tmp_path: Path) -> None:
    ws = drizzle_workspace(tmp_path)
    edit_schema(
        ws,
        "export type User = ",
        'export const tagKind = pgEnum("tag_kind", ["color", "theme"]);\n\n'
        'export const tags = pgTable("tags", {\n'
        '  id: serial("id").primaryKey(),\n'
        '  userId: uuid("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),\n'
        '  name: text("name").notNull().unique(),\n'
        '  kind: tagKind("kind").default("color").notNull(),\n'
        '}, (t) => [index("tags_user_idx").on(t.userId)]);\n\n'
        "export type User = ",
    )
    _, draft = generate_and_round_trip(
        ws, tmp_path, migrated_db, "tags", "insert into tags (user_id, name) select id, 'red' from users limit 1"
    )
    assert 'DROP TABLE "public"."tags";' in draft
    assert draft.index('DROP TABLE "public"."tags"') < draft.index('DROP TYPE "public"."tag_kind"')
    assert "REVIEW: every row written to tags" in draft


@pytest.mark.drizzle
@needs_drizzle_kit
def test_adding_a_column(migrated_db: str, tmp_path: Path) -> None:
    ws = drizzle_workspace(tmp_path)
    edit_schema(
        ws,
        '  avatarUrl: text("avatar_url"),\n',
        '  avatarUrl: text("avatar_url"),\n  nickname: text("nickname").default("anon").notNull(),\n',
    )
    _, draft = generate_and_round_trip(ws, tmp_path, migrated_db, "nickname")
    assert 'ALTER TABLE "public"."users" DROP COLUMN "nickname";' in draft
    assert "REVIEW: the values written to users.nickname" in draft


@pytest.mark.drizzle
@needs_drizzle_kit
def test_adding_an_index(migrated_db: str, tmp_path: Path) -> None:
    ws = drizzle_workspace(tmp_path)
    edit_schema(
        ws,
        '(t) => [check("sets_year_check", sql`${t.year} >= 1949`)],',
        '(t) => [check("sets_year_check", sql`${t.year} >= 1949`), index("sets_theme_year_idx").on(t.theme, '
        "t.year.desc())],",
    )
    _, draft = generate_and_round_trip(ws, tmp_path, migrated_db, "sets_theme_year")
    assert 'DROP INDEX "public"."sets_theme_year_idx";' in draft


@pytest.mark.drizzle
@needs_drizzle_kit
def test_adding_an_enum_value(migrated_db: str, tmp_path: Path) -> None:
    ws = drizzle_workspace(tmp_path)
    edit_schema(ws, '["USD", "EUR", "GBP", "CAD", "AUD"]', '["USD", "EUR", "GBP", "CAD", "AUD", "JPY"]')
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        conn.execute("insert into users (email) values ('fan@example.com')")
        conn.execute(
            "insert into wishlist_items (user_id, title, store, currency) "
            "select id, 'Castle', 'LEGO', 'EUR' from users limit 1"
        )
    _, draft = generate_and_round_trip(ws, tmp_path, migrated_db, "jpy")
    assert "REVIEW: PostgreSQL cannot remove a value from an enum" in draft
    assert "'JPY'" in draft
    with psycopg.connect(migrated_db) as conn:  # the row kept its value through the type's recreation
        assert conn.execute("select currency::text from wishlist_items").fetchall() == [("EUR",)]


@pytest.mark.drizzle
@needs_drizzle_kit
def test_dropping_a_column_with_its_index_and_foreign_key(migrated_db: str, tmp_path: Path) -> None:
    ws = drizzle_workspace(tmp_path)
    edit_schema(ws, '    mocId: uuid("moc_id").references(() => mocInstructions.id, { onDelete: "set null" }),\n', "")
    edit_schema(ws, '    index("gallery_images_moc_id_idx").on(t.mocId).where(sql`${t.mocId} is not null`),\n', "")
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        conn.execute("insert into users (email) values ('fan@example.com')")
        conn.execute("insert into gallery_images (user_id, url) select id, 'https://x/1.png' from users limit 1")
    _, draft = generate_and_round_trip(ws, tmp_path, migrated_db, "drop_gallery_moc")
    assert "REVIEW: 0008_drop_gallery_moc dropped gallery_images.moc_id and its data with it" in draft
    assert draft.index('ADD COLUMN "moc_id" uuid') < draft.index('CREATE INDEX "gallery_images_moc_id_idx"')
    assert '"gallery_images_moc_id_moc_instructions_id_fk" FOREIGN KEY ("moc_id")' in draft


@pytest.mark.drizzle
@needs_drizzle_kit
def test_custom_migration_and_an_existing_down_file_is_never_overwritten(tmp_path: Path) -> None:
    ws = drizzle_workspace(tmp_path)
    rollback_dir = tmp_path / "rollback"
    rollback_dir.mkdir()
    mine = rollback_dir / "0008_backfill.down.sql"
    mine.write_text("-- written by hand before generating\n")
    done = generate(ws, rollback_dir, "--custom", "--name", "backfill", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["generated"] == "0008_backfill"
    assert document["down_draft"]["written"] is False
    assert mine.read_text() == "-- written by hand before generating\n"
    assert any("custom migration" in r for r in document["down_draft"]["reviews"])


@pytest.mark.drizzle
@needs_drizzle_kit
def test_no_change_installs_missing_node_modules_first_and_says_nothing_was_generated(tmp_path: Path) -> None:
    ws = tmp_path / "database-schema"
    shutil.copytree(EXAMPLE, ws, ignore=shutil.ignore_patterns("node_modules"))
    done = run_inv(
        "generate",
        "--workspace",
        str(ws),
        "--rollback-dir",
        str(tmp_path / "rollback"),
        env={"npm_config_prefer_offline": "true"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "node_modules is missing: installing packages with `npm ci --no-audit --no-fund`" in done.stderr
    assert "drizzle-kit found no schema changes: nothing was generated." in done.stdout
    assert (ws / "node_modules" / ".bin" / "drizzle-kit").exists()
    assert not (tmp_path / "rollback").exists()


def test_a_workspace_without_the_script_is_bad_input(workspace_copy: Path, tmp_path: Path) -> None:
    package = workspace_copy / "package.json"
    data = json.loads(package.read_text())
    del data["scripts"]["db:generate"]
    package.write_text(json.dumps(data))
    done = generate(workspace_copy, tmp_path / "rollback")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "has no `db:generate` script (it has: db:migrate, typecheck)" in done.stderr
    assert "Traceback" not in done.stderr


def test_without_node_it_says_so(workspace_copy: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)
    done = run_inv(
        "generate", "--workspace", str(workspace_copy), "--rollback-dir", str(tmp_path / "rb"), env={"PATH": str(bare)}
    )
    assert done.returncode == 2, done.stderr
    assert "error: Node.js is not installed (no `node` on PATH); install Node 20" in done.stderr


def test_a_bad_name_is_refused_before_anything_runs(workspace_copy: Path, tmp_path: Path) -> None:
    done = generate(workspace_copy, tmp_path / "rollback", "--name", "../escape")
    assert done.returncode == 2
    assert "--name '../escape': use letters, digits, _ and - only" in done.stderr


def test_verify_rollback_drafts_fails_while_a_journal_migrations_down_file_is_a_draft(
    workspace_copy: Path, tmp_path: Path
) -> None:
    rollback_dir = tmp_path / "rollback"
    shutil.copytree(ROOT / "sql" / "rollback", rollback_dir)
    draft = rollback_dir / "0006_moc_parts_lists.down.sql"
    draft.write_text(f"{DRAFT_MARKER} down migration for 0006_moc_parts_lists …\n" + draft.read_text())
    (rollback_dir / "0042_other_branch.down.sql").write_text(f"{DRAFT_MARKER} not in this journal\n")
    args = ("verify", "--rollback-drafts", "--workspace", str(workspace_copy), "--rollback-dir", str(rollback_dir))

    done = run_inv(*args)
    assert done.returncode == 1
    assert "draft  " in done.stdout and "0006_moc_parts_lists.down.sql" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == (
        "error: 1 down file(s) are unreviewed drafts (0006_moc_parts_lists); "
        "review each and delete its `-- drizzle-ops: DRAFT` line"
    )
    as_json = json.loads(run_inv(*args, "--json").stdout)
    assert as_json["ok"] is False and [d["tag"] for d in as_json["drafts"]] == ["0006_moc_parts_lists"]

    reviewed(draft)
    done = run_inv(*args)
    assert done.returncode == 0, done.stderr
    assert "No down file of the 8 migration(s) is still a draft." in done.stdout


@pytest.mark.drizzle
@needs_drizzle_kit
def test_a_rename_prompt_without_a_terminal_is_reported_not_taken_for_no_change(tmp_path: Path) -> None:
    ws = drizzle_workspace(tmp_path)
    edit_schema(ws, '  avatarUrl: text("avatar_url"),\n', '  pictureUrl: text("picture_url"),\n')
    done = generate(ws, tmp_path / "rollback", "--name", "picture")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "error: drizzle-kit must ask whether a table or column was renamed, and it can ask only at a terminal; "
        "run `inv generate` in a terminal and answer its prompts"
    )
    assert "nothing was generated" not in done.stdout
