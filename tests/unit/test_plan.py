"""The pure state machine: files + bookkeeping rows -> states, and what migrate may apply."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from drizzle_ops.engine.states import AppliedRow, MigrationState, PlanOptions, compute_status, plan_migrate
from drizzle_ops.errors import OperationFailed, UserError


@dataclass(frozen=True)
class F:
    tag: str
    when: int
    hash: str


FILES = [F("0000_a", 100, "h0"), F("0001_b", 200, "h1"), F("0002_c", 300, "h2")]


def states(files: list[F], rows: list[AppliedRow]) -> list[tuple[str | None, MigrationState]]:
    return [(e.tag, e.state) for e in compute_status(files, rows)]


def test_nothing_applied_is_all_pending() -> None:
    assert states(FILES, []) == [(f.tag, MigrationState.PENDING) for f in FILES]


def test_applied_rows_match_by_when_and_hash() -> None:
    rows = [AppliedRow(1, "h0", 100), AppliedRow(2, "h1", 200)]
    assert states(FILES, rows) == [
        ("0000_a", MigrationState.APPLIED),
        ("0001_b", MigrationState.APPLIED),
        ("0002_c", MigrationState.PENDING),
    ]


def test_changed_hash_is_modified() -> None:
    rows = [AppliedRow(1, "h0", 100), AppliedRow(2, "other", 200)]
    assert states(FILES, rows)[1] == ("0001_b", MigrationState.MODIFIED)


def test_unapplied_entry_older_than_newest_row_is_out_of_order() -> None:
    rows = [AppliedRow(1, "h0", 100), AppliedRow(2, "h2", 300)]
    assert states(FILES, rows)[1] == ("0001_b", MigrationState.OUT_OF_ORDER)


def test_entries_sharing_a_when_match_their_own_rows_by_hash() -> None:
    # drizzle-kit applies both to an empty database: two rows with one created_at
    files = [F("0000_a", 100, "h0"), F("0001_b", 200, "h1"), F("0002_c", 200, "h2")]
    rows = [AppliedRow(1, "h0", 100), AppliedRow(2, "h1", 200), AppliedRow(3, "h2", 200)]
    assert states(files, rows) == [
        ("0000_a", MigrationState.APPLIED),
        ("0001_b", MigrationState.APPLIED),
        ("0002_c", MigrationState.APPLIED),
    ]
    # only the first applied: the second would be skipped by drizzle-kit (its when is not newer)
    assert states(files, rows[:2])[2] == ("0002_c", MigrationState.OUT_OF_ORDER)
    # an edited file still matches the one unused row with its when
    assert states(files, [rows[0], AppliedRow(2, "h1", 200), AppliedRow(3, "edited", 200)])[2] == (
        "0002_c",
        MigrationState.MODIFIED,
    )


def test_when_going_backwards_in_the_journal() -> None:
    # a branch merged with an older timestamp: on an empty database all apply in journal order
    files = [F("0000_a", 100, "h0"), F("0001_b", 300, "h1"), F("0002_c", 200, "h2"), F("0003_d", 400, "h3")]
    assert plan_migrate(compute_status(files, [])).to_apply == ["0000_a", "0001_b", "0002_c", "0003_d"]
    applied = [AppliedRow(i + 1, f.hash, f.when) for i, f in enumerate(files)]
    assert {e.state for e in compute_status(files, applied)} == {MigrationState.APPLIED}
    # on a database upgraded before the merge, drizzle-kit would skip 0002_c: it is out of order
    assert states(files, applied[:2])[2:] == [
        ("0002_c", MigrationState.OUT_OF_ORDER),
        ("0003_d", MigrationState.PENDING),
    ]
    with pytest.raises(UserError, match="0002_c not applied .* comes after every applied migration in the journal"):
        plan_migrate(compute_status(files, applied[:2]))
    assert plan_migrate(compute_status(files, applied[:2]), PlanOptions(allow_out_of_order=True)).to_apply == [
        "0002_c",
        "0003_d",
    ]
    # entries before an applied one are out of journal order too: no such note
    with pytest.raises(UserError, match=r"0001_b, 0002_c not applied .*\(drizzle would skip it silently\); check it"):
        plan_migrate(compute_status(files, [applied[0], applied[3]]))


def test_row_without_file_is_missing_file_and_listed_last() -> None:
    rows = [AppliedRow(1, "h0", 100), AppliedRow(2, "zz", 999)]
    result = compute_status(FILES, rows)
    assert result[-1].state is MigrationState.MISSING_FILE and result[-1].row == AppliedRow(2, "zz", 999)
    # the orphan row is newer than 0001/0002, so those count as out of order, as drizzle would skip them
    assert [e.state for e in result[:3]] == [
        MigrationState.APPLIED,
        MigrationState.OUT_OF_ORDER,
        MigrationState.OUT_OF_ORDER,
    ]


def test_plan_applies_pending_in_journal_order_and_stops_at_to() -> None:
    entries = compute_status(FILES, [AppliedRow(1, "h0", 100)])
    assert plan_migrate(entries).to_apply == ["0001_b", "0002_c"]
    assert plan_migrate(entries, PlanOptions(to="0001_b")).to_apply == ["0001_b"]
    assert plan_migrate(entries, PlanOptions(to="0000_a")).to_apply == []


def test_plan_refuses_unknown_to_tag() -> None:
    with pytest.raises(UserError, match="--to 9999"):
        plan_migrate(compute_status(FILES, []), PlanOptions(to="9999"))


def test_plan_refuses_modified_unless_allowed() -> None:
    entries = compute_status(FILES, [AppliedRow(1, "changed", 100)])
    with pytest.raises(UserError, match="0000_a changed after being applied"):
        plan_migrate(entries)
    assert plan_migrate(entries, PlanOptions(allow_modified=True)).to_apply == ["0001_b", "0002_c"]


def test_plan_refuses_out_of_order_unless_allowed() -> None:
    entries = compute_status(FILES, [AppliedRow(1, "h0", 100), AppliedRow(2, "h2", 300)])
    with pytest.raises(UserError, match="0001_b .*--allow-out-of-order"):
        plan_migrate(entries)
    assert plan_migrate(entries, PlanOptions(allow_out_of_order=True)).to_apply == ["0001_b"]


def test_plan_warns_about_rows_without_files() -> None:
    files = FILES[:1]
    entries = compute_status(files, [AppliedRow(1, "h0", 100), AppliedRow(2, "x", 50)])
    plan = plan_migrate(entries)
    assert plan.to_apply == [] and "no file" in plan.warnings[0]


# -- drizzle-kit 1.0 (folder layout): pending by name ----------------------------------------------------

V1 = [
    F("20260101000000_a", 1767225600000, "h0"),
    F("20260101000001_b", 1767225601000, "h1"),
    F("20260101000002_c", 1767225602000, "h2"),
]


def named(id_: int, f: F, name: str | None = None) -> AppliedRow:
    return AppliedRow(id_, f.hash, f.when, f.tag if name is None else name)


def test_v1_applies_an_older_unapplied_folder_by_default_and_names_it() -> None:
    # drizzle-orm's getMigrationsToRun (1.0.0-beta.16 to rc.5) takes every folder whose name no row has
    entries = compute_status(V1, [named(1, V1[0]), named(2, V1[2])], by_name=True)
    assert [e.state for e in entries] == [MigrationState.APPLIED, MigrationState.OUT_OF_ORDER, MigrationState.APPLIED]
    plan = plan_migrate(entries)
    assert plan.to_apply == ["20260101000001_b"]
    assert plan.warnings == [
        "applying 20260101000001_b, older than the newest applied migration 20260101000002_c, as drizzle-kit 1.0 "
        "does (it decides by name): it runs after the newer ones here; --strict refuses this"
    ]
    assert plan_migrate(entries, PlanOptions(to="20260101000000_a")).to_apply == []  # --to stops before it: no warning


def test_v1_strict_refuses_the_older_folder_unless_allowed() -> None:
    entries = compute_status(V1, [named(1, V1[0]), named(2, V1[2])], by_name=True)
    with pytest.raises(OperationFailed, match=r"20260101000001_b not applied but older than .* 20260101000002_c"):
        plan_migrate(entries, PlanOptions(strict=True))
    assert plan_migrate(entries, PlanOptions(strict=True, allow_out_of_order=True)).to_apply == ["20260101000001_b"]


def test_v1_rows_without_a_name_match_by_the_second_then_by_hash() -> None:
    # 1.0.0-beta.15's table has no name column: drizzle-orm later matches its rows by created_at, then hash
    rows = [AppliedRow(1, "h0", V1[0].when + 123), AppliedRow(2, "h2", 5)]
    assert states_by_name(rows) == [MigrationState.APPLIED, MigrationState.OUT_OF_ORDER, MigrationState.APPLIED]


def states_by_name(rows: list[AppliedRow]) -> list[MigrationState]:
    return [e.state for e in compute_status(V1, rows, by_name=True)]
