"""The lock-stall case's material: its migrations (naive and lock-safe), their workspaces, and one timed run.

A run starts the write load (benchmarks/write_load.py, a separate process), applies the migrations
while it writes, and reads back every write's latency to see how long the migration held writes up.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from benchmarks import generate_workspace
from benchmarks.harness import Bench
from benchmarks.paths import ROOT
from benchmarks.timing import BenchError, run_process

# What drizzle-kit 0.31.11 writes when the schema of `load_items` (the table write_load.setup creates) gains
# `index("load_items_value_idx").on(t.value)` and `.references(() => loadAccounts.id)` on `account_id`:
STALL_INDEX_NAME = "load_items_value_idx"
STALL_FK_NAME = "load_items_account_id_load_accounts_id_fk"
STALL_INDEX = f'CREATE INDEX "{STALL_INDEX_NAME}" ON "load_items" USING btree ("value");'
STALL_FK = (
    f'ALTER TABLE "load_items" ADD CONSTRAINT "{STALL_FK_NAME}" FOREIGN KEY ("account_id") '
    'REFERENCES "public"."load_accounts"("id") ON DELETE no action ON UPDATE no action;'
)
# both changes in one `drizzle-kit generate`: one migration, and drizzle-kit puts the foreign key first
STALL_SQL = STALL_FK + "--> statement-breakpoint\n" + STALL_INDEX
CUSTOM_HEADER = "-- Custom SQL migration file, put your code below! --"  # what `drizzle-kit generate --custom` writes
# The lock-safe path: the same two changes generated one at a time (`generate` after adding the index,
# `generate` after adding the reference, `generate --custom` for the validation), then edited by hand.
STALL_SAFE: list[tuple[str, str, str]] = [  # (tag, SQL, the hand edit)
    (
        "0000_load_items_value_idx",
        STALL_INDEX.replace("CREATE INDEX ", "CREATE INDEX CONCURRENTLY IF NOT EXISTS ", 1),
        "`CONCURRENTLY IF NOT EXISTS` added; the runner's SQL parser finds CONCURRENTLY and runs the migration "
        "outside a transaction (no marker line needed)",
    ),
    (
        "0001_load_items_account_fk",
        STALL_FK.removesuffix(";") + " NOT VALID;",
        "`NOT VALID` added: the constraint holds for new rows at once, existing rows are not scanned",
    ),
    (
        "0002_validate_load_items_account_fk",
        f'{CUSTOM_HEADER}\nALTER TABLE "load_items" VALIDATE CONSTRAINT "{STALL_FK_NAME}";',
        "the VALIDATE statement written into the empty custom migration; it runs in its own transaction",
    ),
]
STALL_SLOW = 0.100  # a write slower than this counts as stalled; also the lock-safe path's goal
STALL_LEAD_IN = 2.0  # seconds of load before the migration starts: the first one warms up, the second is "before"
STALL_LOAD_SECONDS = 120  # bounds of one write-load process (a run needs a few seconds)
STALL_LOAD_WRITES = 1_000_000


def stall_workspace(bench: Bench, name: str, migrations: list[tuple[str, str]]) -> Path:
    """A workspace laid out as drizzle-kit writes it: the migrations' SQL, the journal, and minimal snapshots."""
    ws = bench.tmp / name
    meta = ws / "drizzle" / "meta"
    meta.mkdir(parents=True)
    (ws / "drizzle.config.ts").write_text(generate_workspace.DRIZZLE_CONFIG)
    (ws / "package.json").write_text(json.dumps(generate_workspace.PACKAGE_JSON) + "\n")
    entries = []
    prev = generate_workspace.ZERO_UUID
    for idx, (tag, text) in enumerate(migrations):
        (ws / "drizzle" / f"{tag}.sql").write_text(text)
        snapshot_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"drizzle-ops-bench/{name}/{tag}"))
        snapshot = generate_workspace.snapshot(snapshot_id, prev)
        (meta / f"{tag[:4]}_snapshot.json").write_text(json.dumps(snapshot, indent=2))
        prev = snapshot_id
        when = generate_workspace.FIRST_WHEN + idx * 1000
        entries.append({"idx": idx, "version": "7", "when": when, "tag": tag, "breakpoints": True})
    (meta / "_journal.json").write_text(json.dumps({"version": "7", "dialect": "postgresql", "entries": entries}))
    if bench.has_drizzle:
        (ws / "node_modules").symlink_to(bench.node_modules.resolve(), target_is_directory=True)
    return ws


@dataclass
class StallRun:
    migration: float  # seconds, the migrating process from start to exit
    longest: float  # the slowest write that overlapped the migration
    slow: int  # writes overlapping the migration that took longer than STALL_SLOW
    failed: int  # writes overlapping the migration that the server refused
    failed_all: int  # failed writes over the whole load (before, during and after)
    p50_before: float
    p99_during: float
    rate_before: float  # writes per second before the migration started
    rate_during: float


@dataclass
class StallPath:
    """One way of applying the index and the foreign key, and its runs."""

    key: str  # "naive-drizzle", "naive-inv", "safe-inv"
    name: str
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    shown: str
    migrations: int  # bookkeeping rows it leaves
    runs: list[StallRun]

    def median(self, attr: str) -> float:
        return float(statistics.median(getattr(r, attr) for r in self.runs))

    def worst(self, attr: str) -> float:
        return float(max(getattr(r, attr) for r in self.runs))


def stall_run(bench: Bench, url: str, argv: list[str], cwd: Path, env: dict[str, str]) -> StallRun:
    out = bench.tmp / "load.json"
    out.unlink(missing_ok=True)
    load = subprocess.Popen(
        [
            bench.python,
            "-m",
            "benchmarks.write_load",
            "--max-seconds",
            str(STALL_LOAD_SECONDS),
            "--max-writes",
            str(STALL_LOAD_WRITES),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env={**bench.inv_env, "BENCH_LOAD_URL": url, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert load.stdout is not None
        if load.stdout.readline().strip() != "ready":
            raise BenchError("the write-load process did not start")
        time.sleep(STALL_LEAD_IN)  # the last second of it is the latency before the migration
        t0 = time.monotonic()
        run_process(argv, cwd=cwd, env=env, redact=bench.redact)
        t1 = time.monotonic()
        time.sleep(1.0)
    finally:
        load.terminate()
        load.wait(timeout=60)
    result = json.loads(out.read_text())
    if result.get("stopped_by") != "signal":
        raise BenchError(f"the write load stopped on its own ({result.get('stopped_by')}) before the run ended")
    writes = result["writes"]  # [start, seconds, kind, ok]
    before = [w[1] for w in writes if t0 - 1.0 <= w[0] < t0 and w[3]]
    overlapping = [w for w in writes if w[0] < t1 and w[0] + w[1] > t0]
    during = [w[1] for w in overlapping]
    if not before or not during:
        raise BenchError("the write load recorded no writes around the migration")
    during_sorted = sorted(during)
    return StallRun(
        migration=t1 - t0,
        longest=max(during),
        slow=sum(1 for d in during if d > STALL_SLOW),
        failed=sum(1 for w in overlapping if not w[3]),
        failed_all=sum(1 for w in writes if not w[3]),
        p50_before=statistics.median(before),
        p99_during=during_sorted[min(len(during_sorted) - 1, int(len(during_sorted) * 0.99))],
        rate_before=len(before) / 1.0,
        rate_during=len([w for w in writes if t0 <= w[0] < t1]) / (t1 - t0),
    )
