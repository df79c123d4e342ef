"""`lint --format markdown`: the findings as a pull-request comment / GitHub job summary, parsed back as Markdown."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from invoke.exceptions import Exit
from markdown_it import MarkdownIt

from drizzle_ops.cli import lint as cli_lint
from drizzle_ops.cli.lint_markdown import MARKER
from drizzle_ops.cli.tasks import given_for
from drizzle_ops.context.config import Settings
from tests.helpers import ROOT

SETTINGS = Settings.from_mapping({"workspace": "examples/wishlist/packages/backend/database-schema"}, ROOT)


def run(capsys: pytest.CaptureFixture[str], *paths: str, **flags: object) -> tuple[int, str, str]:
    code = 0
    try:
        as_json = bool(flags.pop("as_json", False))
        if "output_format" in flags:
            flags["format"] = flags.pop("output_format")
        if "list_rules" in flags:
            flags["rules"] = flags.pop("list_rules")
        cli_lint.run_lint(given_for("lint", SETTINGS, file=list(paths), json=as_json, **flags))
    except Exit as exc:
        code = exc.code
        if exc.message:
            print(exc.message, file=sys.stderr)
    out, err = capsys.readouterr()
    return code, out, err


def tables(markdown: str) -> list[tuple[list[str], list[list[str]]]]:
    """(header, rows) of each table as a GitHub-flavoured parser sees it."""
    found: list[tuple[list[str], list[list[str]]]] = []
    row: list[str] | None = None
    head = False
    for token in MarkdownIt("commonmark").enable("table").parse(markdown):
        if token.type == "table_open":
            found.append(([], []))
        elif token.type in ("thead_open", "thead_close"):
            head = token.type == "thead_open"
        elif token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            row.append(token.content)
        elif token.type == "tr_close" and row is not None:
            header, rows = found[-1]
            if head:
                header.extend(row)
            else:
                rows.append(row)
            row = None
    return found


def test_workspace_findings_become_one_table_and_pass(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, output_format="markdown")
    assert code == 0
    assert out.splitlines()[0] == MARKER
    assert "## Migration lint: 0 error(s), 3 warning(s) in 8 file(s)" in out
    assert "✅ lint passes (--fail-on error). Judged for PostgreSQL 14 (the oldest supported major)." in out
    ((header, rows),) = tables(out)
    assert header == ["where", "level", "rule", "finding"]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (
            "`examples/wishlist/packages/backend/database-schema/drizzle/0004_profile_and_moc_details.sql:6`",
            "⚠️ warning",
            "`constraint-missing-not-valid`",
        ),
        (
            "`examples/wishlist/packages/backend/database-schema/drizzle/0004_profile_and_moc_details.sql:7`",
            "⚠️ warning",
            "`constraint-missing-not-valid`",
        ),
        (
            "`examples/wishlist/packages/backend/database-schema/drizzle/0006_moc_parts_lists.sql:1`",
            "⚠️ warning",
            "`adding-enum-value`",
        ),
    ]
    # each rule's safe alternative once
    assert out.count("- `constraint-missing-not-valid`: Add the constraint with NOT VALID") == 1


def test_a_failing_finding_says_so_and_exits_1_with_pipes_kept_inside_the_cell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "0008_drop.sql"
    path.write_text('ALTER TABLE "users" DROP COLUMN "a|b";\n', encoding="utf-8")
    code, out, err = run(capsys, str(path), output_format="markdown")
    assert code == 1 and "lint failed: 1 finding(s) at level error or above" in err
    assert "❌ lint fails: 1 finding(s) at level error or above." in out
    ((header, rows),) = tables(out)
    assert len(header) == 4 and len(rows) == 1 and len(rows[0]) == 4
    assert rows[0][1] == "⛔ error" and rows[0][2] == "`ban-drop-column`"
    # escaped in the source (\|), so the parser keeps four cells and the statement whole in the last one
    assert '"a\\|b"' in out
    assert rows[0][3].endswith('<br>`ALTER TABLE "users" DROP COLUMN "a|b"`')


def test_no_findings_is_a_short_report_without_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "0008_ok.sql"
    path.write_text('CREATE TABLE "t" ("id" integer);\n', encoding="utf-8")
    code, out, _ = run(capsys, str(path), output_format="markdown", pg_version=16)  # the edge reads "16" as 16
    assert code == 0
    assert "## Migration lint: 0 error(s), 0 warning(s) in 1 file(s)" in out
    assert "Judged for PostgreSQL 16 (--pg-version)." in out
    assert tables(out) == []


def test_on_github_actions_the_report_is_appended_to_the_step_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    _, out, _ = run(capsys, output_format="markdown")
    _, again, _ = run(capsys, output_format="markdown")
    assert out == again
    assert summary.read_text(encoding="utf-8") == "earlier step\n" + out + "\n" + out + "\n"


def test_the_table_format_never_writes_the_step_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, _ = run(capsys)
    assert code == 0 and "Safe alternatives:" in out
    assert not summary.exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        # an unknown --format is refused at the edge: tests/integration/test_flag_values.py
        ({"output_format": "markdown", "as_json": True}, "error: --json and --format markdown disagree"),
        ({"output_format": "markdown", "list_rules": True}, "error: --rules lists the rules as text or --json"),
    ],
)
def test_bad_format_flags_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], flags: dict[str, object], message: str
) -> None:
    code, _, err = run(capsys, **flags)
    assert code == 2
    assert err.strip().splitlines()[-1].startswith(message)
