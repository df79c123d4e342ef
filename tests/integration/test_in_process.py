"""In process and in a real process, a command gives the same bytes: the in-process runner may stand in for `inv`.

Most tests run `inv` and `drizzle-ops` in the test process (tests/inprocess.py). Each case here runs once as
a real process and once in process, each time from the same start (the same database, made again from the
same template under the same name; the same workspace copy at the same path), and both must give the same
exit code, stdout and stderr, byte for byte once timings are masked. The cases cover every task, a table and
JSON, a failing run, bad input, a drizzle-kit child writing to the inherited stderr, both programs, and what
a process sets up once (the width rich reads, the warnings a run collects, invoke's help texts) run after run.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from drizzle_ops.disposable.base import Server
from tests.helpers import (
    EXAMPLE,
    NO_DRIZZLE_KIT,
    add_migration,
    require,
    rows,
    run_drizzle_ops,
    run_drizzle_ops_process,
    run_inv,
    run_inv_process,
    url_for,
)

Run = Callable[..., subprocess.CompletedProcess[str]]
RUNNERS: dict[str, tuple[Run, Run]] = {
    "inv": (run_inv_process, run_inv),
    "drizzle-ops": (run_drizzle_ops_process, run_drizzle_ops),
}

# timings: "12 ms", "0.3s", "(1.2 s)", and JSON's seconds
TIMINGS = [
    (re.compile(r"\b\d+(\.\d+)? ?(ms|s)\b"), "<time>"),
    (re.compile(r'"(seconds|ms|elapsed|duration|duration_ms|waited)": [0-9.e-]+'), r'"\1": <time>'),
]
# a table with a timing column is as wide as its longest timing: its padding and rules, when it holds one
PADDING = [(re.compile(r" +"), " "), (re.compile(r"([━─═]) *\1+"), r"\1")]


def masked(text: str) -> str:
    for pattern, replacement in TIMINGS:
        text = pattern.sub(replacement, text)
    return text


def same_text(process: str, in_process: str) -> bool:
    """Equal once timings are masked; a text with timings may differ in padding around them too."""
    if masked(process) == masked(in_process):
        return True
    if masked(process) == process:
        return False
    loose = [masked(text) for text in (process, in_process)]
    for pattern, replacement in PADDING:
        loose = [pattern.sub(replacement, text) for text in loose]
    return loose[0] == loose[1]


@dataclass
class Scene:
    """One database name and one workspace path, made again from the same start before each run."""

    admin: psycopg.Connection
    server: Server
    folder: Path
    name: str = "twin_runs"
    template: str | None = None
    edits: list[Callable[[Path], object]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return url_for(self.server.url, self.name)

    @property
    def workspace(self) -> Path:
        return self.folder / "database-schema"

    def reset(self) -> None:
        self.admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(self.name)))
        create = sql.SQL("create database {}").format(sql.Identifier(self.name))
        if self.template:
            create = sql.SQL("{} template {}").format(create, sql.Identifier(self.template))
        self.admin.execute(create)
        shutil.rmtree(self.workspace, ignore_errors=True)
        shutil.copytree(EXAMPLE, self.workspace, ignore=shutil.ignore_patterns("node_modules"))
        (self.workspace / "node_modules").symlink_to(EXAMPLE / "node_modules", target_is_directory=True)
        for edit in self.edits:
            edit(self.workspace)


@pytest.fixture
def scene(admin: psycopg.Connection, pg_server: Server, tmp_path: Path) -> Iterator[Scene]:
    made = Scene(admin, pg_server, tmp_path)
    yield made
    admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(made.name)))


def twin_runs(
    scene: Scene, program: str, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """The command as a real process, then in process, each from the scene made again; both results."""
    results = []
    for runner in RUNNERS[program]:
        scene.reset()
        results.append(runner(*args, env=env))
    return results[0], results[1]


def assert_same(process: subprocess.CompletedProcess[str], in_process: subprocess.CompletedProcess[str]) -> None:
    assert in_process.returncode == process.returncode, (process.stderr, in_process.stderr)
    assert same_text(process.stdout, in_process.stdout), (process.stdout, in_process.stdout)
    assert same_text(process.stderr, in_process.stderr), (process.stderr, in_process.stderr)


def bad_sql(workspace: Path) -> None:
    add_migration(workspace, "broken", 'CREATE TABLE "fine" ("id" integer);\n--> statement-breakpoint\nSELECT 1/0;\n')


def same_when(workspace: Path) -> None:
    """A migration whose journal `when` equals the one before it: a history warning on every read."""
    add_migration(workspace, "same_when", 'CREATE TABLE "twin" ("id" integer);', when=1_700_000_000_000)
    add_migration(workspace, "same_when_too", 'CREATE TABLE "twin_too" ("id" integer);', when=1_700_000_000_000)


# (program, template: "empty" or "migrated", edits, arguments; {url} and {ws} are the scene's)
AT = ["--url", "{url}", "--workspace", "{ws}"]
CASES: dict[str, tuple[str, str, list[Callable[[Path], object]], list[str]]] = {
    "list": ("inv", "empty", [], ["--list"]),
    "version": ("drizzle-ops", "empty", [], ["--version"]),
    "task help": ("inv", "empty", [], ["migrate", "--help"]),
    "task help again, drizzle-ops": ("drizzle-ops", "empty", [], ["rollback", "--help"]),
    "migrate": ("inv", "empty", [], ["migrate", *AT]),
    "migrate json": ("inv", "empty", [], ["migrate", *AT, "--json"]),
    "migrate dry run": ("drizzle-ops", "empty", [], ["migrate", *AT, "--dry-run"]),
    "migrate fails": ("inv", "migrated", [bad_sql], ["migrate", *AT]),
    "migrate fails json": ("inv", "migrated", [bad_sql], ["migrate", *AT, "--json"]),
    "status": ("inv", "migrated", [same_when], ["status", *AT]),
    "status json check": ("inv", "migrated", [same_when], ["status", *AT, "--json", "--check"]),
    "drift": ("inv", "migrated", [bad_sql], ["drift", *AT]),
    "verify": ("inv", "migrated", [], ["verify", *AT]),
    "verify json": ("drizzle-ops", "migrated", [], ["verify", *AT, "--json"]),
    "rollback": ("inv", "migrated", [], ["rollback", *AT, "--steps", "1"]),
    "plan": ("inv", "empty", [], ["plan", *AT]),
    "plan markdown": ("inv", "empty", [], ["plan", *AT, "--format", "markdown"]),
    "lint": ("inv", "empty", [], ["lint", "--workspace", "{ws}"]),
    "lint json": ("drizzle-ops", "empty", [], ["lint", "--workspace", "{ws}", "--format", "json"]),
    "repair refused": ("inv", "migrated", [], ["repair", *AT, "--tag", "0099_none"]),
    "bad value": ("inv", "empty", [], ["migrate", "--url", "{url}", "--lock-wait", "abc"]),
    "bad value json": ("inv", "empty", [], ["plan", "--url", "{url}", "--large-rows", "-5", "--json"]),
    "unknown flag, inv": ("inv", "empty", [], ["migrate", "--bogus"]),
    "unknown flag, drizzle-ops": ("drizzle-ops", "empty", [], ["migrate", "--bogus"]),
    "unknown task": ("drizzle-ops", "empty", [], ["migrat"]),
    "missing workspace": ("inv", "empty", [], ["status", "--url", "{url}", "--workspace", "{ws}/nothing-here"]),
    "nothing listens": ("inv", "empty", [], ["status", "--url", "postgresql://nobody@127.0.0.1:1/none", "--json"]),
}


@pytest.mark.process
@pytest.mark.parametrize("case", list(CASES))
def test_in_process_gives_the_bytes_of_a_real_process(case: str, scene: Scene, migrated_template: str) -> None:
    program, start, edits, args = CASES[case]
    scene.template = migrated_template if start == "migrated" else None
    scene.edits = edits
    filled = [a.format(url=scene.url, ws=scene.workspace) for a in args]
    assert_same(*twin_runs(scene, program, *filled))


@pytest.mark.process
@pytest.mark.drizzle
def test_a_child_writing_to_the_inherited_stderr_is_captured_in_order(scene: Scene) -> None:
    """generate runs drizzle-kit with our stderr as its own: in process, that is the runner's capture file."""
    require((EXAMPLE / "node_modules" / ".bin" / "drizzle-kit").exists(), NO_DRIZZLE_KIT)
    process, in_process = twin_runs(scene, "inv", "generate", "--workspace", str(scene.workspace))
    assert_same(process, in_process)
    assert "drizzle-kit" in in_process.stderr or in_process.stderr.strip(), in_process


