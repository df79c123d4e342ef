"""Choosing what rollback undoes (pure), reading down files."""

from __future__ import annotations

from pathlib import Path

import pytest

from drizzle_ops.engine.rollback import (
    DownFile,
    RollbackChoice,
    RollbackFailed,
    RollbackVerifyFailed,
    StepVerification,
    head_after,
    load_down_files,
    plan_rollback,
)
from drizzle_ops.engine.states import AppliedRow, Entry, MigrationState
from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.errors import UserError
from tests.helpers import EXAMPLE


def applied(*tags: str) -> list[Entry]:
    return [
        Entry(MigrationState.APPLIED, tag, 1000 + n, f"h{n}", AppliedRow(n + 1, f"h{n}", 1000 + n))
        for n, tag in enumerate(tags)
    ]


ENTRIES = applied("a", "b", "c", "d")


def tags(entries: list[Entry]) -> list[str | None]:
    return [e.tag for e in entries]


def test_default_is_one_step_newest_first() -> None:
    assert tags(plan_rollback(ENTRIES)) == ["d"]
    assert tags(plan_rollback(ENTRIES, RollbackChoice(steps=3))) == ["d", "c", "b"]


def test_to_keeps_the_tag_applied() -> None:
    assert tags(plan_rollback(ENTRIES, RollbackChoice(to="b"))) == ["d", "c"]
    assert plan_rollback(ENTRIES, RollbackChoice(to="d")) == []


def test_all_and_nothing_applied() -> None:
    assert tags(plan_rollback(ENTRIES, RollbackChoice(all=True))) == ["d", "c", "b", "a"]
    pending = [Entry(MigrationState.PENDING, "a", 1, "h", None)]
    assert plan_rollback(pending, RollbackChoice(steps=5)) == [] and plan_rollback([], RollbackChoice(to="x")) == []


def test_order_follows_the_rows_not_the_journal() -> None:
    # an out-of-order migration applied last is undone first
    entries = applied("a", "b", "c")
    late = entries[1]
    assert late.row is not None
    entries[1] = Entry(MigrationState.APPLIED, late.tag, late.when, late.file_hash, AppliedRow(9, "h1", late.when))
    assert tags(plan_rollback(entries, RollbackChoice(steps=2))) == ["b", "c"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"steps": 5}, "--steps 5: only 4 migration(s) are applied; use --all"),
        ({"steps": 0}, "--steps 0: give a number of migrations, 1 or more"),
        ({"steps": 1, "to": "a"}, "give only one of --steps, --to and --all"),
        ({"to": "a", "all": True}, "give only one of"),
        ({"to": "zzz"}, "--to zzz: that migration is not applied (newest applied: d)"),
    ],
)
def test_bad_flags(flags: dict[str, object], message: str) -> None:
    with pytest.raises(UserError) as caught:
        plan_rollback(ENTRIES, RollbackChoice(**flags))  # type: ignore[arg-type]
    assert message in caught.value.message


def test_newer_rows_without_a_file_block_the_rollback() -> None:
    entries = [*applied("a", "b"), Entry(MigrationState.MISSING_FILE, None, 5000, None, AppliedRow(7, "x", 5000))]
    with pytest.raises(UserError, match=r"no file in this workspace \(row 7\)"):
        plan_rollback(entries)


def test_a_modified_migration_is_not_rolled_back() -> None:
    entries = applied("a", "b")
    row = entries[1].row
    entries[1] = Entry(MigrationState.MODIFIED, "b", 1001, "new", row)
    with pytest.raises(UserError, match="b changed after being applied"):
        plan_rollback(entries)
    assert tags(plan_rollback(entries[:1])) == ["a"]


