"""Batched data migrations on a real server, through real `inv` processes: each row once, resumable, ending as
drizzle-kit ends.

The workspace is the example's, plus two hand-made migrations (``tests.helpers.add_migration``): ``items`` (a
table, and a statement-level trigger that logs every UPDATE statement with the rows it changed into
``batch_audit``, in the statement's own transaction) and a custom migration with the batch statement. A
committed batch leaves exactly one audit row, a batch rolled back (killed, interrupted) none: the audit
shows which batches committed, and how often.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from drizzle_ops.engine import runner
from drizzle_ops.engine.batch_progress import ProgressTable
from drizzle_ops.engine.execution import ExecutionPolicy
from drizzle_ops.engine.server import replication_lag
from drizzle_ops.engine.states import PlanOptions
from drizzle_ops.engine.workspace import load_workspace
from tests.helpers import (
    EXAMPLE,
    NO_DRIZZLE_KIT,
    NO_DRIZZLE_KIT_V1,
    NO_PG_BINARIES,
    ROOT,
    V1,
    add_migration,
    drizzle_kit_applied,
    keep_journal_entries,
    only_with_backend,
    pg_binaries,
    require,
    rows,
    run_inv,
    schema_dump,
)

ROWS = 50_000
PER_BATCH = 1000
BATCHES = ROWS // PER_BATCH
ITEMS = (
    'CREATE TABLE "items" ("id" bigserial PRIMARY KEY NOT NULL, "value" integer NOT NULL, "doubled" integer, '
    '"times" integer DEFAULT 0 NOT NULL);\n--> statement-breakpoint\n'
    'CREATE TABLE "batch_audit" ("id" bigserial PRIMARY KEY NOT NULL, "rows" bigint NOT NULL);\n'
    "--> statement-breakpoint\n"
    'CREATE FUNCTION "log_batch"() RETURNS trigger LANGUAGE plpgsql AS $$\n'
    'BEGIN INSERT INTO "batch_audit" ("rows") SELECT count(*) FROM "changed"; RETURN NULL; END\n$$;\n'
    "--> statement-breakpoint\n"
    'CREATE TRIGGER "items_log_batch" AFTER UPDATE ON "items" REFERENCING NEW TABLE AS "changed"\n'
    'FOR EACH STATEMENT EXECUTE FUNCTION "log_batch"();'
)
HEADER = "-- Custom SQL migration file, put your code below! --\n"


def backfill(options: str = f"rows={PER_BATCH}", where: str = 'WHERE "doubled" IS NULL') -> str:
    return (
        f"{HEADER}-- drizzle-ops: batch {options}\n"
        f'UPDATE "items" SET "doubled" = "value" * 2, "times" = "times" + 1 {where};\n'
    )


def workspace(ws: Path, options: str = f"rows={PER_BATCH}", **kwargs: str) -> Path:
    add_migration(ws, "items", ITEMS)
    add_migration(ws, "backfill_doubled", backfill(options, **kwargs))
    return ws


def seeded(url: str, ws: Path, count: int = ROWS) -> str:
    """Everything before the backfill applied, and ``count`` rows in items to backfill."""
    with psycopg.connect(url, autocommit=True) as conn:
        runner.migrate(conn, load_workspace(ws), PlanOptions(to="0008_items"))
        seed(conn, count)
    return url


def seed(conn: psycopg.Connection, count: int) -> None:
    conn.execute('INSERT INTO "items" ("value") SELECT g FROM generate_series(1, %s) AS g', [count])
    conn.execute('ANALYZE "items"')


def query(url: str, text: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(text, list(params) if params else None).fetchall()  # type: ignore[arg-type]


def times(url: str) -> dict[int, int]:
    """How many rows the backfill changed how many times (0: not yet), each checked for the right value."""
    wrong = query(url, 'select count(*) from "items" where "times" > 0 and "doubled" is distinct from "value" * 2')
    assert wrong == [(0,)]
    return {int(t): int(n) for t, n in query(url, 'select "times", count(*) from "items" group by 1 order by 1')}  # type: ignore[call-overload]


def audit(url: str) -> list[int]:
    """The rows each committed UPDATE statement changed, in commit order."""
    return [int(r) for (r,) in query(url, 'select "rows" from "batch_audit" order by "id"')]  # type: ignore[call-overload]


def progress(url: str) -> tuple[int, int] | None:
    """(batches, rows changed) in the progress table, or None when there is none."""
    found = query(url, "select to_regclass('drizzle.__drizzle_migrations_batches') is not null")
    if not found[0][0]:
        return None
    row = query(url, "select batches, rows_done from drizzle.__drizzle_migrations_batches")
    return (int(row[0][0]), int(row[0][1])) if row else None  # type: ignore[call-overload]


def spawn_migrate(url: str, ws: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["NO_COLOR"] = "1"
    return subprocess.Popen(
        [shutil.which("inv") or "inv", "migrate", "--url", url, "--workspace", str(ws), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_batches(url: str, proc: subprocess.Popen[str], at_least: int) -> bool:
    """Until ``at_least`` batches are committed (True), or the run ended first (False)."""
    while proc.poll() is None:
        done = progress(url)
        if done is not None and done[0] >= at_least:
            return True
        time.sleep(0.005)
    return False


def expected_rows(ws: Path) -> list[tuple[str, int]]:
    return [(m.hash, m.when) for m in load_workspace(ws).migrations]


# -- a backfill, whole ----------------------------------------------------------------------------------------


def test_a_backfill_in_batches_changes_every_row_once_and_records_the_migration(
    empty_db: str, workspace_copy: Path
) -> None:
    ws = workspace(workspace_copy, f"rows={PER_BATCH} pause=1ms")
    seeded(empty_db, ws)
    done = run_inv("migrate", "--url", empty_db, "--workspace", str(ws))
    assert done.returncode == 0, done.stderr
    assert times(empty_db) == {1: ROWS}
    assert audit(empty_db) == [PER_BATCH] * BATCHES  # one UPDATE per batch, 1,000 rows each, none twice
    assert rows(empty_db) == expected_rows(ws)
    assert progress(empty_db) is None  # the progress table went with the last batch
    assert f"✓ 0009_backfill_doubled (1 statement) in {BATCHES} batches, {ROWS:,} rows changed" in done.stderr
    assert f"0009_backfill_doubled: batch {BATCHES}: {ROWS:,} of ~{ROWS:,} rows (100%), {ROWS:,} changed, done" in (
        done.stderr
    )
    # nothing of ours left open or locked
    assert query(empty_db, "select count(*) from pg_locks where locktype = 'advisory'") == [(0,)]


def test_the_row_is_written_in_the_last_batchs_transaction(empty_db: str, workspace_copy: Path) -> None:
    ws = workspace(workspace_copy)
    seeded(empty_db, ws, 2500)  # three batches: 1,000, 1,000 and the last 500 with the row
    with psycopg.connect(empty_db, autocommit=True) as conn:
        runner.migrate(conn, load_workspace(ws))
    [(row_xmin,)] = query(empty_db, 'select xmin::text from drizzle."__drizzle_migrations" order by id desc limit 1')
    last = query(empty_db, 'select distinct xmin::text from "items" where id > 2000')
    assert last == [(row_xmin,)] and audit(empty_db) == [1000, 1000, 500]


def test_an_empty_table_is_one_batch_with_the_row(empty_db: str, workspace_copy: Path) -> None:
    ws = workspace(workspace_copy)
    seeded(empty_db, ws, 0)
    done = run_inv("migrate", "--url", empty_db, "--workspace", str(ws))
    assert done.returncode == 0, done.stderr
    assert rows(empty_db) == expected_rows(ws) and audit(empty_db) == [0] and progress(empty_db) is None


def test_a_uuid_key_a_composite_key_and_a_delete_run_in_batches(empty_db: str, workspace_copy: Path) -> None:
    ws = workspace_copy
    add_migration(
        ws,
        "line_items",
        'CREATE TABLE "line_items" ("order_id" bigint NOT NULL, "sku" text NOT NULL, "qty" integer NOT NULL, '
        '"checked" boolean, CONSTRAINT "line_items_pk" PRIMARY KEY ("order_id", "sku"));',
    )
    add_migration(  # the example's own backfill, in batches: users has a uuid key
        ws,
        "display_names",
        f"{HEADER}-- drizzle-ops: batch rows=1000\n"
        'UPDATE "users" SET "display_name" = split_part("email", \'@\', 1) WHERE "display_name" IS NULL;\n',
    )
    add_migration(
        ws,
        "check_lines",
        f"{HEADER}-- drizzle-ops: batch rows=1000\n"
        'UPDATE "line_items" AS li SET "checked" = li."qty" > 0 WHERE li."checked" IS NULL;\n',
    )
    add_migration(
        ws, "drop_empty_lines", f'{HEADER}-- drizzle-ops: batch rows=700\nDELETE FROM "line_items" WHERE "qty" = 0;\n'
    )
    heard: dict[str, list[int]] = {}

    class Heard(runner.SilentProgress):
        def batch_progress(self, migration, report) -> None:  # type: ignore[no-untyped-def]
            heard.setdefault(migration.tag, []).append(report.rows)

    with psycopg.connect(empty_db, autocommit=True) as conn:
        runner.migrate(conn, load_workspace(ws), PlanOptions(to="0008_line_items"))
        conn.execute("insert into users (email) select 'user' || g || '@example.org' from generate_series(1, 2500) g")
        conn.execute(
            "insert into line_items (order_id, sku, qty) "
            "select g / 3, 'sku-' || g, g % 4 from generate_series(1, 2400) g"
        )
        conn.execute("analyze users; analyze line_items")
        result = runner.migrate(conn, load_workspace(ws), progress=Heard())
    assert [a.tag for a in result.applied] == ["0009_display_names", "0010_check_lines", "0011_drop_empty_lines"]
    assert [a.batches.batches for a in result.applied if a.batches] == [3, 3, 4]
    # each batch changed its share, and the totals are every matching row
    assert heard["0009_display_names"] == [1000, 2000, 2500]
    assert heard["0010_check_lines"] == [1000, 2000, 2400]
    assert heard["0011_drop_empty_lines"][-1] == 600
    assert query(empty_db, "select count(*) from users where display_name = split_part(email, '@', 1)") == [(2500,)]
    assert query(empty_db, "select count(*), count(*) filter (where checked) from line_items") == [(1800, 1800)]
    assert progress(empty_db) is None and rows(empty_db) == expected_rows(ws)


# -- killed, interrupted, failed: resumed, never twice --------------------------------------------------------


def test_sigkill_at_random_batches_then_a_rerun_changes_every_row_exactly_once(
    databases,
    workspace_copy: Path,  # type: ignore[no-untyped-def]
) -> None:
    ws = workspace(workspace_copy, f"rows={PER_BATCH} pause=5ms")
    url = seeded(databases.create(), ws)
    rng = random.Random(2404)  # fixed seed: a failure can be replayed
    kills, committed = 0, 0
    # kills stop 10 batches before the end, so the run cannot finish in the moment before its kill lands
    while kills < 6 and committed < BATCHES - 10:
        proc = spawn_migrate(url, ws)
        target = min(committed + rng.randint(1, 8), BATCHES - 10)
        reached = wait_for_batches(url, proc, target)
        assert reached, "the run ended before it reached the batch to kill it at"
        time.sleep(rng.uniform(0, 0.02))  # somewhere inside the next batch, or between two
        proc.send_signal(signal.SIGKILL)
        kills += 1
        proc.wait(timeout=60)
        state = progress(url)
        assert state is not None, "killed mid-run, yet no progress row is left"
        committed, changed = state
        # the progress row and the batches it counts committed together: never one without the other
        assert audit(url) == [PER_BATCH] * committed
        assert changed == committed * PER_BATCH
        assert times(url) == {0: ROWS - changed, 1: changed}
        assert rows(url) == expected_rows(ws)[:-1]  # not recorded before the last batch
    assert kills >= 3
    final = spawn_migrate(url, ws)
    _out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    assert "resuming 0009_backfill_doubled after batch" in err
    assert times(url) == {1: ROWS}
    assert audit(url) == [PER_BATCH] * BATCHES  # across every run: each batch once
    assert rows(url) == expected_rows(ws) and progress(url) is None


def test_ctrl_c_exits_130_says_what_stays_and_the_rerun_resumes(empty_db: str, workspace_copy: Path) -> None:
    ws = workspace(workspace_copy, f"rows={PER_BATCH} pause=20ms")
    seeded(empty_db, ws)
    proc = spawn_migrate(empty_db, ws)
    assert wait_for_batches(empty_db, proc, 5)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    state = progress(empty_db)
    assert state is not None
    committed, changed = state
    assert (
        f"interrupted: 0009_backfill_doubled stopped after batch {committed} ({changed:,} rows changed so far)" in err
    )
    assert "resumes after them" in err
    assert audit(empty_db) == [PER_BATCH] * committed and times(empty_db) == {0: ROWS - changed, 1: changed}
    assert query(empty_db, "select count(*) from pg_stat_activity where state like 'idle in transaction%'") == [(0,)]
    again = run_inv("migrate", "--url", empty_db, "--workspace", str(ws))
    assert again.returncode == 0, again.stderr
    assert f"resuming 0009_backfill_doubled after batch {committed:,}" in again.stderr
    assert times(empty_db) == {1: ROWS} and audit(empty_db) == [PER_BATCH] * BATCHES


def test_a_failing_batch_says_which_batches_stay_and_the_rerun_resumes_after_them(
    empty_db: str, workspace_copy: Path
) -> None:
    ws = workspace_copy
    add_migration(ws, "items", ITEMS)
    # batch 31 holds the row with value 30,500, where the division fails
    add_migration(
        ws,
        "backfill_doubled",
        f'{HEADER}-- drizzle-ops: batch rows={PER_BATCH}\nUPDATE "items" SET "doubled" = "value" * 2 + 0 / ("value" - '
        '30500), "times" = "times" + 1 WHERE "doubled" IS NULL;\n',
    )
    seeded(empty_db, ws)
    failed = run_inv("migrate", "--url", empty_db, "--workspace", str(ws))
    assert failed.returncode == 1
    [line] = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert "migration 0009_backfill_doubled failed at statement 1 (drizzle/0009_backfill_doubled.sql:3)" in line
    assert "[22012] division by zero" in line
    assert "batches 1-30 (30,000 rows changed) are committed and stay; batch 31 was rolled back" in line
    assert "0009_backfill_doubled was not recorded as applied; its 30 committed batch(es) stay" in line
    assert "the same file resumes after the last committed batch, no batch twice" in line
    assert "✗ 0009_backfill_doubled (1 statement) failed; part of it stays" in failed.stderr
    assert times(empty_db) == {0: ROWS - 30_000, 1: 30_000} and progress(empty_db) == (30, 30_000)
    query(empty_db, 'update "items" set "value" = 30499 where "value" = 30500 returning 1')  # the data fixed
    again = run_inv("migrate", "--url", empty_db, "--workspace", str(ws))
    assert again.returncode == 0, again.stderr
    # the fix itself was one UPDATE of one row; then batches 31-50, each once
    assert times(empty_db) == {1: ROWS} and audit(empty_db) == [PER_BATCH] * 30 + [1] + [PER_BATCH] * 20


def test_two_runs_at_once_take_turns_batch_by_batch_and_each_batch_runs_once(
    empty_db: str, workspace_copy: Path
) -> None:
    ws = workspace(workspace_copy, f"rows={PER_BATCH} pause=5ms")
    seeded(empty_db, ws)
    procs = [spawn_migrate(empty_db, ws, "--json") for _ in range(2)]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [err for _, err in outputs]
    import json

    documents = [json.loads(out) for out, _ in outputs]
    applied = [a["tag"] for d in documents for a in d["applied"]]
    [line] = [a for d in documents for a in d["applied"]]
    assert (line["batches"], line["rows_changed"]) == (BATCHES, ROWS)  # by both runs together
    elsewhere = [t for d in documents for t in d["applied_by_another_run"]]
    assert applied == ["0009_backfill_doubled"] and elsewhere == ["0009_backfill_doubled"]
    assert times(empty_db) == {1: ROWS} and audit(empty_db) == [PER_BATCH] * BATCHES
    assert rows(empty_db) == expected_rows(ws) and progress(empty_db) is None


def test_a_file_edited_after_some_batches_starts_again_and_its_where_passes_over_the_rows_done(
    empty_db: str, workspace_copy: Path
) -> None:
    ws = workspace(workspace_copy)
    seeded(empty_db, ws)
    proc = spawn_migrate(empty_db, ws)
    assert wait_for_batches(empty_db, proc, 10)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    state = progress(empty_db)
    assert state is not None
    sql_path = ws / "drizzle" / "0009_backfill_doubled.sql"
    sql_path.write_text(backfill(f"rows={PER_BATCH * 2}"))  # bigger batches: another file, another hash
    done = run_inv("migrate", "--url", empty_db, "--workspace", str(ws))
    assert done.returncode == 0, done.stderr
    assert (
        f"warning: 0009_backfill_doubled changed since its batches began ({state[0]} batch(es), {state[1]:,} rows done "
        "by the earlier version); it starts again from the first key"
    ) in done.stderr
    assert times(empty_db) == {1: ROWS}  # the rows done before were passed over, not changed again
    assert sum(audit(empty_db)) == ROWS and rows(empty_db) == expected_rows(ws)


def test_conformance_leaves_the_progress_table_out_like_the_bookkeeping_table(migrated_db: str) -> None:
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        ProgressTable("drizzle", "__drizzle_migrations_batches").ensure(conn)
    drift = run_inv("drift", "--url", migrated_db, "--workspace", str(EXAMPLE), "--check")
    assert drift.returncode == 0, drift.stdout + drift.stderr


def test_a_row_lock_held_by_the_application_times_out_a_batch_which_is_retried(
    empty_db: str, workspace_copy: Path
) -> None:
    ws = workspace(workspace_copy)
    seeded(empty_db, ws, 5000)
    retries: list[str] = []

    class Heard(runner.SilentProgress):
        def retrying(self, migration, attempt, delay, reason) -> None:  # type: ignore[no-untyped-def]
            retries.append(reason)

    policy = ExecutionPolicy(lock_timeout="50ms", retries=20, backoff=0.05)
    with psycopg.connect(empty_db) as holder, psycopg.connect(empty_db, autocommit=True) as conn:
        holder.execute('select 1 from "items" where id = 2500 for update')  # a writer in the middle of batch 3

        def release() -> None:
            time.sleep(0.6)
            holder.rollback()

        import threading

        thread = threading.Thread(target=release)
        thread.start()
        result = runner.migrate(conn, load_workspace(ws), policy=policy, progress=Heard())
        thread.join()
    assert [a.tag for a in result.applied] == ["0009_backfill_doubled"]
    # each retry names the session that holds the lock
    assert retries and all("probably held by" in r and "for update" in r for r in retries)
    assert times(empty_db) == {1: 5000} and audit(empty_db) == [1000] * 5


# -- refused before anything of it runs -----------------------------------------------------------------------


def test_a_table_without_primary_key_is_refused_before_any_batch(empty_db: str, workspace_copy: Path) -> None:
    ws = workspace_copy
    add_migration(ws, "logs", 'CREATE TABLE "logs" ("at" timestamp with time zone, "level" text);')
    add_migration(
        ws,
        "levels",
        f'{HEADER}-- drizzle-ops: batch rows=100\nUPDATE "logs" SET "level" = \'info\' WHERE "level" IS NULL;',
    )
    refused = run_inv("migrate", "--url", empty_db, "--workspace", str(ws))
    assert refused.returncode == 2
    [line] = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert line == (
        "error: 0009_levels (drizzle/0009_levels.sql:2) cannot run in batches: public.logs has no primary key, and "
        "batches walk the primary key; add one, or run the statement without the batch marker; nothing of it ran"
    )
    assert rows(empty_db) == expected_rows(ws)[:-1]
    assert progress(empty_db) is None
    linted = run_inv("lint", "--workspace", str(ws))
    assert linted.returncode == 1
    assert "require-resumable-batch" in linted.stdout and "logs has no primary key" in linted.stdout


@pytest.mark.parametrize(
    ("table_sql", "statement", "reason"),
    [
        (
            'CREATE TABLE "logs" ("id" bigserial PRIMARY KEY NOT NULL, "level" text);',
            'UPDATE "ghosts" SET "level" = \'info\' WHERE "level" IS NULL;',
            "there is no table ghosts to run it on",
        ),
        (
            'CREATE TABLE "logs" ("id" integer[] PRIMARY KEY NOT NULL, "level" text);',
            'UPDATE "logs" SET "level" = \'info\' WHERE "level" IS NULL;',
            "the primary key column id of public.logs is of type integer[], which batches cannot walk in order",
        ),
        (
            'CREATE TABLE "logs" ("id" bigint PRIMARY KEY NOT NULL, "level" text);',
            'UPDATE "logs" SET "id" = "id" + 1, "level" = \'info\' WHERE "level" IS NULL;',
            "the UPDATE assigns the primary key column id, which batches walk; keep the key as it is",
        ),
    ],
    ids=["no-such-table", "array-key", "key-assigned"],
)
def test_a_table_batches_cannot_walk_is_refused_before_any_batch(
    empty_db: str, workspace_copy: Path, table_sql: str, statement: str, reason: str
) -> None:
    ws = workspace_copy
    add_migration(ws, "logs", table_sql)
    add_migration(ws, "levels", f"{HEADER}-- drizzle-ops: batch rows=100\n{statement}")
    refused = run_inv("migrate", "--url", empty_db, "--workspace", str(ws))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    [line] = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert line == (
        f"error: 0009_levels (drizzle/0009_levels.sql:2) cannot run in batches: {reason}; nothing of it ran"
    )
    assert rows(empty_db) == expected_rows(ws)[:-1]
    assert progress(empty_db) is None


def test_a_where_that_does_not_exclude_done_rows_is_refused_before_anything_changes(
    empty_db: str, workspace_copy: Path
) -> None:
    ws = workspace(workspace_copy, where='WHERE "value" > 0')
    refused = run_inv("migrate", "--url", empty_db, "--workspace", str(ws))
    assert refused.returncode == 2
    assert (
        "0009_backfill_doubled (drizzle/0009_backfill_doubled.sql:2) cannot run in batches: the WHERE does not "
        "exclude the rows already done"
    ) in refused.stderr
    assert query(empty_db, "select to_regclass('drizzle.__drizzle_migrations')") == [(None,)]  # not even the table
    linted = run_inv("lint", "--workspace", str(ws), "--json")
    assert linted.returncode == 1
    assert '"rule": "require-resumable-batch"' in linted.stdout


# -- drizzle-kit runs the same file as one statement, and ends the same -----------------------------------------


def test_drizzle_kit_031_runs_the_file_as_one_update_and_ends_in_the_same_state(
    databases,
    workspace_copy: Path,  # type: ignore[no-untyped-def]
) -> None:
    kit = EXAMPLE / "node_modules" / "drizzle-kit" / "bin.cjs"
    require(kit.exists(), NO_DRIZZLE_KIT)
    ws = workspace(workspace_copy, f"rows={PER_BATCH} pause=1ms max-lag=10s")
    (ws / "node_modules").symlink_to(EXAMPLE / "node_modules", target_is_directory=True)
    ours, theirs = databases.create(), databases.create()

    def drizzle_kit() -> None:
        drizzle_kit_applied(kit, ws, theirs)

    full = keep_journal_entries(ws, 9)  # up to 0008_items, as a checkout from before the backfill
    drizzle_kit()
    (ws / "drizzle" / "meta" / "_journal.json").write_text(full)
    seeded(ours, ws)
    with psycopg.connect(theirs, autocommit=True) as conn:
        seed(conn, ROWS)
    drizzle_kit()
    done = run_inv("migrate", "--url", ours, "--workspace", str(ws))
    assert done.returncode == 0, done.stderr
    assert audit(theirs) == [ROWS] and audit(ours) == [PER_BATCH] * BATCHES  # one statement there, batches here
    assert rows(ours) == rows(theirs) == expected_rows(ws)
    data = 'select "id", "value", "doubled", "times" from "items" order by "id"'
    assert query(ours, data) == query(theirs, data)
    assert schema_dump(ours) == schema_dump(theirs)


def test_drizzle_kit_v1_runs_the_file_as_one_update_and_ends_in_the_same_state(
    databases,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    kit = V1 / "node_modules" / ".bin" / "drizzle-kit"
    require(kit.exists(), NO_DRIZZLE_KIT_V1)
    ws = tmp_path / "drizzle-v1"
    shutil.copytree(V1, ws, ignore=shutil.ignore_patterns("node_modules"))
    (ws / "node_modules").symlink_to(V1 / "node_modules", target_is_directory=True)
    ours, theirs = databases.create(), databases.create()

    def drizzle_kit() -> None:
        done = subprocess.run(
            [str(kit), "migrate"], cwd=ws, env={**os.environ, "DATABASE_URL": theirs}, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr

    drizzle_kit()
    assert run_inv("migrate", "--url", ours, "--workspace", str(ws)).returncode == 0
    for url in (ours, theirs):
        query(
            url, 'insert into "sets" ("id", "name") select g, \'Set \' || g from generate_series(1, 3500) g returning 1'
        )
    folder = ws / "drizzle" / "20261125090000_lowercase_set_names"
    folder.mkdir()
    (folder / "migration.sql").write_text(
        f"{HEADER}-- drizzle-ops: batch rows=1000\n"
        'UPDATE "sets" SET "name" = lower("name") WHERE "name" <> lower("name");\n'
    )
    drizzle_kit()
    done = run_inv("migrate", "--url", ours, "--workspace", str(ws))
    assert done.returncode == 0, done.stderr
    assert "in 4 batches, 3,500 rows changed" in done.stderr
    bookkeeping = 'select hash, created_at, name from drizzle."__drizzle_migrations" order by id'
    assert query(ours, bookkeeping) == query(theirs, bookkeeping)
    data = 'select "id", "name" from "sets" order by "id"'
    assert query(ours, data) == query(theirs, data) and query(ours, data)[0] == (1, "set 1")
    assert schema_dump(ours) == schema_dump(theirs)


# -- no session needed: through a transaction-mode pooler ---------------------------------------------------------


def test_batches_run_through_a_transaction_mode_pooler_without_a_direct_url(
    pgbouncer,
    empty_db: str,
    workspace_copy: Path,  # type: ignore[no-untyped-def]
) -> None:
    ws = workspace(workspace_copy)
    seeded(empty_db, ws, 10_000)
    pooled = pgbouncer.url(empty_db, pgbouncer="true")
    done = run_inv("migrate", "--url", pooled, "--workspace", str(ws))
    assert done.returncode == 0, done.stderr
    assert "prepared statement" not in done.stderr
    assert times(empty_db) == {1: 10_000} and audit(empty_db) == [1000] * 10
    assert rows(empty_db) == expected_rows(ws)


# -- standbys, plan ---------------------------------------------------------------------------------------------


def test_without_standbys_the_lag_query_reads_nothing_and_never_waits(empty_db: str, workspace_copy: Path) -> None:
    with psycopg.connect(empty_db, autocommit=True) as conn:
        lag = replication_lag(conn)
    assert (lag.seconds, lag.hidden) == (None, 0)
    ws = workspace(workspace_copy, f"rows={PER_BATCH} max-lag=1ms")
    seeded(empty_db, ws, 3000)
    done = run_inv("migrate", "--url", empty_db, "--workspace", str(ws))
    assert done.returncode == 0, done.stderr
    assert "waiting" not in done.stderr and times(empty_db) == {1: 3000}


def test_plan_estimates_batches_and_time_and_says_where_a_stopped_run_resumes(
    empty_db: str, workspace_copy: Path
) -> None:
    ws = workspace(workspace_copy, f"rows={PER_BATCH} pause=50ms max-lag=10s")
    seeded(empty_db, ws)
    plan = run_inv("plan", "--url", empty_db, "--workspace", str(ws))
    assert plan.returncode == 0, plan.stderr
    assert (
        "runs in batches (rows=1000 pause=50ms max-lag=10s): 1,000 rows per batch by the primary key (id) of "
        "public.items, each batch its own transaction under lock_timeout"
    ) in plan.stdout
    # 50,000 rows at ~50,000 rows/s, and 50 batches of 50 ms pause and ~5 ms overhead each: ~4 s
    estimate = "estimate: ~50,000 rows → ~50 batch(es), ~4 s (at ~50,000 rows/s with the pauses; an estimate, plus any"
    assert estimate in plan.stdout
    # a run stopped after 20 batches: plan says so, in JSON too
    query(empty_db, 'update "items" set "doubled" = "value" * 2, "times" = 1 where id <= 20000 returning 1')
    with psycopg.connect(empty_db, autocommit=True) as conn:
        ProgressTable("drizzle", "__drizzle_migrations_batches").ensure(conn)
        migration = load_workspace(ws).migrations[-1]
        conn.execute(
            "insert into drizzle.__drizzle_migrations_batches (tag, hash, last_key, rows_done, keys_done, batches) "
            "values (%s, %s, '[20000]', 20000, 20000, 20)",
            [migration.tag, migration.hash],
        )
    plan = run_inv("plan", "--url", empty_db, "--workspace", str(ws), "--json")
    assert plan.returncode == 0, plan.stderr
    import json

    [pending] = json.loads(plan.stdout)["pending"]
    assert pending["transactions"] == "in batches" and pending["runs_in_transaction"] is False
    batch = pending["batch"]
    assert (batch["table"], batch["key"], batch["rows"], batch["estimated_batches"]) == (
        "public.items",
        ["id"],
        ROWS,
        30,
    )
    assert (batch["done_batches"], batch["done_rows"], batch["resumes_after"]) == (20, 20000, ["20000"])
    done = run_inv("migrate", "--url", empty_db, "--workspace", str(ws))
    assert done.returncode == 0, done.stderr
    # the test's own UPDATE of the first 20,000 rows, then the 30 batches after the stored key
    assert times(empty_db) == {1: ROWS} and audit(empty_db) == [20_000] + [PER_BATCH] * 30


def test_plan_trace_runs_one_batch_on_the_scratch_copy_and_shows_its_locks(
    empty_db: str,
    workspace_copy: Path,
    pg_server,  # type: ignore[no-untyped-def]
) -> None:
    ws = workspace(workspace_copy)
    seeded(empty_db, ws)
    traced = run_inv(
        "plan", "--url", empty_db, "--workspace", str(ws), "--trace", "--trace-url", pg_server.url, "--json"
    )
    assert traced.returncode == 0, traced.stderr
    import json

    [pending] = json.loads(traced.stdout)["pending"]
    trace = pending["trace"]
    assert trace["transactions"] == "in batches" and trace["error"] is None
    [statement] = trace["statements"]
    locks = {(lock["relation"], lock["mode"]) for lock in statement["locks"]}
    assert ("public.items", "ROW EXCLUSIVE") in locks
    # the table as predicted; and what the SQL does not show: the trigger writes the audit table in each batch
    assert [(c["table"], c["predicted"], c["traced"], c["verdict"]) for c in statement["checks"]] == [
        ("public.items", "ROW EXCLUSIVE", "ROW EXCLUSIVE", "confirmed"),
        ("public.batch_audit", None, "ROW EXCLUSIVE", "trace-only"),
    ]
    assert pending["trace"]["batch_rows"] == 1000
    table = run_inv("plan", "--url", empty_db, "--workspace", str(ws), "--trace", "--trace-url", pg_server.url)
    assert "one batch of up to 1,000 rows, traced" in table.stdout


# -- a real standby: max-lag waits while it lags --------------------------------------------------------------


@pytest.fixture
def primary_with_standby(pg_binaries_present: None) -> Iterator[tuple[str, str]]:
    """A server of its own (local binaries) and a streaming standby of it (pg_basebackup -R): their URLs."""
    from drizzle_ops.disposable.base import free_port
    from drizzle_ops.disposable.local import LocalProvider

    provider = LocalProvider()
    primary = provider.up()
    base, bin_dir = Path(primary.details["base_dir"]), Path(primary.details["bin_dir"])
    user = primary.details.get("user")
    params = conninfo_to_dict(primary.url)
    standby_dir = base / "standby"
    try:
        subprocess.run(
            [
                *(str(bin_dir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(params["port"]), "-U", "postgres"),
                *("-D", str(standby_dir), "-R", "-X", "stream"),
            ],
            user=user,
            cwd=base,
            env={**os.environ, "PGPASSWORD": str(params["password"])},
            capture_output=True,
            check=True,
        )
        port = free_port()
        subprocess.run(
            [
                *(str(bin_dir / "pg_ctl"), "-D", str(standby_dir), "-l", str(base / "standby.log"), "-w"),
                *("-o", f"-p {port} -k {base}", "start"),
            ],
            user=user,
            cwd=base,
            capture_output=True,
            check=True,
        )
        yield primary.url, primary.url.replace(f":{params['port']}/", f":{port}/")
    finally:
        subprocess.run(
            [str(bin_dir / "pg_ctl"), "-D", str(standby_dir), "-m", "immediate", "stop"],
            user=user,
            cwd=base,
            capture_output=True,
        )
        provider.down(primary)


@pytest.fixture
def pg_binaries_present() -> None:
    require(pg_binaries(), NO_PG_BINARIES)


@only_with_backend("local", "it starts a server of its own and a standby of it: once, in the local session")
def test_max_lag_holds_the_next_batch_while_a_real_standby_lags(
    primary_with_standby: tuple[str, str], workspace_copy: Path, tmp_path: Path
) -> None:
    primary, standby = primary_with_standby
    ws = workspace(workspace_copy, f"rows={PER_BATCH} max-lag=1s")
    seeded(primary, ws, 20_000)
    with psycopg.connect(standby, autocommit=True) as replica, psycopg.connect(primary, autocommit=True) as conn:
        replica.execute("select pg_wal_replay_pause()")
        lagging = 0.0
        while lagging <= 1.5:  # WAL the standby has not replayed, older than max-lag
            conn.execute('insert into "batch_audit" ("rows") values (0)')
            time.sleep(0.1)
            [(lag,)] = conn.execute("select extract(epoch from replay_lag)::float8 from pg_stat_replication").fetchall()
            lagging = float(lag or 0)
        conn.execute('delete from "batch_audit"')
        stderr = tmp_path / "stderr.txt"
        with stderr.open("w") as err:
            env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
            proc = subprocess.Popen(
                [shutil.which("inv") or "inv", "migrate", "--url", primary, "--workspace", str(ws)],
                cwd=ROOT,
                env={**env, "NO_COLOR": "1"},
                stdout=subprocess.DEVNULL,
                stderr=err,
                text=True,
            )
        while "waiting before the first batch: a standby's replay lag is" not in stderr.read_text():
            assert proc.poll() is None, stderr.read_text()
            time.sleep(0.05)
        time.sleep(1.5)  # it keeps waiting: no batch while the standby is behind
        assert proc.poll() is None and progress(primary) in (None, (0, 0)) and audit(primary) == []
        replica.execute("select pg_wal_replay_resume()")
        assert proc.wait(timeout=60) == 0, stderr.read_text()
    assert times(primary) == {1: 20_000} and audit(primary) == [PER_BATCH] * 20
    assert rows(primary) == expected_rows(ws)
