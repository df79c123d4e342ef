"""Every flag of every task that takes a number or one of a set: a bad value is exit 2 and one line, at the edge.

The table lists each such flag with a value it refuses and the start of the line it must print: the flag,
the value, then what the flag takes. Each case runs `inv` and `drizzle-ops` (in the test process), with a URL
where nothing listens: a value that slipped past the edge would try to connect and fail with exit 1. A few
cases, one of each kind of value, also run both programs as real processes of their own.
``test_every_flag_is_in_the_table_or_said_to_be_free`` keeps the table whole as tasks gain flags.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from drizzle_ops.cli.tasks import namespace
from tests.helpers import run_drizzle_ops, run_drizzle_ops_process, run_inv, run_inv_process

NOWHERE = ["--url", "postgresql://nobody@127.0.0.1:1/none"]  # port 1: nothing answers, so nothing may connect
ENVIRONMENTS = "choose an environment invoke.yaml declares: local, production, staging, tenants"

# (task, flag): (the refused value, other arguments, the line stderr must start with after "error: ")
CASES: dict[tuple[str, str], tuple[str, list[str], str]] = {
    ("migrate", "--lock-wait"): ("abc", NOWHERE, "--lock-wait 'abc': give a number of seconds, 0 or more"),
    ("migrate", "--runner"): ("knex", NOWHERE, "--runner 'knex': choose one of drizzle-ops, drizzle"),
    ("migrate", "--shard"): ("3/2", NOWHERE, "--shard '3/2': give K/N with 1 ≤ K ≤ N, such as 2/4"),
    ("migrate", "--env"): ("qa", [], f"--env 'qa': {ENVIRONMENTS}"),
    ("status", "--shard"): ("two", NOWHERE, "--shard 'two': give K/N with 1 ≤ K ≤ N, such as 2/4"),
    ("status", "--env"): ("qa", [], f"--env 'qa': {ENVIRONMENTS}"),
    ("drift", "--env"): ("qa", [], f"--env 'qa': {ENVIRONMENTS}"),
    ("repair", "--lock-wait"): ("-1", [*NOWHERE, "--tag", "0001_x"], "--lock-wait '-1': give a number of seconds"),
    ("repair", "--env"): ("qa", ["--tag", "0001_x"], f"--env 'qa': {ENVIRONMENTS}"),
    ("rollback", "--steps"): ("0", NOWHERE, "--steps '0': give a whole number of migrations, 1 or more"),
    ("rollback", "--lock-wait"): ("soon", NOWHERE, "--lock-wait 'soon': give a number of seconds, 0 or more"),
    ("rollback", "--env"): ("qa", [], f"--env 'qa': {ENVIRONMENTS}"),
    ("verify", "--shard"): ("0/4", NOWHERE, "--shard '0/4': give K/N with 1 ≤ K ≤ N, such as 2/4"),
    ("verify", "--only"): ("nope", NOWHERE, "--only: no check named nope (known: snapshot-conformance, wishlist."),
    ("verify", "--env"): ("qa", [], f"--env 'qa': {ENVIRONMENTS}"),
    ("db.up", "--provider"): ("podman", [], "--provider 'podman': choose one of auto, docker, local"),
    ("db.up", "--pg"): ("16.4", [], "--pg '16.4': give a PostgreSQL major version such as 16 (9 to 99)"),
    ("lint", "--fail-on"): ("sometimes", [], "--fail-on 'sometimes': choose one of error, warning, never"),
    ("lint", "--exclude"): ("no-such-rule", [], "--exclude 'no-such-rule': no rule no-such-rule; give rule ids"),
    ("lint", "--pg-version"): ("160004", [], "--pg-version '160004': give a PostgreSQL major version such as 16"),
    ("lint", "--env"): ("qa", ["--pending"], f"--env 'qa': {ENVIRONMENTS}"),
    ("lint", "--format"): ("yaml", [], "--format 'yaml': choose one of table, json, markdown"),
    ("plan", "--large-rows"): ("abc", NOWHERE, "--large-rows 'abc': give a whole number of rows, 0 or more"),
    ("plan", "--format"): ("xml", NOWHERE, "--format 'xml': choose one of table, json, markdown"),
    ("plan", "--explain-lock"): ("Shared", [], "--explain-lock 'Shared': choose a table lock mode: ACCESS SHARE"),
    ("plan", "--env"): ("qa", [], f"--env 'qa': {ENVIRONMENTS}"),
}

# flags that take free text (a path, a URL, a tag, labels): each is checked where it is used, not here
FREE = {
    "workspace": "a folder: missing is exit 2 when the workspace is read",
    "url": "a URL: malformed is exit 2 when the target is resolved",
    "to": "a tag of the workspace: unknown is exit 2 once the workspace is read",
    "tag": "a tag of the workspace, as --to",
    "rollback-dir": "a folder",
    "checks-dir": "a folder",
    "accepted": "a file",
    "junit": "a file to write: unwritable is exit 2",
    "trace-url": "a URL, as --url",
    "only": "labels of a fleet's targets (verify: check ids, in the table)",
    "targets": "labels of a fleet's targets: unknown is exit 2 once the fleet is listed",
    "name": "a migration name, for drizzle-kit",
    "file": "files or folders to lint",
    "since": "a git ref: one git does not know is exit 2 when lint asks git",
}

PROGRAMS = ["inv", "drizzle-ops"]
RUNS = {"inv": run_inv, "drizzle-ops": run_drizzle_ops}
PROCESSES = {"inv": run_inv_process, "drizzle-ops": run_drizzle_ops_process}
# the edge (exit 2, one line on stderr, nothing on stdout) as a real process shows it, for a number, a choice and
# an environment; each flag's own check runs in process, every row of the table
IN_A_PROCESS = [("migrate", "--lock-wait"), ("lint", "--format"), ("drift", "--env")]


def assert_refused(proc: subprocess.CompletedProcess[str], task: str, flag: str) -> None:
    line = CASES[(task, flag)][2]
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stderr.splitlines() == [proc.stderr.strip()] and proc.stderr.startswith(f"error: {line}"), proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("program", PROGRAMS)
@pytest.mark.parametrize(("task", "flag"), list(CASES))
def test_a_bad_value_is_exit_2_and_one_line(program: str, task: str, flag: str) -> None:
    bad, others, _ = CASES[(task, flag)]
    assert_refused(RUNS[program](task, flag, bad, *others, env={"COLUMNS": "80"}), task, flag)


@pytest.mark.process
@pytest.mark.parametrize("program", PROGRAMS)
@pytest.mark.parametrize(("task", "flag"), IN_A_PROCESS)
def test_a_bad_value_is_exit_2_and_one_line_from_a_process_of_its_own(program: str, task: str, flag: str) -> None:
    bad, others, _ = CASES[(task, flag)]
    assert_refused(PROCESSES[program](task, flag, bad, *others, env={"COLUMNS": "80"}), task, flag)


def test_every_flag_is_in_the_table_or_said_to_be_free() -> None:
    tasks = namespace()
    for name in tasks.task_names:
        for argument in tasks[name].get_arguments():
            flag = argument.names[0]
            if argument.kind is bool or flag in FREE or (name, f"--{flag}") in CASES:
                continue
            pytest.fail(f"{name} --{flag}: add a bad value to CASES, or say in FREE why it takes free text")


def test_with_json_the_error_is_the_document_too() -> None:
    proc = run_inv("plan", "--large-rows", "-5", "--json", *NOWHERE)
    assert proc.returncode == 2 and proc.stderr == "error: --large-rows '-5': give a whole number of rows, 0 or more\n"
    error = json.loads(proc.stdout)["error"]
    assert error == {
        "error": "UserError",
        "message": "--large-rows '-5': give a whole number of rows, 0 or more",
        "exit_code": 2,
    }


def test_a_fleet_flag_on_one_database_reads_as_english() -> None:
    one = run_inv("migrate", "--shard", "1/2", *NOWHERE)
    assert one.returncode == 2 and one.stderr.startswith("error: --shard works only with --env naming a fleet")
    three = run_inv("migrate", "--shard", "1/2", "--only", "a", "--keep-going", *NOWHERE)
    assert three.stderr.startswith("error: --shard, --only and --keep-going work only with --env naming a fleet")
