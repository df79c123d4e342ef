"""`inv lint --fix`: which files may change (asked of a real git repository), the diff, --check, --json, exit codes.

The workspace is a copy of tests/fixtures/safe-by-default/drizzle-0.31 (written by drizzle-kit 0.31) in a git
repository: `main` holds its first migrations, the branch adds the rest.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from invoke.exceptions import Exit

from drizzle_ops.cli import lint as cli_lint
from drizzle_ops.cli.tasks import given_for
from drizzle_ops.context.config import Settings
from drizzle_ops.lint import lint_migrations
from tests.helpers import ROOT, run_inv

PROGRAM = Path(sys.executable).with_name("drizzle-ops")  # the console script `pip install` writes
FIXTURE = ROOT / "tests" / "fixtures" / "safe-by-default" / "drizzle-0.31"
ADDED = ("0004_authors_email_unique.sql", "0005_posts_slugs_and_tags.sql")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def repository(tmp_path: Path) -> Path:
    """`main` with migrations 0000-0003, HEAD on `feature`, which adds 0004 and 0005 (committed)."""
    repo = tmp_path / "repo"
    ws = repo / "db"
    shutil.copytree(FIXTURE, ws)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "rm", "-q", "--cached", *(f"db/drizzle/{name}" for name in ADDED))
    git(repo, "commit", "-q", "-m", "the history")
    git(repo, "switch", "-q", "-c", "feature")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "email unique, slugs and tags")
    return ws


def run(capsys: pytest.CaptureFixture[str], ws: Path, **flags: object) -> tuple[int, str, str]:
    settings = Settings.from_mapping({"workspace": str(ws)}, ws.parent)
    code = 0
    try:
        cli_lint.run_lint(given_for("lint", settings, fix=True, **flags))
    except Exit as exc:
        code = exc.code
        if exc.message:
            print(exc.message, file=sys.stderr)
    out, err = capsys.readouterr()
    return code, out, err


def texts(ws: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((ws / "drizzle").glob("*.sql"))}


def findings(ws: Path) -> list[str]:
    files = sorted((ws / "drizzle").glob("*.sql"))
    return [f.rule for f in lint_migrations([(str(p), p.read_text()) for p in files])]


def test_since_fixes_only_what_the_branch_adds(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ws = repository(tmp_path)
    before = texts(ws)
    code, out, err = run(capsys, ws, since="main")
    assert code == 0, err
    after = texts(ws)
    assert [name for name in after if after[name] != before[name]] == list(ADDED)
    assert "lint --fix: fixed 6 statement(s) in 2 file(s); 2 migration(s) added since main" in out
    assert f"--- a/db/drizzle/{ADDED[0]}\n+++ b/db/drizzle/{ADDED[0]}\n" in out  # paths from the project's folder
    assert "+CREATE UNIQUE INDEX CONCURRENTLY authors_email_unique ON authors (email);" in out
    assert git(ws.parent, "diff", "--stat", "main", "--", "db/drizzle/0003_posts_title_not_null.sql") == ""
    # what is left on the branch's files: nothing
    assert set(findings(ws)) == {
        "adding-not-nullable-field",
        "require-concurrent-index-creation",
        "adding-foreign-key-constraint",
        "constraint-missing-not-valid",
    }  # 0001-0003 are main's, applied somewhere: they keep their findings
    code, out, _ = run(capsys, ws, since="main")  # a second run has nothing left to do
    assert code == 0 and "lint --fix: nothing to fix" in out and texts(ws) == after


def test_check_writes_nothing_and_exits_1_when_a_fix_would_change_a_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ws = repository(tmp_path)
    before = texts(ws)
    code, out, err = run(capsys, ws, since="main", check=True)
    assert code == 1
    assert "lint --fix --check failed: a fix would change 2 file(s)" in err
    assert "nothing written (--check)" in out and "+DROP INDEX CONCURRENTLY IF EXISTS posts_published_at_idx;" in out
    assert texts(ws) == before


def program(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The `drizzle-ops` console script, run from a project's folder as a user runs it."""
    return subprocess.run(
        [str(PROGRAM), *args], cwd=cwd, capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"}
    )


def test_check_output_is_a_patch_git_applies(tmp_path: Path) -> None:
    ws = repository(tmp_path)
    inside = ws.parent
    done = program(inside, "lint", "--workspace", "db", "--fix", "--check", "--since", "main")
    assert done.returncode == 1, done.stderr
    patch = done.stdout.rsplit("\nlint --fix: ", 1)[0] + "\n"  # the diff, without the summary line
    (tmp_path / "fix.patch").write_text(patch)
    git(inside, "apply", str(tmp_path / "fix.patch"))
    again = program(inside, "lint", "--workspace", "db", "--fix", "--check", "--since", "main")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "lint --fix: nothing to fix" in again.stdout


