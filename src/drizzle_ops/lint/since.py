"""Which migrations a branch adds or changes, as git sees it: for `lint --since REF`, a pull-request gate.

The base is ``git merge-base REF HEAD``, the commit the branch grew from, so a base
branch that moved on since does not count as this branch's change. Against that
base, a migration counts when its SQL file differs in the working tree (committed,
staged or not) or is new and not yet tracked. Only the migrations folder is asked
about, so the answer stays fast on a long history.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from drizzle_ops.engine.workspace import Migration
from drizzle_ops.errors import OperationFailed, UserError

GIT_TIMEOUT = 60.0  # seconds; a diff limited to one folder answers in milliseconds
_FETCH_HINT = "in CI check out the whole history (actions/checkout with fetch-depth: 0) or `git fetch origin <branch>`"


@dataclass(frozen=True)
class Changes:
    ref: str  # as given
    merge_base: str  # the commit REF and HEAD share
    paths: frozenset[Path]  # files under the folder that differ from the merge base (the repository's path resolved)
    added: frozenset[Path] = frozenset()  # those of them the merge base does not have: no database applied them


def _git(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", "--literal-pathspecs", *args], cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise UserError("--since asks git what changed, and `git` is not on PATH; install git and run again") from None
    except subprocess.TimeoutExpired:
        raise OperationFailed(f"`git {' '.join(args[:2])}` did not answer within {GIT_TIMEOUT:g}s") from None


def _first_line(result: subprocess.CompletedProcess[bytes]) -> str:
    lines = result.stderr.decode(errors="replace").strip().splitlines()
    return lines[0] if lines else f"exit code {result.returncode}"


def _names(output: bytes) -> list[str]:
    return [name for name in output.decode("utf-8", errors="surrogateescape").split("\0") if name]


def _no_merge_base(ref: str, top: Path) -> UserError:
    """Why `git merge-base` found nothing: asked only when it failed, so the common case runs four gits."""
    if _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], top).returncode != 0:
        return UserError(f"--since {ref}: git knows no commit by that name; {_FETCH_HINT}")
    if _git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], top).returncode != 0:
        return UserError(f"--since {ref}: HEAD has no commit yet; commit once, then lint again")
    return UserError(
        f"--since {ref}: it and HEAD share no commit (a shallow clone cuts the history short); {_FETCH_HINT}"
    )


def changed_since(ref: str, folder: Path) -> Changes:
    """The files under ``folder`` that differ from the merge base of ``ref`` and HEAD, or that git does not track."""
    if not ref.strip():
        raise UserError("--since needs a git ref: the pull request's base, e.g. origin/main")
    if ref.startswith("-"):
        raise UserError(f"--since {ref}: a git ref cannot start with '-'; give a branch, tag or commit")
    folder = folder.resolve()
    top_run = _git(["rev-parse", "--show-toplevel"], folder)
    if top_run.returncode != 0:
        raise UserError(
            f"{folder} is not in a git repository ({_first_line(top_run)}), so --since has nothing to compare "
            "with; lint from a clone, or give files or --pending instead"
        )
    top = Path(top_run.stdout.decode().strip()).resolve()
    base_run = _git(["merge-base", ref, "HEAD"], top)
    if base_run.returncode != 0:
        raise _no_merge_base(ref, top)
    base = base_run.stdout.decode().strip()
    where = folder.relative_to(top).as_posix() if folder != top else "."
    diff = _git(["diff", "--name-only", "--no-renames", "-z", base, "--", where], top)
    new = _git(["diff", "--name-only", "--no-renames", "--diff-filter=A", "-z", base, "--", where], top)
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z", "--", where], top)
    for result in (diff, new, untracked):
        if result.returncode != 0:
            raise OperationFailed(f"git could not list the changed files: {_first_line(result)}")
    names = _names(diff.stdout) + _names(untracked.stdout)
    added = _names(new.stdout) + _names(untracked.stdout)
    return Changes(ref, base, frozenset(top / name for name in names), frozenset(top / name for name in added))


def committed(paths: Sequence[Path]) -> set[Path]:
    """Which of these files HEAD holds (so a database may have applied them); none before the first commit.

    For `lint --fix --file`: a file git has not committed yet is one no deploy can have applied.
    """
    found: set[Path] = set()
    by_folder: dict[Path, list[Path]] = {}
    for path in paths:
        by_folder.setdefault(path.resolve().parent, []).append(path.resolve())
    for folder, files in by_folder.items():
        top_run = _git(["rev-parse", "--show-toplevel"], folder)
        if top_run.returncode != 0:
            names = ", ".join(str(f) for f in files)
            raise UserError(
                f"{names} is not in a git repository, so lint --fix cannot tell whether a database applied it; "
                "fix the pending migrations of a database with --pending --url URL instead"
            )
        top = Path(top_run.stdout.decode().strip()).resolve()
        if _git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], top).returncode != 0:
            continue  # no commit yet: nothing is committed
        listed = _git(
            ["ls-tree", "-r", "--name-only", "-z", "HEAD", "--", *(str(f.relative_to(top)) for f in files)], top
        )
        if listed.returncode != 0:
            raise OperationFailed(f"git could not list the committed files: {_first_line(listed)}")
        found |= {top / name for name in _names(listed.stdout)}
    return found


def changed_migrations(migrations: Sequence[Migration], changes: Changes) -> list[Migration]:
    """The migrations whose SQL file is among the changes (0.31: <out>/<tag>.sql; v1: <out>/<folder>/migration.sql)."""
    if not changes.paths:
        return []
    # the workspace's folder is resolved when it is read, as git's top level is: the paths compare as they are
    return [m for m in migrations if m.sql_path in changes.paths]
