"""Write load for the lock-stall benchmark: single-row writes on a big table, each write's latency recorded.

    BENCH_LOAD_URL=postgresql://… python -m benchmarks.write_load [--max-seconds S] [--max-writes N] --out FILE

The process connects (autocommit: every write is its own transaction), prints ``ready`` on stdout,
then alternates an INSERT of a new row and an UPDATE of a random existing row of ``load_items``
until it receives SIGTERM or SIGINT, or reaches --max-seconds or --max-writes (both bounded: at most
600 s and 2,000,000 writes). It then writes a JSON document to --out:
``{"writes": [[start, seconds, kind, ok], ...], "errors": {sqlstate: count}, "stopped_by": why}``,
where ``start`` is ``time.monotonic()`` (system-wide on Linux, so the harness can line it up with its
own clock) and ``ok`` is false for a write the server refused (a failed write: it is counted, the
load goes on, and a broken connection is opened again once).

The URL comes from the environment, never from argv (argv is visible to every user of the machine),
and must name the server at 127.0.0.1: the load is for the benchmark's own throwaway server only.
``setup()`` creates the tables: ``load_accounts`` and ``load_items`` with N rows.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import time
from pathlib import Path
from types import FrameType

import psycopg
from psycopg.conninfo import conninfo_to_dict

TABLE = "load_items"
ACCOUNTS = "load_accounts"
ACCOUNT_COUNT = 1000
MAX_SECONDS = 600.0  # hard bounds, whatever the flags say
MAX_WRITES = 2_000_000
HOST = "127.0.0.1"


def check_local(url: str) -> None:
    """Refuse any server but the benchmark's own, on 127.0.0.1."""
    params = conninfo_to_dict(url)
    hosts = {str(params.get(k)) for k in ("host", "hostaddr") if params.get(k)}
    if hosts != {HOST}:
        raise SystemExit(f"write_load: the database must be at {HOST} (the benchmark's throwaway server)")


def setup(url: str, rows: int) -> None:
    """(Re)create the tables the load writes to: ``rows`` items over 1,000 accounts, no secondary index."""
    check_local(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}, {ACCOUNTS} CASCADE")
        conn.execute(f"CREATE TABLE {ACCOUNTS} (id bigint PRIMARY KEY, name text NOT NULL)")
        conn.execute(f"INSERT INTO {ACCOUNTS} SELECT g, 'account ' || g FROM generate_series(1, {ACCOUNT_COUNT}) AS g")
        conn.execute(
            f"CREATE TABLE {TABLE} (id bigserial PRIMARY KEY, account_id bigint NOT NULL, "
            "value integer NOT NULL, note text, updated_at timestamp with time zone DEFAULT now() NOT NULL)"
        )
        conn.execute(
            f"INSERT INTO {TABLE} (account_id, value, note) "
            f"SELECT 1 + g %% {ACCOUNT_COUNT}, g %% 9973, md5(g::text) FROM generate_series(1, %s) AS g",
            [rows],
        )
        conn.execute(f"VACUUM ANALYZE {TABLE}")
        conn.execute(f"VACUUM ANALYZE {ACCOUNTS}")


def run(url: str, max_seconds: float, max_writes: int, out: Path) -> int:
    check_local(url)
    max_seconds = min(max_seconds, MAX_SECONDS)
    max_writes = min(max_writes, MAX_WRITES)
    stop = False

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    rng = random.Random(7)
    writes: list[tuple[float, float, str, bool]] = []
    errors: dict[str, int] = {}
    stopped_by = "signal"

    def connect() -> psycopg.Connection:
        return psycopg.connect(url, autocommit=True, application_name="bench-write-load")

    conn = connect()
    try:
        row = conn.execute(f"SELECT max(id) FROM {TABLE}").fetchone()
        top = int(row[0]) if row and row[0] else 1
        insert = f"INSERT INTO {TABLE} (account_id, value, note) VALUES (%s, %s, 'load')"
        update = f"UPDATE {TABLE} SET value = value + 1, updated_at = now() WHERE id = %s"
        conn.execute("SELECT 1")
        print("ready", flush=True)
        began = time.monotonic()
        while not stop:
            if len(writes) >= max_writes:
                stopped_by = "max-writes"
                break
            if time.monotonic() - began >= max_seconds:
                stopped_by = "max-seconds"
                break
            start = time.monotonic()
            kind = "insert" if len(writes) % 2 == 0 else "update"
            ok = True
            try:
                if kind == "insert":
                    conn.execute(insert, [rng.randint(1, ACCOUNT_COUNT), rng.randint(0, 9999)])
                else:
                    conn.execute(update, [rng.randint(1, top)])
            except psycopg.Error as exc:
                ok = False
                code = exc.diag.sqlstate or type(exc).__name__
                errors[code] = errors.get(code, 0) + 1
            writes.append((start, time.monotonic() - start, kind, ok))
            if conn.broken:  # open it again once; a second failure ends the load
                conn.close()
                try:
                    conn = connect()
                except psycopg.Error:
                    stopped_by = "connection lost"
                    break
    finally:
        conn.close()
    out.write_text(json.dumps({"writes": writes, "errors": errors, "stopped_by": stopped_by}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=120.0,
        help=f"stop after this long (default 120, at most {MAX_SECONDS:.0f})",
    )
    parser.add_argument(
        "--max-writes", type=int, default=MAX_WRITES, help=f"stop after this many writes (at most {MAX_WRITES:,})"
    )
    parser.add_argument("--out", type=Path, required=True, help="where to write the latencies (JSON)")
    args = parser.parse_args(argv)
    url = os.environ.get("BENCH_LOAD_URL")
    if not url:
        parser.error("set BENCH_LOAD_URL to the database URL")
    check_local(url)
    return run(url, args.max_seconds, args.max_writes, args.out)


if __name__ == "__main__":
    sys.exit(main())