def test_a_file_the_merge_base_has_is_refused_even_when_the_branch_changed_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ws = repository(tmp_path)
    old = ws / "drizzle" / "0003_posts_title_not_null.sql"
    old.write_bytes(old.read_bytes() + b"\n")
    code, out, _ = run(capsys, ws, since="main", json=True)
    document = json.loads(out)
    assert code == 0
    assert [Path(r["file"]).name for r in document["refused"]] == ["0003_posts_title_not_null.sql"]
    assert "the merge base" in document["refused"][0]["reason"]
    assert old.read_bytes().endswith(b"SET NOT NULL;\n")  # as the branch left it, not fixed
    assert sorted(Path(f["file"]).name for f in document["files"]) == sorted(ADDED)
    assert document["written"] and document["check"] is False and document["ok"] is True


def test_json_gives_each_change_and_what_is_left(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ws = repository(tmp_path)
    extra = ws / "drizzle" / "0004_authors_email_unique.sql"
    extra.write_text(extra.read_text() + ';--> statement-breakpoint\nALTER TABLE "posts" ALTER COLUMN "a" TYPE bigint;')
    code, out, _ = run(capsys, ws, since="main", json=True, check=True)
    document = json.loads(out)
    assert code == 1 and document["ok"] is False and document["written"] == []
    unique = next(f for f in document["files"] if f["file"].endswith("0004_authors_email_unique.sql"))
    assert unique["changed"] and unique["diff"].startswith("--- ")
    assert [c["rules"] for c in unique["changes"]] == [["disallowed-unique-constraint"]]
    assert (
        unique["changes"][0]["before"] == 'ALTER TABLE "authors" ADD CONSTRAINT "authors_email_unique" UNIQUE("email")'
    )
    assert [(u["rule"], u["line"]) for u in unique["unfixed"]] == [("changing-column-type", 2)]
    assert "new column" in unique["unfixed"][0]["reason"]


def test_file_fixes_an_uncommitted_file_and_refuses_a_committed_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ws = repository(tmp_path)
    committed = ws / "drizzle" / "0004_authors_email_unique.sql"
    code, _, err = run(capsys, ws, file=[str(committed)])
    assert code == 2 and "committed in git" in err and "--since REF" in err
    git(ws.parent, "reset", "-q", "--soft", "main")  # the branch's migrations are staged, not committed
    git(ws.parent, "reset", "-q")
    code, out, err = run(capsys, ws, file=[str(committed)])
    assert code == 0, err
    assert "fixed 1 statement(s) in 1 file(s); 1 file(s) git has not committed" in out
    assert b"USING INDEX authors_email_unique" in committed.read_bytes()


def test_file_outside_a_git_repository_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    loose = tmp_path / "0001.sql"
    loose.write_text('CREATE INDEX "i" ON "t" ("a");')
    code, _, err = run(capsys, FIXTURE, file=[str(loose)])
    assert code == 2 and "not in a git repository" in err and "--pending --url URL" in err
    assert loose.read_text() == 'CREATE INDEX "i" ON "t" ("a");'


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({}, "say which may change with --pending --url URL"),
        ({"format": "markdown", "since": "main"}, "--format markdown is for findings"),
        ({"rules": True}, "--rules lists the rules; --fix rewrites migrations"),
        ({"url": "postgresql://x@localhost/db", "since": "main"}, "--url and --env only matter with --pending"),
    ],
)
def test_bad_input_is_exit_2_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flags: dict[str, object], message: str
) -> None:
    ws = repository(tmp_path)
    code, _, err = run(capsys, ws, **flags)
    assert code == 2 and message in err and "Traceback" not in err


def test_check_without_fix_is_bad_input() -> None:
    done = run_inv("lint", "--check")
    assert done.returncode == 2 and "--check goes with --fix" in done.stderr


def test_help_names_both_flags() -> None:
    done = run_inv("lint", "--help")
    assert "--fix" in done.stdout and "--check" in done.stdout and "git has not committed" in done.stdout


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--check", "--fix"], "--check asks whether the schema needs a migration and writes nothing; --fix"),
        (["--custom", "--fix"], "--fix has nothing to rewrite there"),
    ],
)
def test_generate_fix_with_check_or_custom_is_bad_input(tmp_path: Path, flags: list[str], message: str) -> None:
    done = run_inv("generate", "--workspace", str(tmp_path), *flags)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
