"""`lint --since REF`: only what the branch added or changed since it left REF, asked of a real git repository."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from invoke.exceptions import Exit

from drizzle_ops.cli import lint as cli_lint
from drizzle_ops.cli.tasks import given_for
from drizzle_ops.context.config import Settings
from tests.helpers import EXAMPLE, ROOT, add_migration, run_inv

V1_EXAMPLE = ROOT / "examples" / "drizzle-v1"
DROP = 'ALTER TABLE "users" DROP COLUMN "avatar_url";'
INDEX = 'CREATE INDEX "users_email_idx" ON "users" ("email");'


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def repository(tmp_path: Path, example: Path = EXAMPLE) -> Path:
    """A git repository whose main branch holds a copy of the example workspace; HEAD on a branch `feature`."""
    repo = tmp_path / "repo"
    ws = repo / "packages" / "db"
    shutil.copytree(example, ws, ignore=shutil.ignore_patterns("node_modules"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the history")
    git(repo, "switch", "-q", "-c", "feature")
    return ws


def run(
    capsys: pytest.CaptureFixture[str], ws: Path, since: str, *paths: str, pending: bool = False
) -> tuple[int, dict[str, object], str]:
    """Lint in-process with --since and --json; the exit code, the JSON document and stderr."""
    settings = Settings.from_mapping({"workspace": str(ws)}, ws.parent.parent)
    code = 0
    try:
        cli_lint.run_lint(given_for("lint", settings, file=list(paths), json=True, since=since, pending=pending))
    except Exit as exc:
        code = exc.code
        if exc.message:
            print(exc.message, file=sys.stderr)
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else {}, err


def rules_by_file(document: dict[str, object]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in document["findings"]:  # type: ignore[attr-defined]
        found.setdefault(Path(finding["file"]).name, set()).add(finding["rule"])
    return found


def test_a_base_that_holds_every_file_gives_no_findings(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ws = repository(tmp_path)
    code, document, _ = run(capsys, ws, "main")
    assert code == 0 and document["ok"] is True
    assert document["files"] == [] and document["findings"] == []
    assert document["since"] == {"ref": "main", "merge_base": git(ws, "rev-parse", "main")}


def test_a_migration_committed_on_the_branch_is_linted_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ws = repository(tmp_path)
    tag = add_migration(ws, "drop_avatar", DROP)
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "drop avatar")
    code, document, err = run(capsys, ws, "main")
    assert code == 1 and "lint failed" in err
    assert [Path(f).name for f in document["files"]] == [f"{tag}.sql"]  # type: ignore[attr-defined]
    assert rules_by_file(document) == {f"{tag}.sql": {"ban-drop-column"}}


def test_uncommitted_and_untracked_migrations_count(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ws = repository(tmp_path)
    edited = ws / "drizzle" / "0006_moc_parts_lists.sql"
    edited.write_text(edited.read_text() + f"\n--> statement-breakpoint\n{INDEX}\n")  # a change, not committed
    tag = add_migration(ws, "drop_avatar", DROP)  # a new file git does not track yet
    _, document, _ = run(capsys, ws, "main")
    assert sorted(Path(f).name for f in document["files"]) == ["0006_moc_parts_lists.sql", f"{tag}.sql"]  # type: ignore[attr-defined]
    found = rules_by_file(document)
    assert "require-concurrent-index-creation" in found["0006_moc_parts_lists.sql"]
    assert found[f"{tag}.sql"] == {"ban-drop-column"}


def test_what_the_base_branch_changed_after_the_branch_left_is_not_the_branchs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ws = repository(tmp_path)
    git(ws, "switch", "-q", "main")
    moved = ws / "drizzle" / "0003_gallery_images.sql"
    moved.write_text(moved.read_text() + f"\n--> statement-breakpoint\n{DROP}\n")
    git(ws, "commit", "-q", "-am", "main moves on")
    git(ws, "switch", "-q", "feature")
    code, document, _ = run(capsys, ws, "main")
    assert code == 0 and document["files"] == []
    assert document["since"]["merge_base"] == git(ws, "rev-parse", "main~1")  # type: ignore[index]


def test_earlier_migrations_still_inform_the_rules(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ws = repository(tmp_path)
    add_migration(
        ws,
        "bio_check",
        'ALTER TABLE "users" ADD CONSTRAINT "users_bio_nn" CHECK ("bio" IS NOT NULL) NOT VALID;\n'
        "--> statement-breakpoint\n"
        'ALTER TABLE "users" VALIDATE CONSTRAINT "users_bio_nn";',
    )
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "bio check")
    git(ws, "branch", "-q", "-f", "main")  # the check is in the base
    tag = add_migration(ws, "bio_not_null", 'ALTER TABLE "users" ALTER COLUMN "bio" SET NOT NULL;')
    _, document, _ = run(capsys, ws, "main")
    assert [Path(f).name for f in document["files"]] == [f"{tag}.sql"]  # type: ignore[attr-defined]
    assert document["findings"] == []  # the validated CHECK in the base proves the column NOT NULL
    alone = run_inv("lint", "--workspace", str(ws), "--file", str(ws / "drizzle" / f"{tag}.sql"), "--json")
    assert "adding-not-nullable-field" in {f["rule"] for f in json.loads(alone.stdout)["findings"]}


def test_v1_layout_a_new_migration_folder_is_linted(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ws = repository(tmp_path, V1_EXAMPLE)
    folder = ws / "drizzle" / "20991231000000_drop_title"
    folder.mkdir()
    (folder / "migration.sql").write_text('ALTER TABLE "wishlist_items" DROP COLUMN "title";')
    (folder / "snapshot.json").write_text("{}")
    snapshot_only = next(p for p in sorted((ws / "drizzle").iterdir()) if p != folder) / "snapshot.json"
    snapshot_only.write_text(snapshot_only.read_text() + "\n")  # a changed snapshot alone is nothing to lint
    code, document, _ = run(capsys, ws, "main")
    assert code == 1
    assert [Path(f).parent.name for f in document["files"]] == [folder.name]  # type: ignore[attr-defined]
    assert {f["rule"] for f in document["findings"]} == {"ban-drop-column"}  # type: ignore[attr-defined]


def test_text_output_names_the_ref_and_the_merge_base(tmp_path: Path) -> None:
    ws = repository(tmp_path)
    done = run_inv("lint", "--workspace", str(ws), "--since", "main")
    base = git(ws, "rev-parse", "main")[:12]
    assert done.returncode == 0, done.stderr
    assert f"0 error(s), 0 warning(s) in 0 file(s) changed since main (merge base {base})" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "no-such-branch"], "git knows no commit by that name"),
        (["--since", "main", "--pending"], "give one of them"),
        (["--since", "main", "--file", "x.sql"], "give one of them"),
        (["--since=-0"], "a git ref cannot start with '-'"),  # no flag's short form: -x is now --fix's
        (["--since", ""], "--since needs a git ref"),
    ],
)
def test_bad_input_is_exit_2_in_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    ws = repository(tmp_path)
    done = run_inv("lint", "--workspace", str(ws), *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


def test_a_workspace_outside_any_git_repository_is_exit_2(tmp_path: Path) -> None:
    ws = tmp_path / "db"
    shutil.copytree(EXAMPLE, ws, ignore=shutil.ignore_patterns("node_modules"))
    done = run_inv("lint", "--workspace", str(ws), "--since", "main", env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert done.returncode == 2
    assert "is not in a git repository" in done.stderr and "Traceback" not in done.stderr


def test_a_branch_with_no_history_in_common_is_exit_2(tmp_path: Path) -> None:
    ws = repository(tmp_path)
    git(ws, "switch", "-q", "--orphan", "unrelated")  # an empty tree on a new root
    shutil.copytree(EXAMPLE, ws, ignore=shutil.ignore_patterns("node_modules"), dirs_exist_ok=True)
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "another root")
    done = run_inv("lint", "--workspace", str(ws), "--since", "main")
    assert done.returncode == 2 and "share no commit" in done.stderr
