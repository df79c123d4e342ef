"""In process and in a real process, a command gives the same bytes: the in-process runner may stand in for `inv`.

Most tests run `inv` and `drizzle-ops` in the test process (tests/inprocess.py). Each case here runs once as
a real process and once in process, each time from the same start (the same database, made again from the
same template under the same name; the same workspace copy at the same path), and both must give the same
exit code, stdout and stderr, byte for byte once timings are masked. The cases cover every task, a table and
JSON, a failing run, bad input, a drizzle-kit child writing to the inherited stderr, both programs, and what
a process sets up once (the width rich reads, the warnings a run collects, invoke's help texts) run after run.
The rest: the test process gets back its environment, folder and streams; a Ctrl-C during a run reaches the
program and then the test; a run over its time raises as ``subprocess.run`` does.
"""

from __future__ import annotations

import json
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
from psycopg.conninfo import conninfo_to_dict
from rich.console import Console

from drizzle_ops.disposable.base import Server
from tests import inprocess
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
    database: bool = True
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
        if self.database:
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


LONG = "backfill_the_display_name_of_every_user_from_the_first_and_last_name_where_it_is_still_empty_or_only_spaces"


def same_when(workspace: Path) -> None:
    """Two migrations whose journal `when` is the same: a history warning on every read; one with a long name,
    so that a table is wider than 160 columns (what rich is given in a pipe) at 200 columns, not at 80."""
    add_migration(workspace, "same_when", 'CREATE TABLE "twin" ("id" integer);', when=1_700_000_000_000)
    add_migration(workspace, LONG, 'CREATE TABLE "twin_too" ("id" integer);', when=1_700_000_000_000)


# (program, start: no database, an empty one or a migrated one, edits of the workspace, the arguments;
# {url} and {ws} are the scene's): every task, tables and JSON, exit 0, 1 and 2, both programs' parse errors
AT = ["--url", "{url}", "--workspace", "{ws}"]
CASES: dict[str, tuple[str, str | None, list[Callable[[Path], object]], list[str]]] = {
    "list": ("inv", None, [], ["--list"]),
    "task help": ("drizzle-ops", None, [], ["rollback", "--help"]),
    "migrate": ("inv", "empty", [], ["migrate", *AT]),
    "migrate fails, json": ("inv", "migrated", [bad_sql], ["migrate", *AT, "--json"]),
    "status": ("inv", "migrated", [same_when], ["status", *AT, "--check"]),
    "drift": ("inv", "migrated", [bad_sql], ["drift", *AT]),
    "verify, json": ("drizzle-ops", "migrated", [], ["verify", *AT, "--json"]),
    "rollback": ("inv", "migrated", [], ["rollback", *AT, "--steps", "1"]),
    "plan": ("inv", "empty", [], ["plan", *AT]),
    "lint, json": ("drizzle-ops", None, [], ["lint", "--workspace", "{ws}", "--format", "json"]),
    "repair, bad input": ("inv", "migrated", [], ["repair", *AT, "--tag", "0099_none"]),
    "bad value, json": ("inv", None, [], ["plan", *AT, "--large-rows", "-5", "--json"]),
    "unknown flag, inv": ("inv", None, [], ["migrate", "--bogus"]),
    "unknown task, drizzle-ops": ("drizzle-ops", None, [], ["migrat"]),
}


@pytest.mark.process
@pytest.mark.parametrize("case", list(CASES))
def test_in_process_gives_the_bytes_of_a_real_process(case: str, scene: Scene, migrated_template: str) -> None:
    program, start, edits, args = CASES[case]
    scene.database = start is not None
    scene.template = migrated_template if start == "migrated" else None
    scene.edits = edits
    filled = [a.format(url=scene.url, ws=scene.workspace) for a in args]
    assert_same(*twin_runs(scene, program, *filled))


@pytest.mark.process
@pytest.mark.drizzle
def test_a_child_writing_to_the_inherited_stderr_is_captured_in_order(scene: Scene) -> None:
    """generate runs drizzle-kit with our stderr as its own: in process, that is the runner's capture file."""
    require((EXAMPLE / "node_modules" / ".bin" / "drizzle-kit").exists(), NO_DRIZZLE_KIT)
    scene.database = False
    process, in_process = twin_runs(scene, "inv", "generate", "--workspace", str(scene.workspace))
    assert_same(process, in_process)
    ours, theirs = in_process.stderr.index("db:generate"), in_process.stderr.index("No schema changes")
    assert ours < theirs, in_process.stderr  # our line first, then drizzle-kit's own, from its own process


