"""`inv lint`: output, exit codes, flags."""

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from invoke.exceptions import Exit

from drizzle_ops.cli import lint as cli_lint
from drizzle_ops.cli.tasks import given_for
from drizzle_ops.context.config import Settings
from tests.helpers import ROOT, run_inv

SETTINGS = Settings.from_mapping({"workspace": "examples/wishlist/packages/backend/database-schema"}, ROOT)
DROP = 'ALTER TABLE "users" DROP COLUMN "avatar_url";\n'
INDEX = 'CREATE INDEX "users_email_idx" ON "users" ("email");\n'


def run(
    capsys: pytest.CaptureFixture[str],
    *paths: str,
    as_json: bool = False,
    fail_on: str = "error",
    exclude: tuple[str, ...] = (),
    list_rules: bool = False,
    pending: bool = False,
) -> tuple[int, str, str]:
    """Call the CLI glue in-process; an Exit's message goes to stderr, as invoke prints it."""
    code = 0
    try:
        cli_lint.run_lint(
            given_for(
                "lint",
                SETTINGS,
                file=list(paths),
                json=as_json,
                fail_on=fail_on,
                exclude=",".join(exclude) or None,
                rules=list_rules,
                pending=pending,
            )
        )
    except Exit as exc:
        code = exc.code
        if exc.message:
            print(exc.message, file=sys.stderr)
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_workspace_warnings_only_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys)
    assert code == 0
    assert "0004_profile_and_moc_details.sql:6" in out and "constraint-missing-not-valid" in out
    assert "Safe alternatives:" in out and "NOT VALID" in out
    assert "0 error(s), 3 warning(s) in 8 file(s)" in out


def test_fail_on_warning_makes_warnings_fail(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, fail_on="warning")
    assert code == 1 and "lint failed: 3 finding(s) at level warning or above" in err


def test_error_finding_exits_1_unless_fail_on_never(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "0008_drop.sql", DROP)
    assert run(capsys, path)[0] == 1
    assert run(capsys, path, fail_on="never")[0] == 0


def test_exclude_skips_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "0008_drop.sql", DROP + INDEX)
    code, out, _ = run(capsys, path, exclude=("ban-drop-column",), as_json=True)
    assert code == 0
    assert [f["rule"] for f in json.loads(out)["findings"]] == ["require-concurrent-index-creation"]


def test_json_is_one_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "drizzle"
    folder.mkdir()
    write(folder, "0001_a.sql", 'CREATE TABLE "t" ("a" int);\n')
    write(folder, "0002_b.sql", "SELECT 1;\n" + DROP)
    code, out, _ = run(capsys, str(folder), as_json=True)
    document = json.loads(out)
    assert code == 1
    assert document["ok"] is False and document["summary"] == {"warning": 0, "error": 1}
    assert [Path(f).name for f in document["files"]] == ["0001_a.sql", "0002_b.sql"]
    (finding,) = document["findings"]
    assert finding["rule"] == "ban-drop-column" and finding["line"] == 2 and finding["help"]


@pytest.mark.parametrize(
    ("paths", "flags", "message"),
    [
        (["missing.sql"], {}, "missing.sql does not exist"),
        # --fail-on, --exclude and --pg-version are read at the edge: tests/integration/test_flag_values.py
        (["x.sql"], {"pending": True}, "give either files or --pending"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], paths: list[str], flags: dict[str, Any], message: str
) -> None:
    code, out, err = run(capsys, *paths, **flags)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_unparsable_file_exits_2_naming_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "bad.sql", "SELECT 1;\nSELEKT 2;\n")
    code, _, err = run(capsys, path)
    assert code == 2 and f"{path}:2: cannot parse the SQL" in err


def test_rules_lists_every_rule_with_its_docs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, list_rules=True, as_json=True)
    rules = json.loads(out)
    assert code == 0 and len(rules) == 19
    enum = next(r for r in rules if r["id"] == "adding-enum-value")
    assert enum["squawk"] is None and enum["problem"] and enum["fix"]
    assert enum["lint_fix"]["fixes"] is True and "ADD VALUE IF NOT EXISTS" in enum["lint_fix"]["what"]
    drop = next(r for r in rules if r["id"] == "ban-drop-column")
    assert drop["lint_fix"]["fixes"] is False and "dropping data is a decision" in drop["lint_fix"]["what"]


def test_real_inv_lint(tmp_path: Path) -> None:
    path = write(tmp_path, "x.sql", INDEX + DROP)
    other = write(tmp_path, "y.sql", INDEX)
    result = run_inv("lint", "--json", "--", path, other)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert [(Path(f["file"]).name, f["line"], f["rule"]) for f in document["findings"]] == [
        ("x.sql", 1, "require-concurrent-index-creation"),
        ("x.sql", 2, "ban-drop-column"),
        ("y.sql", 1, "require-concurrent-index-creation"),
    ]
    assert "Traceback" not in result.stderr


def test_real_inv_lint_of_the_workspace_exits_0() -> None:
    result = run_inv("lint")
    assert result.returncode == 0, result.stderr
    assert "3 warning(s) in 8 file(s)" in result.stdout
