"""Write load for the lock-stall benchmark: single-row writes on a big table, each write's latency recorded.

    BENCH_LOAD_URL=postgresql://… python -m benchmarks.write_load [--max-seconds S] [--max-writes N] --out FILE

The process connects (autocommit: every write is its own transaction), prints ``ready`` on stdout,
then alternates an INSERT of a new row and an UPDATE of a random existing row of ``load_items``
until it receives SIGTERM or SIGINT, or reaches --max-seconds or --max-writes. It then writes a
JSON document to --out: ``{"writes": [[start, seconds, kind], ...]}``, where ``start`` is
``time.monotonic()`` (system-wide on Linux, so the harness can line it up with its own clock).

The URL comes from the environment, never from argv (argv is visible to every user of the machine).
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

TABLE = "load_items"
ACCOUNTS = "load_accounts"
ACCOUNT_COUNT = 1000


def setup(url: str, rows: int) -> None:
    """(Re)create the tables the load writes to: ``rows`` items over 1,000 accounts, no secondary index."""
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
    stop = False

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    rng = random.Random(7)
    writes: list[tuple[float, float, str]] = []
    with psycopg.connect(url, autocommit=True, application_name="bench-write-load") as conn:
        row = conn.execute(f"SELECT max(id) FROM {TABLE}").fetchone()
        top = int(row[0]) if row and row[0] else 1
        insert = f"INSERT INTO {TABLE} (account_id, value, note) VALUES (%s, %s, 'load')"
        update = f"UPDATE {TABLE} SET value = value + 1, updated_at = now() WHERE id = %s"
        conn.execute("SELECT 1")
        print("ready", flush=True)
        began = time.monotonic()
        while not stop and len(writes) < max_writes and time.monotonic() - began < max_seconds:
            start = time.monotonic()
            if len(writes) % 2 == 0:
                conn.execute(insert, [rng.randint(1, ACCOUNT_COUNT), rng.randint(0, 9999)])
                kind = "insert"
            else:
                conn.execute(update, [rng.randint(1, top)])
                kind = "update"
            writes.append((start, time.monotonic() - start, kind))
    out.write_text(json.dumps({"writes": writes}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-seconds", type=float, default=120.0, help="stop after this long (default 120)")
    parser.add_argument("--max-writes", type=int, default=500_000, help="stop after this many writes")
    parser.add_argument("--out", type=Path, required=True, help="where to write the latencies (JSON)")
    args = parser.parse_args(argv)
    url = os.environ.get("BENCH_LOAD_URL")
    if not url:
        parser.error("set BENCH_LOAD_URL to the database URL")
    return run(url, args.max_seconds, args.max_writes, args.out)


if __name__ == "__main__":
    sys.exit(main())
