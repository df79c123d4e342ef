"""The real drizzle-kit histories in tests/fixtures/histories, read offline: what each fixture holds, and what the
workspace reader makes of it (snapshot names per prefix, lost snapshots, warnings, the chain). No database."""

from __future__ import annotations

import hashlib
import json

import pytest

from drizzle_ops.engine.workspace import load_workspace
from tests.helpers import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "histories"
NAMES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())

# per fixture: the journal tags, and the snapshot file each one owns (None: it has none)
EXPECTED: dict[str, list[tuple[str, str | None]]] = {
    "legacy-journal": [
        ("0000_crazy_gertrude_yorkes", "0000_snapshot.json"),
        ("0001_black_machine_man", "0001_snapshot.json"),
        ("0002_add_post_body", "0002_snapshot.json"),
        ("0003_comments", "0003_snapshot.json"),
    ],
    "legacy-no-breakpoints": [
        ("0000_tiresome_doomsday", "0000_snapshot.json"),
        ("0001_clammy_maelstrom", "0001_snapshot.json"),
    ],
    "breakpoints-false": [
        ("0000_init", "0000_snapshot.json"),
        ("0001_invoice_note_currency", "0001_snapshot.json"),
    ],
    "prefix-timestamp": [
        ("20261201161131_init", "20261201161131_snapshot.json"),
        ("20261201161133_projects", "20261201161133_snapshot.json"),
        ("20261201161139_seed_system_user", None),
        ("20261201161136_tasks", "20261201161136_snapshot.json"),
        ("20261201161137_task_labels", "20261201161137_snapshot.json"),
    ],
    "prefix-unix": [
        ("1796141506_init", "1796141506_snapshot.json"),
        ("1796141508_members", "1796141508_snapshot.json"),
        ("1796141510_member_admin_flag", "1796141510_snapshot.json"),
    ],
    "prefix-supabase": [
        ("20261201161152_init", "20261201161152_snapshot.json"),
        ("20261201161154_members", "20261201161154_snapshot.json"),
        ("20261201161156_member_admin_flag", "20261201161156_snapshot.json"),
    ],
    "prefix-none": [("_init", None), ("_members", "_snapshot.json")],  # one shared file, the newest one's
    "broken-chain": [
        ("0000_init", "0000_snapshot.json"),
        ("0001_tags", "0001_snapshot.json"),
        ("0002_comments", "0002_snapshot.json"),
        ("0003_backfill_post_titles", None),
        ("0004_comment_flags", "0004_snapshot.json"),
    ],
    "own-transactions": [
        ("0000_init", "0000_snapshot.json"),
        ("0001_last_seen", "0001_snapshot.json"),
        ("0002_lowercase_emails", "0002_snapshot.json"),
        ("0003_rebuild_org_email_unique", "0003_snapshot.json"),
    ],
    "own-transactions-failure": [("0000_init", "0000_snapshot.json"), ("0001_audit_tables", "0001_snapshot.json")],
    "long-names": [
        ("0000_init", "0000_snapshot.json"),
        ("0001_member_permissions", "0001_snapshot.json"),
        ("0002_recurring_events", "0002_snapshot.json"),
    ],
    "enum-order": [
        ("0000_init", "0000_snapshot.json"),
        ("0001_status_packed", "0001_snapshot.json"),
        ("0002_shipped_at", "0002_snapshot.json"),
    ],
    "hand-drift": [
        ("0000_init", "0000_snapshot.json"),
        ("0001_product_search", "0001_snapshot.json"),
        ("0002_product_stock", "0002_snapshot.json"),
    ],
    "duplicate-when": [
        ("0000_init", "0000_snapshot.json"),
        ("0001_default_settings", "0001_snapshot.json"),
        ("0002_default_flags", None),
    ],
    "redundant-unique": [("0000_init", "0000_snapshot.json"), ("0001_session_id_unique", "0001_snapshot.json")],
    "null-defaults": [("0000_init", "0000_snapshot.json"), ("0001_label_memo", "0001_snapshot.json")],
    "column-collation": [("0000_init", "0000_snapshot.json"), ("0001_slug", "0001_snapshot.json")],
    "index-keys": [("0000_init", "0000_snapshot.json"), ("0001_event_indexes", "0001_snapshot.json")],
    # drizzle-kit 1.0's folder layout (snapshot version "8"): a folder written by hand has no snapshot.json
    "v1-beta15": [
        ("20261207102137_init", "snapshot.json"),
        ("20261207102144_backfill_roles", "snapshot.json"),
        ("20261207102151_tags_and_published", "snapshot.json"),
        ("20261207102157_billing", "snapshot.json"),
        ("20261207102204_owner_role", "snapshot.json"),
    ],
    "v1-beta19-graph": [
        ("20261207102232_init", "snapshot.json"),
        ("20261207102238_seed_system_account", None),
        ("20261207102240_projects_archived", "snapshot.json"),
        ("20261207102245_tasks", "snapshot.json"),
        ("20261207102257_projects_touch_trigger", None),
        ("20261207102258_tasks_done", "snapshot.json"),
        ("20261207102306_account_name_200", "snapshot.json"),
        ("20261207102309_account_name_text", "snapshot.json"),
        ("20261207102320_backfill_account_names", None),
        ("20261207102329_account_bio", "snapshot.json"),
    ],
    "v1-rc4": [
        ("20261207102410_init", "snapshot.json"),
        ("20261207102417_renames", "snapshot.json"),
        ("20261207102424_normalise_emails", "snapshot.json"),
        ("20261207102428_order_note", "snapshot.json"),
        ("20261207102431_ops_jobs", "snapshot.json"),
        ("20261207102447_customer_phone", "snapshot.json"),
        ("20261207102448_orders_total_positive", None),
        ("20261207102451_declare_total_check", "snapshot.json"),
    ],
}
V1 = sorted(n for n in EXPECTED if n.startswith("v1-"))


