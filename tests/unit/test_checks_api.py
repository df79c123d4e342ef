"""Checks: expectations, loading checks/*.py, choosing with --only, JUnit output."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest

from drizzle_ops.checks_api import Check, applied_tags, check_migrations, load_checks, select, skip_reason
from drizzle_ops.cli import render as report
from drizzle_ops.cli.flag_values import comma_list
from drizzle_ops.engine.states import AppliedRow, Entry, MigrationState
from drizzle_ops.errors import UserError
from drizzle_ops.verify.run_checks import CheckResult
from tests.helpers import ROOT


def check(expect: object) -> Check:
    return Check(id="x", description="x", sql="select 1", expect=expect)


def test_single_value() -> None:
    assert check(3).evaluate([(3,)]) is None
    assert check(3).evaluate([(2,)]) == "got 2, expected 3"
    assert check(True).evaluate([]) == "expected one value, the query returned 0 row(s) []"


def test_rows_in_order() -> None:
    rows = [("a", ["x", "y"]), ("b", [])]
    assert check([("a", ["x", "y"]), ("b", [])]).evaluate(rows) is None
    assert check([("a", ["x", "y"]), ("b", ["z"])]).evaluate(rows) == "row 2: got ('b', []), expected ('b', ['z'])"
    assert check([("a", ["x", "y"])]).evaluate(rows) == "got 2 row(s), expected 1: unexpected ('b', [])"
    assert check(["a", "b", "c"]).evaluate([("a",), ("b",)]) == "got 2 row(s), expected 3: missing ('c',)"


def test_a_function_decides() -> None:
    at_least_two = check(lambda rows: None if len(rows) >= 2 else f"only {len(rows)} row(s)")
    assert at_least_two.evaluate([(1,), (2,)]) is None
    assert at_least_two.evaluate([(1,)]) == "only 1 row(s)"


def write(folder: Path, name: str, body: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("from drizzle_ops.checks_api import Check\n" + body)


def test_loader_reads_every_module_in_file_order(tmp_path: Path) -> None:
    write(tmp_path, "b.py", "CHECKS = [Check(id='b.one', description='d', sql='select 1', expect=1)]\n")
    write(tmp_path, "a.py", "CHECKS = [Check(id='a.one', description='d', sql='select 1', expect=1, optional=True)]\n")
    write(tmp_path, "_helpers.py", "raise RuntimeError('not a check module')\n")
    checks = load_checks(tmp_path, base=tmp_path)
    assert [(c.id, c.source) for c in checks] == [("a.one", "a.py"), ("b.one", "b.py")]
    assert load_checks(tmp_path / "absent") == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("CHECKS = [", "bad.py: loading it failed (SyntaxError"),
        ("import no_such_module\nCHECKS = []", "bad.py: loading it failed (ModuleNotFoundError"),
        ("CHECKS = 'x'", "bad.py: define CHECKS as a list"),
        (
            "CHECKS = [Check(id='Bad Id', description='d', sql='select 1', expect=1)]",
            "check id 'Bad Id' is not allowed",
        ),
        ("CHECKS = [Check(id='snapshot-conformance', description='d', sql='s', expect=1)]", "is built in"),
        ("CHECKS = [Check(id='a', description='', sql='select 1', expect=1)]", "needs a description and its SQL"),
    ],
)
def test_loader_errors_name_the_file(tmp_path: Path, body: str, message: str) -> None:
    write(tmp_path, "bad.py", body)
    with pytest.raises(UserError) as caught:
        load_checks(tmp_path, base=tmp_path)
    assert message in caught.value.message and "\n" not in caught.value.message


def test_duplicate_ids_name_both_modules(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "CHECKS = [Check(id='same', description='d', sql='select 1', expect=1)]\n")
    write(tmp_path, "b.py", "CHECKS = [Check(id='same', description='d', sql='select 1', expect=1)]\n")
    with pytest.raises(UserError, match=r"check id same is defined twice \(a.py and b.py\)"):
        load_checks(tmp_path, base=tmp_path)


def test_select_with_only() -> None:
    checks = [
        Check("a", "d", "select 1", 1),
        Check("seed", "d", "select 1", 1, optional=True),
    ]
    assert select(checks, (), ["snapshot-conformance"]) == ([checks[0]], ["snapshot-conformance"])
    assert select(checks, ("seed",), ["snapshot-conformance"]) == ([checks[1]], [])
    with pytest.raises(UserError, match=r"no check named nope \(known: a, seed, snapshot-conformance\)"):
        select(checks, ("nope",), ["snapshot-conformance"])
    assert comma_list(["a,b", " c ", "a"]) == ("a", "b", "c") and comma_list(None) == ()


def test_the_project_checks_load() -> None:
    checks = load_checks(ROOT / "checks", base=ROOT)
    ids = [c.id for c in checks]
    assert {"wishlist.table", "wishlist.columns", "wishlist.enums", "wishlist.indexes"} <= set(ids)
    assert {"wishlist.foreign_keys", "wishlist.check_constraints", "wishlist.migration_recorded"} <= set(ids)
    assert [c.id for c in checks if c.optional] == ["wishlist.seed_rows"]
    assert {c.migration for c in checks} == {"0007_wishlist_items"}  # every one reads what 0007 creates


def test_junit_has_a_testcase_per_check() -> None:
    results = [
        CheckResult("a", "d", "pass", "", 0.01),
        CheckResult("b", "d", "fail", "2 difference(s):\nindex i: missing", 0.02, ["index i: missing"]),
        CheckResult("c", "d", "error", "[42P01] relation does not exist", 0.0),
    ]
    root = ElementTree.fromstring(report.junit_xml(results, "drizzle-ops verify"))
    assert root.attrib["tests"] == "3" and root.attrib["failures"] == "1" and root.attrib["errors"] == "1"
    cases = {c.attrib["name"]: c for c in root.iter("testcase")}
    assert list(cases["a"]) == []
    failure = cases["b"].find("failure")
    assert failure is not None and failure.attrib["message"] == "2 difference(s):"
    assert "index i: missing" in (failure.text or "")
    assert cases["c"].find("error") is not None


def tied(migration: str | None) -> Check:
    return Check(id="t", description="d", sql="select 1", expect=1, migration=migration, source="checks/t.py")


def entry(tag: str | None, state: MigrationState) -> Entry:
    row = (
        None
        if state in (MigrationState.PENDING, MigrationState.OUT_OF_ORDER)
        else AppliedRow(id=1, hash="h", created_at=1)
    )
    return Entry(tag=tag, state=state, when=1, file_hash="h", row=row)


def test_a_tied_check_runs_only_when_its_migration_is_applied() -> None:
    applied = {"0006_moc_parts_lists"}
    assert skip_reason(tied(None), applied) is None  # untied: always runs
    assert skip_reason(tied("0006_moc_parts_lists"), applied) is None
    assert skip_reason(tied("0007_wishlist_items"), applied) == "0007_wishlist_items not applied"
    assert skip_reason(tied("0007_wishlist_items"), set()) == "0007_wishlist_items not applied"


def test_applied_means_recorded_edited_or_not() -> None:
    entries = [
        entry("0000_a", MigrationState.APPLIED),
        entry("0001_b", MigrationState.MODIFIED),  # still in the database, only its file changed
        entry("0002_c", MigrationState.OUT_OF_ORDER),  # never applied
        entry("0003_d", MigrationState.PENDING),
        entry(None, MigrationState.MISSING_FILE),  # a row with no file
    ]
    assert applied_tags(entries) == {"0000_a", "0001_b"}


def test_a_check_naming_an_unknown_migration_is_an_error_in_the_check() -> None:
    tags = ["0000_a", "0001_b", "0002_c", "0003_d"]
    check_migrations([tied(None), tied("0002_c")], tags)  # fine
    with pytest.raises(UserError) as caught:
        check_migrations([tied("0002_c"), tied("0009_nope")], tags)
    message = caught.value.message
    assert message.startswith("checks/t.py: check t names migration 0009_nope, which this workspace does not have")
    assert "(latest: 0001_b, 0002_c, 0003_d)" in message and "\n" not in message
    with pytest.raises(UserError, match=r"\(latest: none\)"):
        check_migrations([tied("0000_a")], [])


def test_loader_refuses_a_migration_that_is_not_a_tag(tmp_path: Path) -> None:
    write(tmp_path, "bad.py", "CHECKS = [Check(id='a', description='d', sql='select 1', expect=1, migration=7)]\n")
    with pytest.raises(UserError, match=r"bad.py: check a: migration=7 must be a migration tag"):
        load_checks(tmp_path, base=tmp_path)
    write(
        tmp_path, "bad.py", "CHECKS = [Check(id='a', description='d', sql='select 1', expect=1, migration='0001_b')]\n"
    )
    assert [c.migration for c in load_checks(tmp_path, base=tmp_path)] == ["0001_b"]


def test_a_skip_is_ok_and_shows_as_skipped_everywhere() -> None:
    results = [
        CheckResult("a", "d", "pass", "", 0.01),
        CheckResult("w", "d", "skip", "0007_wishlist_items not applied", 0.0),
    ]
    assert all(r.ok for r in results)
    assert report.check_dict(results[1])["result"] == "skip"
    assert report.check_dict(results[1])["detail"] == "skipped (0007_wishlist_items not applied)"
    assert report.check_counts(results) == {"passed": 1, "failed": 0, "errors": 0, "skipped": 1}
    root = ElementTree.fromstring(report.junit_xml(results, "drizzle-ops verify"))
    assert root.attrib["tests"] == "2" and root.attrib["skipped"] == "1" and root.attrib["failures"] == "0"
    skipped = [c.find("skipped") for c in root.iter("testcase")]
    assert skipped[0] is None
    assert skipped[1] is not None and skipped[1].attrib["message"] == "skipped (0007_wishlist_items not applied)"
