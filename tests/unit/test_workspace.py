"""The workspace reader: config, journal, SQL files and snapshots, and every way they can be wrong."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from drizzle_ops.engine.drizzle_config import read_drizzle_config
from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.errors import UserError
from tests.helpers import EXAMPLE


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    target = tmp_path / "ws"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("node_modules"))
    return target


def journal(ws: Path) -> dict:
    return json.loads((ws / "drizzle/meta/_journal.json").read_text())


def write_journal(ws: Path, data: dict) -> None:
    (ws / "drizzle/meta/_journal.json").write_text(json.dumps(data))


def test_example_workspace_loads_with_drizzle_hashes() -> None:
    workspace = load_workspace(EXAMPLE)
    assert [m.tag for m in workspace.migrations][-1] == "0007_wishlist_items"
    assert (workspace.migrations_schema, workspace.migrations_table) == ("drizzle", "__drizzle_migrations")
    first = workspace.migrations[0]
    assert first.hash == hashlib.sha256(first.sql_path.read_bytes()).hexdigest()
    assert first.when == journal(EXAMPLE)["entries"][0]["when"]


def test_statements_split_like_drizzle_with_line_numbers() -> None:
    migration = load_workspace(EXAMPLE).by_tag("0007_wishlist_items")
    chunks = migration.text.split("--> statement-breakpoint")
    assert [s.sql for s in migration.statements] == [c for c in chunks if c.strip()]
    lines = migration.text.splitlines()
    for statement in migration.statements:
        assert lines[statement.line - 1].strip().startswith(statement.sql.strip().splitlines()[0])


def test_line_of_a_position_inside_a_statement() -> None:
    migration = load_workspace(EXAMPLE).by_tag("0007_wishlist_items")
    create_table = migration.statements[2]
    position = create_table.sql.index('"price"') + 1
    assert '"price"' in migration.text.splitlines()[migration.line_of(create_table, position) - 1]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ('export default defineConfig({ out: "./db/migrations", dialect: "postgresql" })', ("db/migrations", None)),
        ("export default { out: 'm', migrations: { table: 't', schema: 's' } }", ("m", ("s", "t"))),
        ("// out: 'nope'\nexport default defineConfig({ /* out: 'x' */ out: `drizzle` })", ("drizzle", None)),
        ("export default defineConfig({ schema: './s.ts' })", ("drizzle", None)),
    ],
)
def test_config_literals_are_read_statically(tmp_path: Path, config: str, expected: tuple) -> None:
    (tmp_path / "drizzle.config.ts").write_text(config)
    result = read_drizzle_config(tmp_path)
    assert result.out == expected[0]
    if expected[1]:
        assert (result.migrations_schema, result.migrations_table) == expected[1]


@pytest.mark.parametrize(
    ("config", "setting"),
    [
        ("export default defineConfig({ out: OUT })", "drizzle_ops.out"),
        ("export default defineConfig({ out })", "drizzle_ops.out"),
        ("export default defineConfig({ ...base })", "drizzle_ops.out"),
        ("export default defineConfig({ out: 'd', migrations: { table: `${p}_m` } })", "drizzle_ops.migrations_table"),
        ("export default defineConfig({ out: 'd', migrations: cfg })", "drizzle_ops.migrations_schema"),
        ("export default makeConfig()", "drizzle_ops.migrations_schema"),
    ],
)
def test_unreadable_config_names_the_invoke_setting(tmp_path: Path, config: str, setting: str) -> None:
    (tmp_path / "drizzle.config.ts").write_text(config)
    with pytest.raises(UserError, match=setting):
        read_drizzle_config(tmp_path)


def test_overrides_replace_an_unreadable_config(tmp_path: Path) -> None:
    (tmp_path / "drizzle.config.ts").write_text("export default makeConfig()")
    result = read_drizzle_config(tmp_path, {"out": "x", "migrations_table": "t", "migrations_schema": "s"})
    assert (result.out, result.migrations_table, result.migrations_schema) == ("x", "t", "s")


def test_other_dialect_is_refused(tmp_path: Path) -> None:
    (tmp_path / "drizzle.config.ts").write_text('export default { dialect: "mysql", out: "d" }')
    with pytest.raises(UserError, match="postgresql"):
        read_drizzle_config(tmp_path)


def test_missing_config(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no drizzle.config.ts"):
        load_workspace(tmp_path)


def test_missing_sql_file_is_named(ws: Path) -> None:
    (ws / "drizzle/0003_gallery_images.sql").unlink()
    with pytest.raises(UserError, match=r"0003_gallery_images\.sql is missing"):
        load_workspace(ws)


def test_missing_snapshot_is_a_warning_not_an_error(ws: Path) -> None:
    (ws / "drizzle/meta/0004_snapshot.json").unlink()
    (ws / "drizzle/meta/0006_snapshot.json").unlink()
    workspace = load_workspace(ws)  # drizzle-kit's migrate never reads snapshots: neither do we refuse
    assert [m.tag for m in workspace.migrations if m.snapshot_path is None] == [
        "0004_profile_and_moc_details",
        "0006_moc_parts_lists",
    ]
    (warning,) = workspace.warnings
    assert warning.startswith("2 migration(s) have no snapshot, first 0004_profile_and_moc_details (")
    assert "0004_snapshot.json" in warning
    # a gap cannot be judged: the chain across it is not called broken
    assert workspace.snapshot_chain_problem() is None
    with pytest.raises(UserError, match="0004_profile_and_moc_details has no snapshot file"):
        workspace.by_tag("0004_profile_and_moc_details").snapshot()


def test_malformed_journal_names_file_and_position(ws: Path) -> None:
    (ws / "drizzle/meta/_journal.json").write_text('{"entries": [')
    with pytest.raises(UserError, match=r"_journal\.json is not valid JSON \(line 1"):
        load_workspace(ws)


def test_journal_entry_without_when(ws: Path) -> None:
    data = journal(ws)
    del data["entries"][2]["when"]
    write_journal(ws, data)
    with pytest.raises(UserError, match="entry 2 needs integer"):
        load_workspace(ws)


def test_malformed_snapshot_is_named_only_by_the_tasks_that_read_it(ws: Path) -> None:
    (ws / "drizzle/meta/0002_snapshot.json").write_text("{not json")
    workspace = load_workspace(ws)  # migrate and status read no snapshot
    assert workspace.warnings == ()
    with pytest.raises(UserError, match=r"0002_snapshot\.json is not valid JSON"):
        workspace.snapshot_chain_problem()


def test_broken_snapshot_chain_is_named_not_refused(ws: Path) -> None:
    path = ws / "drizzle/meta/0005_snapshot.json"
    snapshot = json.loads(path.read_text())
    snapshot["prevId"] = "22222222-2222-2222-2222-222222222222"
    path.write_text(json.dumps(snapshot))
    workspace = load_workspace(ws)
    assert workspace.warnings == ()
    problem = workspace.snapshot_chain_problem()
    assert problem is not None
    assert problem.startswith("drizzle/meta/0005_snapshot.json: prevId 22222222-2222-2222-2222-222222222222 is not")
    assert "chain is broken" in problem


def test_duplicate_when_is_a_warning(ws: Path) -> None:
    data = journal(ws)
    data["entries"][3]["when"] = data["entries"][2]["when"]
    write_journal(ws, data)
    (warning,) = load_workspace(ws).warnings
    assert warning.startswith("0003_gallery_images and 0002_sets_and_user_sets have the same journal `when`")


def test_duplicate_tag_is_refused(ws: Path) -> None:
    data = journal(ws)
    data["entries"].append({**data["entries"][1], "idx": 8, "when": data["entries"][-1]["when"] + 1})
    write_journal(ws, data)
    with pytest.raises(UserError, match="tag 0001_moc_instructions appears twice"):
        load_workspace(ws)


@pytest.mark.parametrize("header", [{"version": "5", "dialect": "pg"}, {"version": "6", "dialect": "postgresql"}, {}])
def test_journal_headers_of_older_drizzle_kit_are_read(ws: Path, header: dict) -> None:
    data = journal(ws)
    data.pop("version")
    data.pop("dialect")
    data.update(header)
    for entry in data["entries"][:3]:
        entry["version"] = "5"
        entry.pop("breakpoints")  # entries of old journals may lack it; drizzle splits on breakpoints anyway
    write_journal(ws, data)
    workspace = load_workspace(ws)
    assert len(workspace.migrations) == 8 and workspace.warnings == ()
    assert workspace.migrations[0].breakpoints is True


def test_journal_of_another_dialect_is_refused(ws: Path) -> None:
    data = journal(ws)
    data["dialect"] = "mysql"
    write_journal(ws, data)
    with pytest.raises(UserError, match="is for dialect 'mysql'; drizzle-ops supports postgresql only"):
        load_workspace(ws)


def _rename_prefix(ws: Path, prefix_of: Callable[[int], str]) -> list[str]:
    """Rename the example's files the way another migrations.prefix would have named them."""
    data = journal(ws)
    tags = []
    for entry in data["entries"]:
        old_tag = entry["tag"]
        new_tag = f"{prefix_of(entry['idx'])}_{old_tag.split('_', 1)[1]}"
        (ws / "drizzle" / f"{old_tag}.sql").rename(ws / "drizzle" / f"{new_tag}.sql")
        snapshot = ws / "drizzle/meta" / f"{entry['idx']:04d}_snapshot.json"
        snapshot.rename(ws / "drizzle/meta" / f"{prefix_of(entry['idx'])}_snapshot.json")
        entry["tag"] = new_tag
        tags.append(new_tag)
    write_journal(ws, data)
    return tags