@pytest.mark.process
def test_run_after_run_each_starts_as_a_fresh_process(
    scene: Scene, migrated_template: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The width rich reads, the warnings a run collected and invoke's help texts do not carry over."""
    scene.template, scene.edits = migrated_template, [same_when]
    scene.reset()
    args = ["status", "--url", scene.url, "--workspace", str(scene.workspace)]
    wide, narrow = run_inv_process(*args), run_inv_process(*args, env={"COLUMNS": "80"})
    assert wide.stdout != narrow.stdout  # the table is wider than 80 columns: the width shows
    as_json = run_inv_process(*args, "--json")
    help = run_drizzle_ops_process("status", "--help")
    other = tmp_path / "other"  # another history, whose warning names other migrations
    shutil.copytree(EXAMPLE, other, ignore=shutil.ignore_patterns("node_modules"))
    add_migration(other, "other_when", 'CREATE TABLE "other" ("id" integer);', when=1_700_000_000_000)
    add_migration(other, "other_when_too", 'CREATE TABLE "other_too" ("id" integer);', when=1_700_000_000_000)

    for _ in range(2):  # twice: what one run leaves must not show in the next
        assert_same(wide, run_inv(*args))
        with monkeypatch.context() as wider:  # as if a Console had been made during a run at 200 columns
            wider.setenv("COLUMNS", "200")
            for console, (made_with, named) in inprocess._consoles.items():
                Console.__init__(console, *made_with, **named)
        assert_same(narrow, run_inv(*args, env={"COLUMNS": "80"}))
        assert "other_when" in run_inv("status", "--url", scene.url, "--workspace", str(other)).stderr
        assert_same(as_json, run_inv(*args, "--json"))
        assert run_drizzle_ops("--list").returncode == 0  # builds every task's parser: invoke takes the help
        assert_same(help, run_drizzle_ops("status", "--help"))
    assert len(json.loads(as_json.stdout)["warnings"]) == 1  # the case holds one history warning


def test_environment_folder_and_streams_are_put_back(tmp_path: Path) -> None:
    before = (dict(os.environ), os.getcwd(), sys.stdout, sys.stderr, sys.stdin, list(sys.path), sys.argv)
    done = run_inv("--list", env={"SOME_VARIABLE": "set for the run"}, cwd=tmp_path / ".." / "..")
    assert done.returncode in (0, 1)
    assert (dict(os.environ), os.getcwd(), sys.stdout, sys.stderr, sys.stdin, list(sys.path), sys.argv) == before


def test_a_run_leaves_no_session_open(empty_db: str, migrated_db: str) -> None:
    """A process's sessions end with it; in process, each run must close its own, or a later run would meet them."""
    for args, code in (
        (["migrate", "--url", empty_db], 0),
        (["status", "--url", empty_db, "--json"], 0),
        (["verify", "--url", migrated_db], 0),
        (["plan", "--url", empty_db], 0),
        (["drift", "--url", migrated_db], 0),
        (["rollback", "--url", migrated_db, "--steps", "1"], 0),
        (["migrate", "--url", empty_db, "--to", "0099_none"], 2),  # an unknown tag: bad input
    ):
        done = run_inv(*args)
        assert done.returncode == code, (args, done.stderr)  # the run did what it was asked, not failed early
        with psycopg.connect(empty_db) as conn:
            left = conn.execute(
                "select datname, application_name, state from pg_stat_activity"
                " where datname = any(%s) and pid <> pg_backend_pid()",
                [[conninfo_to_dict(url)["dbname"] for url in (empty_db, migrated_db)]],
            ).fetchall()
        assert left == [], (args, left)


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


def test_a_ctrl_c_the_program_handles_itself_still_reaches_the_test(databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A fleet run takes Ctrl-C itself (no new target starts): the runner still raises it after the run."""
    from tests.integration.fleet_support import fleet_config, fleet_inv, in_fleet_order

    canary, other = in_fleet_order([databases.create(), databases.create()])
    main = threading.main_thread().ident
    assert main is not None

    def run() -> None:
        watcher = _when_waiting(canary, lambda: signal.pthread_kill(main, signal.SIGINT))
        config = fleet_config(tmp_path, parallel=1, canary=1)
        with pytest.raises(KeyboardInterrupt):
            fleet_inv(config, [canary, other], "migrate", "--lock-wait", "3", workspace=EXAMPLE)
        watcher.join()

    _blocked_migrate(canary, run)
    assert rows(canary) == rows(other) == []