@pytest.mark.process
def test_run_after_run_each_starts_as_a_fresh_process(scene: Scene, migrated_template: str) -> None:
    """The width rich reads, the warnings a run collected and invoke's help texts do not carry over."""
    scene.template, scene.edits = migrated_template, [same_when]
    scene.reset()
    args = ["status", "--url", scene.url, "--workspace", str(scene.workspace)]
    narrow = run_inv_process(*args, env={"COLUMNS": "80"})
    wide = run_inv_process(*args, "--json")
    for _ in range(2):  # twice: what one run leaves must not show in the next
        assert_same(wide, run_inv(*args, "--json"))
        assert_same(narrow, run_inv(*args, env={"COLUMNS": "80"}))
        assert_same(run_inv_process("status", "--help"), run_inv("status", "--help"))
    assert '"warnings": [\n    "' in wide.stdout  # the case holds a history warning, once


def test_environment_folder_and_streams_are_put_back(tmp_path: Path) -> None:
    before = (dict(os.environ), os.getcwd(), sys.stdout, sys.stderr, sys.stdin, list(sys.path), sys.argv)
    done = run_inv("--list", env={"SOME_VARIABLE": "set for the run"}, cwd=tmp_path / ".." / "..")
    assert done.returncode in (0, 1)
    assert (dict(os.environ), os.getcwd(), sys.stdout, sys.stderr, sys.stdin, list(sys.path), sys.argv) == before


