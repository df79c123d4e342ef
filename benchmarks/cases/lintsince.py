"""Lint as a pull-request gate: `inv lint --since REF` on a 300-migration history, against linting all of it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from benchmarks import generate_workspace
from benchmarks.goals import LINT_SINCE_SECONDS
from benchmarks.harness import Bench, log
from benchmarks.paths import ROOT
from benchmarks.report import CaseResult, Goal, MeasureTable, seconds, times
from benchmarks.timing import BenchError, ratio

KEY = "lintsince"
TITLE = "Lint as a pull-request gate: `inv lint --since` on a 300-migration history"
MIGRATIONS = 300
BASE_TABLES = 12  # as the long-history case: the first migration creates the initial schema
NEW_MIGRATION = 'ALTER TABLE "t000" ADD COLUMN "gate_note" text;'  # what a branch adds: no finding


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _add_untracked_migration(ws: Path) -> str:
    """A 301st migration, as a branch adds it before its first commit: a journal entry and an untracked SQL file."""
    journal_path = ws / "drizzle" / "meta" / "_journal.json"
    journal = json.loads(journal_path.read_text())
    last = journal["entries"][-1]
    tag = f"{last['idx'] + 1:04d}_gate_note"
    journal["entries"].append({**last, "idx": last["idx"] + 1, "when": last["when"] + 1000, "tag": tag})
    journal_path.write_text(json.dumps(journal, indent=2))
    (ws / "drizzle" / f"{tag}.sql").write_text(NEW_MIGRATION)
    return tag


def _lint_argv(bench: Bench, ws: Path, *more: str) -> list[str]:
    return [bench.inv, "lint", "--workspace", str(ws), "--fail-on", "never", *more]


def _reported_files(bench: Bench, ws: Path, *more: str) -> list[str]:
    """Run once, untimed, and read which files the lint reported on (the check that the timed runs are right)."""
    done = subprocess.run(
        [*_lint_argv(bench, ws, *more), "--json"], cwd=ROOT, env=bench.inv_env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise BenchError(bench.redact(f"inv lint {' '.join(more)} exited {done.returncode}: {done.stderr[-600:]}"))
    return [Path(f).name for f in json.loads(done.stdout)["files"]]


def run(bench: Bench) -> CaseResult:
    case = CaseResult(
        KEY,
        TITLE,
        f"A git repository holding two copies of one workspace of {MIGRATIONS} migrations, written by "
        f"`benchmarks/generate_workspace.py --snapshots full --base-tables {BASE_TABLES}` and committed once. "
        "`clean/` is a branch that changed nothing: its base holds every file, so `--since HEAD` must report 0 "
        "findings in 0 files. `branch/` adds a 301st migration, not committed yet (a journal entry and an "
        "untracked SQL file), so `--since HEAD` lints that one file, with the 300 before it parsed as context, "
        "as `--pending` does. The whole-history lint is what a pull-request gate ran before `--since`, and "
        "the interpreter with the task's imports is the floor every `inv` run pays. Each run is checked once, "
        "untimed, with `--json` for the files it reports; no database is involved. All in turns.",
    )
    repo = bench.tmp / "lintsince"
    if repo.exists():
        shutil.rmtree(repo)
    log(f" lintsince: writing {MIGRATIONS} migrations with full snapshots, twice, and committing them")
    clean = generate_workspace.generate(MIGRATIONS, repo / "clean", snapshots="full", base_tables=BASE_TABLES)
    branch = repo / "branch"
    shutil.copytree(clean, branch)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "the history")
    tag = _add_untracked_migration(branch)
    if (found := _reported_files(bench, clean, "--since", "HEAD")) != []:
        raise BenchError(f"lint --since HEAD on the clean copy reported {found}, expected no file")
    if (found := _reported_files(bench, branch, "--since", "HEAD")) != [f"{tag}.sql"]:
        raise BenchError(f"lint --since HEAD on the branch reported {found}, expected {tag}.sql")

    specs = [
        bench.cmd_spec(
            "nothing changed: `--since HEAD`, base holds every file",
            _lint_argv(bench, clean, "--since", "HEAD"),
            bench.show(["inv", *_lint_argv(bench, clean, "--since", "HEAD")[1:]]),
        ),
        bench.cmd_spec(
            "one new migration: `--since HEAD`",
            _lint_argv(bench, branch, "--since", "HEAD"),
            bench.show(["inv", *_lint_argv(bench, branch, "--since", "HEAD")[1:]]),
        ),
        bench.cmd_spec(
            f"the whole history ({MIGRATIONS} files)",
            _lint_argv(bench, clean),
            bench.show(["inv", *_lint_argv(bench, clean)[1:]]),
        ),
        bench.cmd_spec(
            "floor: interpreter and the task's imports",
            [bench.python, "-c", "import invoke.main, drizzle_ops.cli.tasks, drizzle_ops.cli.lint"],
            "python -c 'import invoke.main, drizzle_ops.cli.tasks, drizzle_ops.cli.lint'",
        ),
    ]
    nothing, one, whole, floor = bench.measure(specs)
    case.tables.append(
        MeasureTable("Whole processes", [nothing, one, whole, floor], [("whole history", whole), ("floor", floor)])
    )
    case.goals.append(
        Goal(
            "lint --since",
            f"`lint --since` at {MIGRATIONS} migrations, base holding every file: 0 findings in ≤ "
            f"{LINT_SINCE_SECONDS:.1f} s",
            f"{seconds(nothing.median)}, 0 findings in 0 files ({times(ratio(nothing, whole))} of the whole-history "
            f"lint, {seconds(nothing.median - floor.median)} above the floor)",
            nothing.median <= LINT_SINCE_SECONDS,
        )
    )
    case.headline.append(
        f"Lint as a pull-request gate at {MIGRATIONS} migrations: `inv lint --since` {seconds(nothing.median)} with "
        f"nothing changed (goal ≤ {LINT_SINCE_SECONDS:.1f} s), {seconds(one.median)} with one new migration, "
        f"against {seconds(whole.median)} for the whole history."
    )
    case.reproduce = [
        "export BENCH_TMP=$(mktemp -d)",
        f"python -m benchmarks.generate_workspace {MIGRATIONS} $BENCH_TMP/lintsince/clean --snapshots full "
        f"--base-tables {BASE_TABLES}",
        "cp -r $BENCH_TMP/lintsince/clean $BENCH_TMP/lintsince/branch",
        "(cd $BENCH_TMP/lintsince && git init -q -b main && git add -A && git commit -q -m 'the history')",
        f"# in branch/: a journal entry for {tag} and its SQL file, not committed",
        *[m.display for m in (nothing, one, whole, floor)],
    ]
    shutil.rmtree(repo, ignore_errors=True)
    return case
