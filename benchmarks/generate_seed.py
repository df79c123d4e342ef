"""Write a drizzle-kit 0.31 workspace of seed data: one large INSERT and many single-row ones (issue 23's set).

    python -m benchmarks.generate_seed OUTDIR [--seed-bytes N] [--rows N] [--link-node-modules PATH]

The shape of the set the issue measured (15 MB: one 13 MB seed INSERT plus 20,000 single-row INSERTs):

- ``0000_tables``: two CREATE TABLEs (a breakpoint between them), ``products`` and ``events``.
- ``0001_seed``: ONE statement, ``INSERT INTO "products" ... VALUES (...), (...), ...;`` of ``--seed-bytes``
  (13 MiB by default, the "13 MB" of the benchmark report, which counts in MiB: ~124,000 rows; names with
  accented Latin letters, as product data has).
- ``0002_events_bulk``: half the single-row INSERTs (10,000 by default), one per chunk between
  ``--> statement-breakpoint``s, as drizzle-kit writes a custom migration's statements: many chunks in one file.
- ``0003_events_01`` to ``0012_events_10``: the other half, in ten migrations of 1,000 each: many small files.

So one file holds the largest statement and another the most chunks. Minimal snapshots (the chain fields) are
written, so `inv` has no missing snapshot to warn about; drizzle-kit's `migrate` never reads them.
Deterministic: the same arguments write the same bytes.
"""

from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path

from benchmarks.generate_workspace import (
    BREAKPOINT,
    DRIZZLE_CONFIG,
    FIRST_WHEN,
    PACKAGE_JSON,
    ZERO_UUID,
    snapshot,
)

SEED_BYTES = 13 * 1024 * 1024
ROWS = 20_000
SMALL_MIGRATIONS = 10  # the second half of the single-row INSERTs, in this many migrations
NAMES = ["café", "Müller", "niño", "crème", "Ærø", "señal", "Zoë", "garçon", "smörgås", "Åland"]

TABLES = [
    'CREATE TABLE "products" (\n\t"id" integer PRIMARY KEY NOT NULL,\n\t"name" text NOT NULL,\n'
    '\t"description" text,\n\t"price" numeric(10, 2) NOT NULL,\n\t"stock" integer DEFAULT 0 NOT NULL\n);\n',
    'CREATE TABLE "events" (\n\t"id" integer PRIMARY KEY NOT NULL,\n\t"kind" text NOT NULL,\n'
    '\t"product_id" integer,\n\t"detail" text\n);\n',
]


def seed_insert(target_bytes: int) -> str:
    """One INSERT of about ``target_bytes`` bytes in UTF-8 (never less)."""
    head = 'INSERT INTO "products" ("id", "name", "description", "price", "stock") VALUES\n'
    rows, size, n = [], len(head.encode()) + 2, 0
    while size < target_bytes:
        n += 1
        name = NAMES[n % len(NAMES)]
        description = f"seeded product {n}: {name}, size {n % 7}, colour {n % 11}"
        row = f"({n}, '{name} {n}', '{description}', {n % 997}.{n % 100:02d}, {n % 50})"
        rows.append(row)
        size += len(row.encode()) + 2
    return head + ",\n".join(rows) + ";\n"


def event_insert(n: int) -> str:
    return f'INSERT INTO "events" ("id", "kind", "product_id") VALUES ({n}, \'kind-{n % 7}\', {n % 1000 + 1});'


def migrations(seed_bytes: int, rows: int) -> list[tuple[str, str]]:
    """(tag, SQL) of every migration, in order."""
    join = f"\n{BREAKPOINT}\n".join
    bulk = rows // 2
    out = [("0000_tables", f"{BREAKPOINT}\n".join(TABLES)), ("0001_seed", seed_insert(seed_bytes))]
    out.append(("0002_events_bulk", join(event_insert(n) for n in range(1, bulk + 1)) + "\n"))
    rest = list(range(bulk + 1, rows + 1))
    per = -(-len(rest) // SMALL_MIGRATIONS)  # ceiling
    for k in range(SMALL_MIGRATIONS):
        part = rest[k * per : (k + 1) * per]
        if part:
            out.append((f"{len(out):04d}_events_{k + 1:02d}", join(event_insert(n) for n in part) + "\n"))
    return out


def generate(
    out_dir: Path, *, seed_bytes: int = SEED_BYTES, rows: int = ROWS, node_modules: Path | None = None
) -> Path:
    """Write the workspace; returns OUTDIR. An existing drizzle/ folder in OUTDIR is replaced."""
    migrations_dir = out_dir / "drizzle"
    meta = migrations_dir / "meta"
    meta.mkdir(parents=True, exist_ok=True)
    for old in migrations_dir.glob("*.sql"):
        old.unlink()
    for old in meta.glob("*.json"):
        old.unlink()
    (out_dir / "drizzle.config.ts").write_text(DRIZZLE_CONFIG)
    (out_dir / "package.json").write_text(json.dumps(PACKAGE_JSON, indent=2) + "\n")
    entries, prev_id = [], ZERO_UUID
    for idx, (tag, sql) in enumerate(migrations(seed_bytes, rows)):
        (migrations_dir / f"{tag}.sql").write_bytes(sql.encode())
        snapshot_id = str(uuid.UUID(int=idx + 1, version=4))
        (meta / f"{idx:04d}_snapshot.json").write_text(json.dumps(snapshot(snapshot_id, prev_id), indent=2))
        prev_id = snapshot_id
        entries.append({"idx": idx, "version": "7", "when": FIRST_WHEN + idx * 60_000, "tag": tag, "breakpoints": True})
    journal = {"version": "7", "dialect": "postgresql", "entries": entries}
    (meta / "_journal.json").write_text(json.dumps(journal, indent=2))
    if node_modules is not None:
        link = out_dir / "node_modules"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(node_modules.resolve(), target_is_directory=True)
    return out_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="folder to write the workspace into")
    parser.add_argument(
        "--seed-bytes", type=int, default=SEED_BYTES, help=f"size of the seed INSERT (default {SEED_BYTES:,})"
    )
    parser.add_argument("--rows", type=int, default=ROWS, help=f"single-row INSERTs in all (default {ROWS:,})")
    parser.add_argument(
        "--link-node-modules", type=Path, default=None, help="symlink this node_modules folder into OUTDIR"
    )
    args = parser.parse_args(argv)
    if args.seed_bytes < 1 or args.rows < 2:
        parser.error("--seed-bytes must be at least 1 and --rows at least 2")
    generate(args.out_dir, seed_bytes=args.seed_bytes, rows=args.rows, node_modules=args.link_node_modules)
    print(f"wrote the seed workspace to {args.out_dir / 'drizzle'}")


if __name__ == "__main__":
    main()