@pytest.mark.parametrize(
    ("mode", "prefix_of"),
    [
        ("timestamp", lambda idx: f"2025010112{idx:02d}00"),  # also supabase's naming
        ("unix", lambda idx: str(1735732800 + idx * 60)),
    ],
)
def test_every_prefix_names_its_snapshots(ws: Path, mode: str, prefix_of: Callable[[int], str]) -> None:
    tags = _rename_prefix(ws, prefix_of)
    workspace = load_workspace(ws)
    assert [m.tag for m in workspace.migrations] == tags
    assert [m.snapshot_path.name for m in workspace.migrations if m.snapshot_path] == [
        f"{prefix_of(i)}_snapshot.json" for i in range(8)
    ]
    assert workspace.warnings == () and workspace.snapshot_chain_problem() is None


def test_prefix_none_keeps_one_snapshot_for_the_newest_migration(ws: Path) -> None:
    # drizzle-kit's "none" prefix tags migrations "_<name>" and overwrites meta/_snapshot.json each time
    _rename_prefix(ws, lambda idx: "")  # each rename overwrites meta/_snapshot.json, as each generate does
    assert (ws / "drizzle/meta/_snapshot.json").read_text() == (EXAMPLE / "drizzle/meta/0007_snapshot.json").read_text()
    workspace = load_workspace(ws)
    assert [m.tag for m in workspace.migrations][-1] == "_wishlist_items"
    assert [m.snapshot_path is not None for m in workspace.migrations] == [False] * 7 + [True]
    assert workspace.warnings == ()  # overwritten by design, not lost
    (ws / "drizzle/meta/_snapshot.json").unlink()
    (warning,) = load_workspace(ws).warnings
    assert warning.startswith("1 migration(s) have no snapshot, first _wishlist_items (drizzle/meta/_snapshot.json)")