def journal(name: str) -> dict:
    return json.loads((FIXTURES / name / "drizzle" / "meta" / "_journal.json").read_text())


def test_every_fixture_is_listed_here() -> None:
    assert sorted(EXPECTED) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_a_fixture_is_a_whole_workspace_with_its_story(name: str) -> None:
    folder = FIXTURES / name
    layout = () if name in V1 else ("drizzle/meta/_journal.json",)
    for part in ("README.md", "drizzle.config.ts", "schema.ts", *layout):
        assert (folder / part).is_file(), f"{name}/{part}"
    assert not (folder / "node_modules").exists()
    assert "## How it was made" in (folder / "README.md").read_text()
    if name in V1:  # every folder holds a migration.sql, and nothing else lies around
        assert all((p / "migration.sql").is_file() for p in (folder / "drizzle").iterdir())
        return
    on_disk = sorted(p.stem for p in (folder / "drizzle").glob("*.sql"))
    assert on_disk == sorted(e["tag"] for e in journal(name)["entries"])  # no stray SQL, none missing


@pytest.mark.parametrize("name", NAMES)
def test_the_reader_finds_each_migrations_own_snapshot(name: str) -> None:
    workspace = load_workspace(FIXTURES / name)
    found = [(m.tag, m.snapshot_path.name if m.snapshot_path else None) for m in workspace.migrations]
    assert found == EXPECTED[name]
    for migration in workspace.migrations:  # drizzle's hash: sha256 of the file's text
        assert migration.hash == hashlib.sha256(migration.sql_path.read_bytes()).hexdigest()


def test_legacy_headers_and_entries_are_as_old_drizzle_kit_wrote_them() -> None:
    legacy = journal("legacy-journal")
    assert (legacy["version"], legacy["dialect"]) == ("5", "pg")
    assert [e["version"] for e in legacy["entries"]] == ["5", "5", "6", "7"]
    old = journal("legacy-no-breakpoints")
    assert (old["version"], old["dialect"]) == ("5", "pg")
    assert all(set(e) == {"idx", "when", "tag"} for e in old["entries"])  # 0.16.9: no version, no breakpoints
    enum = journal("enum-order")
    assert (enum["version"], enum["dialect"]) == ("6", "postgresql")
    assert all(e["breakpoints"] is False for e in journal("breakpoints-false")["entries"])


def test_whens_as_the_merges_left_them() -> None:
    whens = [e["when"] for e in journal("prefix-timestamp")["entries"]]
    assert whens[3] < whens[2] and whens[4] < whens[2]  # the merged branch's two entries are older
    same = [e["when"] for e in journal("duplicate-when")["entries"]]
    assert same[1] == same[2]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("prefix-timestamp", ["1 migration(s) have no snapshot, first 20261201161139_seed_system_user "]),
        ("broken-chain", ["1 migration(s) have no snapshot, first 0003_backfill_post_titles "]),
        (
            "duplicate-when",
            [
                "0002_default_flags and 0001_default_settings have the same journal `when`",
                "1 migration(s) have no snapshot, first 0002_default_flags ",
            ],
        ),
        ("v1-beta19-graph", ["3 migration folder(s) have no snapshot.json, first 20261207102238_seed_system_account "]),
        ("v1-rc4", ["1 migration folder(s) have no snapshot.json, first 20261207102448_orders_total_positive "]),
        *[
            (n, [])
            for n in NAMES
            if n not in ("prefix-timestamp", "broken-chain", "duplicate-when", "v1-beta19-graph", "v1-rc4")
        ],
    ],
)
def test_the_history_warnings(name: str, expected: list[str]) -> None:
    warnings = list(load_workspace(FIXTURES / name).warnings)
    assert len(warnings) == len(expected), warnings
    for text, warning in zip(expected, warnings, strict=True):
        assert text in warning


def test_only_the_broken_chain_fixture_has_a_broken_chain() -> None:
    problem = load_workspace(FIXTURES / "broken-chain").snapshot_chain_problem()
    assert problem is not None
    assert "drizzle/meta/0002_snapshot.json" in problem and "4a8a0a67-7e84-4a7d-8690-c3cac2c0253d" in problem
    for name in NAMES:  # the v1 ones' merges (several prevIds) and hand-written folders break no chain
        if name not in ("broken-chain", "legacy-no-breakpoints"):
            assert load_workspace(FIXTURES / name).snapshot_chain_problem() is None, name


def test_the_v1_fixtures_are_version_8_snapshots_whose_prev_ids_form_a_graph() -> None:
    for name in V1:
        snapshots = [m.snapshot() for m in load_workspace(FIXTURES / name).migrations if m.snapshot_path]
        assert {(s["version"], s["dialect"]) for s in snapshots} == {("8", "postgres")}, name
        assert all(isinstance(s["ddl"], list) and "type" not in s for s in snapshots), name  # whole, no deltas
    graph = load_workspace(FIXTURES / "v1-beta19-graph").migrations
    parents = {m.tag.split("_", 1)[1]: m.snapshot()["prevIds"] for m in graph if m.snapshot_path}
    ids = {m.tag.split("_", 1)[1]: m.snapshot()["id"] for m in graph if m.snapshot_path}
    assert sorted(parents["tasks_done"]) == sorted([ids["projects_archived"], ids["tasks"]])  # a merge
    assert parents["account_name_200"] == parents["account_name_text"] == [ids["tasks_done"]]  # a fork
    assert parents["account_bio"] == [ids["account_name_text"]]  # --ignore-conflicts: one leaf stays open
