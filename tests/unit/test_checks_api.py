"""Checks: expectations, loading checks/*.py, choosing with --only, JUnit output."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest

from drizzle_ops import report
from drizzle_ops.checks_api import Check, load_checks, select
from drizzle_ops.cli_verify import split_only
from drizzle_ops.errors import UserError
from drizzle_ops.verify.run import CheckResult
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
    assert split_only(["a,b", " c ", "a"]) == ("a", "b", "c") and split_only(None) == ()


def test_the_project_checks_load() -> None:
    checks = load_checks(ROOT / "checks", base=ROOT)
    ids = [c.id for c in checks]
    assert {"wishlist.table", "wishlist.columns", "wishlist.enums", "wishlist.indexes"} <= set(ids)
    assert {"wishlist.foreign_keys", "wishlist.check_constraints", "wishlist.migration_recorded"} <= set(ids)
    assert [c.id for c in checks if c.optional] == ["wishlist.seed_rows"]


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