def _blocked_migrate(url: str, then: Callable[[], None]) -> None:
    """Hold migrate's lock on ``url`` while ``then`` runs a migrate that waits for it."""
    from drizzle_ops.engine.lock import lock_key
    from drizzle_ops.engine.workspace import load_workspace

    workspace = load_workspace(EXAMPLE)
    with psycopg.connect(url, autocommit=True) as holder:
        key = lock_key(workspace.migrations_schema, workspace.migrations_table)
        holder.execute("select pg_advisory_lock(%s)", [key])
        then()


def _when_waiting(url: str, act: Callable[[], None]) -> threading.Thread:
    """Call ``act`` from another thread once drizzle-ops has a session on ``url`` (never otherwise)."""

    def watch() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            for _ in range(600):
                waiting = conn.execute(
                    "select count(*) from pg_stat_activity"
                    " where datname = current_database() and application_name = 'drizzle-ops'"
                ).fetchone()
                if waiting and waiting[0]:
                    act()
                    return
                time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def test_a_ctrl_c_during_a_run_reaches_the_program_and_then_the_test(empty_db: str) -> None:
    """The program handles it as a person's Ctrl-C (nothing applied), and the runner raises it again after."""
    main = threading.main_thread().ident
    assert main is not None

    def run() -> None:
        watcher = _when_waiting(empty_db, lambda: signal.pthread_kill(main, signal.SIGINT))
        with pytest.raises(KeyboardInterrupt):
            run_inv("migrate", "--url", empty_db, "--lock-wait", "60")
        watcher.join()

    _blocked_migrate(empty_db, run)
    assert rows(empty_db) == []


def test_a_run_over_its_time_raises_as_subprocess_run_does(empty_db: str) -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        _blocked_migrate(empty_db, lambda: run_inv("migrate", "--url", empty_db, "--lock-wait", "60", timeout=1))
    assert rows(empty_db) == []