def test_missing_down_files_are_all_named(tmp_path: Path) -> None:
    (tmp_path / "a.down.sql").write_text("DROP TABLE a;")
    with pytest.raises(UserError) as one:
        load_down_files(tmp_path, ["a", "b"], base=tmp_path.parent)
    assert one.value.message.startswith(f"down file {tmp_path.name}/b.down.sql is missing")
    with pytest.raises(UserError) as several:
        load_down_files(tmp_path, ["a", "b", "c"])
    assert "2 down files are missing" in several.value.message
    assert str(tmp_path / "b.down.sql") in several.value.message and "c.down.sql" in several.value.message


def test_down_files_split_like_migrations(tmp_path: Path) -> None:
    (tmp_path / "a.down.sql").write_text("-- undo a\nDROP TABLE a;--> statement-breakpoint\n\nDROP TYPE t;\n")
    down = load_down_files(tmp_path, ["a"])["a"]
    assert [s.sql.strip() for s in down.statements] == ["-- undo a\nDROP TABLE a;", "DROP TYPE t;"]
    assert [s.line for s in down.statements] == [1, 4]


def test_non_utf8_down_file_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "a.down.sql").write_bytes(b"DROP TABLE \xff;")
    with pytest.raises(UserError, match="not valid UTF-8"):
        load_down_files(tmp_path, ["a"])


def test_rollback_failure_message_is_one_line_with_file_and_line() -> None:
    failure = RollbackFailed(
        tag="0006_x",
        statement_number=2,
        line=14,
        path="sql/rollback/0006_x.down.sql",
        sqlstate="42704",
        server_message='type "nope" does not exist',
        done=["0007_y"],
    )
    assert "\n" not in failure.message
    assert failure.message.startswith("rollback of 0006_x failed at statement 2 (sql/rollback/0006_x.down.sql:14)")
    assert "0006_x is still applied (1 newer step(s) stay rolled back: 0007_y)" in failure.message
    assert failure.as_dict()["line"] == 14 and failure.exit_code == 1


def test_the_new_head_is_the_newest_migration_in_journal_order_that_stays_applied() -> None:
    workspace = load_workspace(EXAMPLE)
    journal = [m.tag for m in workspace.migrations]
    entries = applied(*journal)
    assert head_after(workspace, entries, set()) is workspace.migrations[-1]
    assert head_after(workspace, entries, {journal[-1]}) is workspace.migrations[-2]
    # journal order decides, not the order rows were written in
    assert head_after(workspace, applied(*reversed(journal)), {journal[-1]}) is workspace.migrations[-2]
    assert head_after(workspace, entries, set(journal)) is None  # nothing stays: an empty schema
    pending = [
        e if e.tag != journal[-2] else Entry(MigrationState.PENDING, e.tag, e.when, e.file_hash, None) for e in entries
    ]
    assert head_after(workspace, pending, {journal[-1]}) is workspace.migrations[-3]


def test_a_failed_verification_is_one_line_naming_file_head_and_first_differences() -> None:
    down = DownFile("0007_x", Path("sql/rollback/0007_x.down.sql"), "sql/rollback/0007_x.down.sql", "")
    differences = [f"index i{n}: not in snapshot" for n in range(7)]
    failure = RollbackVerifyFailed(
        down, StepVerification("0006_y", "fail", "7 difference(s)", differences), done=["0008_z"]
    )
    message = failure.message
    assert "\n" not in message and failure.exit_code == 1
    assert message.startswith("after sql/rollback/0007_x.down.sql the schema does not match the snapshot of 0006_y")
    assert "(7 difference(s): index i0: not in snapshot; " in message and "index i4" in message
    assert "index i5" not in message and "; and 2 more)" in message
    assert "0007_x is still applied (1 newer step(s) stay rolled back: 0008_z)" in message
    assert failure.as_dict()["verification"] == {
        "head": "0006_y",
        "result": "fail",
        "detail": "7 difference(s)",
        "differences": differences,
    }
    empty = RollbackVerifyFailed(down, StepVerification(None, "fail", "1", ["table t: not in snapshot"]))
    assert "does not match an empty schema (no migration would have stayed applied)" in empty.message