def test_invalid_utf8_sql_is_refused(ws: Path) -> None:
    (ws / "drizzle/0001_moc_instructions.sql").write_bytes(b"SELECT '\xff';")
    with pytest.raises(UserError, match="not valid UTF-8"):
        load_workspace(ws)


def test_bom_is_kept_in_the_hash_like_node(ws: Path) -> None:
    path = ws / "drizzle/0001_moc_instructions.sql"
    data = b"\xef\xbb\xbf" + path.read_bytes()
    path.write_bytes(data)
    migration = load_workspace(ws).by_tag("0001_moc_instructions")
    assert migration.hash == hashlib.sha256(data).hexdigest()


def test_unknown_tag_is_bad_input() -> None:
    with pytest.raises(UserError, match="no migration tagged '0099_x'"):
        load_workspace(EXAMPLE).by_tag("0099_x")


def test_generate_refuses_a_broken_chain_before_running_drizzle_kit(ws: Path) -> None:
    # generate is the one task that needs the chain: drizzle-kit diffs the schema against the newest snapshot
    from drizzle_ops.drizzle_kit.generate import generate

    path = ws / "drizzle/meta/0006_snapshot.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "prevId": "33333333-3333-3333-3333-333333333333"}))
    with pytest.raises(UserError) as caught:
        generate(ws, None, ws / "rollback", name="next")
    assert caught.value.message.startswith("drizzle/meta/0006_snapshot.json: prevId 33333333-")
    assert "generate needs an intact chain" in caught.value.message
    assert not (ws / "rollback").exists() and len(journal(ws)["entries"]) == 8  # nothing ran, nothing written
