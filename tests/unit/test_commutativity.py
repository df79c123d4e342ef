"""Non-commutative branches of a drizzle-kit 1.0 history, found and worded as drizzle-kit's `check` does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drizzle_ops.engine.workspace import ZERO_UUID, load_workspace
from drizzle_ops.verify.commutativity import conflict_warning, find_conflicts, report_lines, statements
from drizzle_ops.verify.snapshot_v1 import key_of
from drizzle_ops.verify.v1_history import History
from tests.helpers import ROOT
from tests.unit.test_snapshot_v1 import column, index, table

GRAPH = ROOT / "tests" / "fixtures" / "histories" / "v1-beta19-graph"


def whole(id_: str, *rows: dict[str, Any], parents: tuple[str, ...] = (ZERO_UUID,)) -> tuple[str, dict[str, Any]]:
    snapshot = {"version": "8", "dialect": "postgres", "id": id_, "prevIds": list(parents), "ddl": list(rows)}
    return f"drizzle/{id_}/snapshot.json", snapshot


def shown(source: str) -> str:
    return str(Path(source).parent)


BASE = (table("users"), column("users", "name", "text"), table("posts"), column("posts", "id"))


def conflicts(*branches: tuple[str, dict[str, Any]]) -> list[str]:
    report = find_conflicts(History([whole("p", *BASE), *branches]))
    return [f"{b.chain[-1]}: {b.description}" for c in report.conflicts for b in c.branches]


def test_two_branches_that_alter_one_column_conflict() -> None:
    found = conflicts(
        whole("a", *BASE[:1], column("users", "name", "varchar(200)"), *BASE[2:], parents=("p",)),
        whole("b", *BASE[:1], column("users", "name", "varchar(50)"), *BASE[2:], parents=("p",)),
    )
    assert found == [
        "drizzle/a/snapshot.json: alter_column: name on users table",
        "drizzle/b/snapshot.json: alter_column: name on users table",
    ]


def test_branches_on_different_things_commute() -> None:
    assert (
        conflicts(
            whole("a", *BASE, column("users", "bio", "text"), parents=("p",)),
            whole("b", *BASE, table("tags"), column("tags", "id"), parents=("p",)),
            whole("c", *BASE, index("posts", "posts_id_idx", "id"), parents=("p",)),
        )
        == []
    )


def test_dropping_a_table_conflicts_with_a_column_added_to_it() -> None:
    found = conflicts(
        whole("a", *BASE[:2], parents=("p",)),  # posts dropped: one drop_table, its columns go with it
        whole("b", *BASE, column("posts", "title", "text"), parents=("p",)),
    )
    assert found == [
        "drizzle/a/snapshot.json: drop_table: posts in public schema",
        "drizzle/b/snapshot.json: add_column: title on posts table",
    ]


def test_merged_branches_are_not_reported() -> None:
    a = whole("a", *BASE[:1], column("users", "name", "varchar(200)"), *BASE[2:], parents=("p",))
    b = whole("b", *BASE[:1], column("users", "name", "varchar(50)"), *BASE[2:], parents=("p",))
    merge = whole("m", *BASE[:1], column("users", "name", "varchar(50)"), *BASE[2:], parents=("a", "b"))
    assert find_conflicts(History([whole("p", *BASE), a, b, merge])).conflicts == []


def test_statements_are_drizzle_kits_with_renames_as_drop_and_create() -> None:
    before = {key_of(r): r for r in (table("users"), column("users", "mail", "text"))}
    after = {key_of(r): r for r in (table("users"), column("users", "email", "text"), table("tags"))}
    assert sorted(s.describe() for s in statements(before, after)) == [
        "add_column: email on users table",
        "create_table: tags in public schema",
        "drop_column: mail on users table",
    ]


def test_the_fixtures_conflict_is_reported_as_drizzle_kit_reports_it() -> None:
    workspace = load_workspace(GRAPH)
    history = History([(str(m.snapshot_path), m.snapshot()) for m in workspace.migrations if m.snapshot_path])
    lines = report_lines(find_conflicts(history), lambda s: str(Path(s).parent.relative_to(GRAPH)))
    # drizzle-kit 1.0.0-beta.19's and rc.4's `check` print this tree (README.md), headed
    # "Non-commutative migrations detected  Found 1 conflict across 2 migrations"
    assert lines == [
        "Non-commutative migrations detected: found 1 conflict across 2 migrations",
        "",
        "  drizzle/20261207102258_tasks_done",
        "  ├── drizzle/20261207102306_account_name_200",
        "  │   └─ ⚠ alter_column: name on accounts table",
        "  └── drizzle/20261207102309_account_name_text",
        "      drizzle/20261207102329_account_bio",
        "      └─ ⚠ alter_column: name on accounts table",
    ]
    warning = conflict_warning(workspace)
    assert warning is not None and warning.startswith(
        "non-commutative migrations (as drizzle-kit's check finds them): 1 conflict(s) across 2 migration(s), "
        "from drizzle/20261207102258_tasks_done: drizzle/20261207102306_account_name_200 (alter_column: name on "
        "accounts table) and drizzle/20261207102309_account_name_text → drizzle/20261207102329_account_bio "
        "(alter_column: name on accounts table); "
    )


def test_commuting_and_merged_fixtures_have_no_warning() -> None:
    for name in ("v1-beta15", "v1-rc4"):
        assert conflict_warning(load_workspace(ROOT / "tests" / "fixtures" / "histories" / name)) is None
    assert conflict_warning(load_workspace(ROOT / "examples" / "drizzle-v1")) is None
