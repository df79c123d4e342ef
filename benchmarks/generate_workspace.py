"""Write a drizzle-kit 0.31 workspace of N realistic PostgreSQL migrations, for the scale benchmark.

    python -m benchmarks.generate_workspace N OUTDIR [--snapshots minimal|full] [--base-tables K]
        [--link-node-modules PATH] [--seed S]

OUTDIR receives drizzle.config.ts, package.json, drizzle/NNNN_<name>.sql (statements joined by
``--> statement-breakpoint`` the way drizzle-kit writes them), drizzle/meta/_journal.json (strictly
increasing ``when``) and drizzle/meta/NNNN_snapshot.json, whose id/prevId form a valid chain from
the all-zero UUID. The migrations mix what real schemas accumulate: new tables with foreign keys and
indexes, added columns, enums and enum values, unique and check constraints, defaults, NOT NULL,
dropped indexes.

Snapshots: ``minimal`` (the default) writes the chain fields and empty collections, a few hundred
bytes each. ``full`` writes what drizzle-kit 0.31 writes: the whole schema as it stands after the
migration (every table with its columns, indexes, foreign keys, unique and check constraints, every
enum with its values), indented the way drizzle-kit indents, so each snapshot is larger than the one
before, as in a real history (tens of KB after a first migration of ~12 tables, hundreds of KB
after a few hundred migrations). ``--base-tables K`` makes migration 0000 create K tables, as a
real project's first migration creates its initial schema (default 1).

Generation is deterministic: the first k migrations of a workspace of N > k are the k migrations of
a workspace of k (for the same seed and base tables), so 10, 100 and 1,000 grow the same schema; the
snapshot mode changes no SQL. ``--link-node-modules`` symlinks an installed node_modules (the
example workspace's) into OUTDIR so drizzle-kit can run there.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

BREAKPOINT = "--> statement-breakpoint"
ZERO_UUID = "00000000-0000-0000-0000-000000000000"
FIRST_WHEN = 1_767_225_600_000  # 2026-01-01T00:00:00Z, epoch ms
DEFAULT_SEED = 2007

DRIZZLE_CONFIG = """\
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./src/schema/index.ts",
  out: "./drizzle",
  dbCredentials: {
    url: process.env.DATABASE_URL!,
  },
  migrations: {
    table: "__drizzle_migrations",
    schema: "drizzle",
  },
  strict: true,
  verbose: true,
});
"""

PACKAGE_JSON = {"name": "bench-generated-workspace", "version": "0.0.0", "private": True, "type": "module"}

NOUNS = [
    "users", "sets", "parts", "themes", "reviews", "orders", "carts", "tags", "images", "notes",
    "wishlists", "builds", "colors", "shipments", "invoices", "comments", "follows", "badges",
]  # fmt: skip
COLUMN_TYPES = [
    ("text", "'x'"),
    ("integer", "0"),
    ("boolean", "false"),
    ("timestamp with time zone", "now()"),
    ("numeric(10, 2)", "0"),
    ("jsonb", "'{}'::jsonb"),
    ("varchar(255)", "''"),
]


@dataclass
class Table:
    name: str
    columns: list[tuple[str, str]] = field(default_factory=list)  # (name, type)
    indexes: list[str] = field(default_factory=list)
    # what a drizzle-kit snapshot holds besides; kept apart from the lists above, which the random choices read
    column_specs: dict[str, dict[str, object]] = field(default_factory=dict)
    index_columns: dict[str, str] = field(default_factory=dict)
    foreign_keys: dict[str, dict[str, object]] = field(default_factory=dict)
    uniques: dict[str, dict[str, object]] = field(default_factory=dict)
    checks: dict[str, dict[str, object]] = field(default_factory=dict)
    cached: str | None = None  # the table's snapshot JSON; None after a change

    def column(
        self, name: str, col_type: str, *, not_null: bool = False, default: str | None = None, pk: bool = False
    ) -> None:
        self.columns.append((name, col_type))
        spec: dict[str, object] = {"name": name, "type": col_type, "primaryKey": pk, "notNull": not_null}
        if default is not None:
            spec["default"] = default
        self.column_specs[name] = spec
        self.cached = None

    def index(self, name: str, column: str) -> None:
        self.indexes.append(name)
        self.index_columns[name] = column
        self.cached = None


@dataclass
class Enum:
    name: str
    values: list[str]


@dataclass
class Schema:
    """What the generated migrations have built so far, so later ones refer to real objects."""

    tables: list[Table] = field(default_factory=list)
    enums: list[Enum] = field(default_factory=list)
    serial: int = 0

    def next(self) -> int:
        self.serial += 1
        return self.serial


def _create_table(rng: random.Random, schema: Schema, enum: Enum | None = None) -> tuple[str, list[str]]:
    n = schema.next()
    table = Table(f"{rng.choice(NOUNS)}_{n}")
    lines = ['\t"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL']
    table.column("id", "uuid", not_null=True, default="gen_random_uuid()", pk=True)
    parent = rng.choice(schema.tables) if schema.tables else None
    if parent:
        lines.append(f'\t"{parent.name}_id" uuid NOT NULL')
        table.column(f"{parent.name}_id", "uuid", not_null=True)
    for k in range(rng.randint(2, 5)):
        col_type, default = rng.choice(COLUMN_TYPES)
        name = f"c{k}_{col_type.split('(')[0].split()[0]}"
        not_null = rng.random() < 0.5
        line = f'\t"{name}" {col_type}'
        if not_null:
            line += f" DEFAULT {default} NOT NULL"
        lines.append(line)
        table.column(name, col_type, not_null=not_null, default=default if not_null else None)
    if enum:
        lines.append(f'\t"state" "{enum.name}" DEFAULT \'{enum.values[0]}\' NOT NULL')
        table.column("state", enum.name, not_null=True, default=f"'{enum.values[0]}'")
        table.column_specs["state"]["typeSchema"] = "public"
    lines.append('\t"created_at" timestamp with time zone DEFAULT now() NOT NULL')
    lines.append('\t"updated_at" timestamp with time zone DEFAULT now() NOT NULL')
    table.column("created_at", "timestamptz", not_null=True, default="now()")
    table.column("updated_at", "timestamptz", not_null=True, default="now()")
    statements = [f'CREATE TABLE "{table.name}" (\n' + ",\n".join(lines) + "\n);\n"]
    if parent:
        fk = f"{table.name}_{parent.name}_id_{parent.name}_id_fk"
        table.foreign_keys[fk] = {
            "name": fk,
            "tableFrom": table.name,
            "tableTo": parent.name,
            "columnsFrom": [f"{parent.name}_id"],
            "columnsTo": ["id"],
            "onDelete": "cascade",
            "onUpdate": "no action",
        }
        statements.append(
            f'ALTER TABLE "{table.name}" ADD CONSTRAINT "{fk}" FOREIGN KEY ("{parent.name}_id") '
            f'REFERENCES "public"."{parent.name}"("id") ON DELETE cascade ON UPDATE no action;'
        )
        index = f"{table.name}_{parent.name}_id_idx"
        statements.append(f'CREATE INDEX "{index}" ON "{table.name}" USING btree ("{parent.name}_id");')
        table.index(index, f"{parent.name}_id")
    schema.tables.append(table)
    return f"create_{table.name}", statements


def _create_enum(rng: random.Random, schema: Schema) -> tuple[str, list[str]]:
    n = schema.next()
    enum = Enum(f"status_{n}", ["draft", "active", "archived"][: rng.randint(2, 3)])
    schema.enums.append(enum)
    values = ", ".join(f"'{v}'" for v in enum.values)
    first = f'CREATE TYPE "public"."{enum.name}" AS ENUM({values});'
    if schema.tables and rng.random() < 0.5:
        table = rng.choice(schema.tables)
        table.column(enum.name, enum.name, not_null=True, default=f"'{enum.values[0]}'")
        table.column_specs[enum.name]["typeSchema"] = "public"
        return f"{enum.name}_on_{table.name}", [
            first,
            f'ALTER TABLE "{table.name}" ADD COLUMN "{enum.name}" "{enum.name}" DEFAULT \'{enum.values[0]}\' NOT NULL;',
        ]
    name, statements = _create_table(rng, schema, enum)
    return f"{enum.name}_{name}", [first, *statements]


def _add_columns(rng: random.Random, schema: Schema) -> tuple[str, list[str]]:
    table = rng.choice(schema.tables)
    statements = []
    for _ in range(rng.randint(1, 3)):
        col_type, default = rng.choice(COLUMN_TYPES)
        name = f"extra_{schema.next()}"
        not_null = rng.random() < 0.4
        table.column(name, col_type, not_null=not_null, default=default if not_null else None)
        suffix = f" DEFAULT {default} NOT NULL" if not_null else ""
        statements.append(f'ALTER TABLE "{table.name}" ADD COLUMN "{name}" {col_type}{suffix};')
    return f"columns_on_{table.name}", statements


def _create_index(rng: random.Random, schema: Schema) -> tuple[str, list[str]]:
    table = rng.choice(schema.tables)
    column = rng.choice([c for c, t in table.columns if t != "jsonb"])
    index = f"{table.name}_{column}_{schema.next()}_idx"
    table.index(index, column)
    return f"index_{table.name}", [f'CREATE INDEX "{index}" ON "{table.name}" USING btree ("{column}");']


def _add_enum_value(rng: random.Random, schema: Schema) -> tuple[str, list[str]]:
    enum = rng.choice(schema.enums)
    value = f"v{schema.next()}"
    enum.values.append(value)
    # like drizzle-kit: ADD VALUE, and the new value is not used in the same migration
    return f"{enum.name}_add_{value}", [f'ALTER TYPE "public"."{enum.name}" ADD VALUE \'{value}\';']


def _constraints(rng: random.Random, schema: Schema) -> tuple[str, list[str]]:
    table = rng.choice(schema.tables)
    n = schema.next()
    statements = []
    integer_columns = [c for c, t in table.columns if t == "integer"]
    if integer_columns and rng.random() < 0.5:
        column = rng.choice(integer_columns)
        check = f"{table.name}_{column}_check_{n}"
        table.checks[check] = {"name": check, "value": f'"{column}" >= 0'}
        statements.append(
            f'ALTER TABLE "{table.name}" ADD CONSTRAINT "{table.name}_{column}_check_{n}" CHECK ("{column}" >= 0);'
        )
    column = f"code_{n}"
    table.column(column, "text")
    unique = f"{table.name}_{column}_unique"
    table.uniques[unique] = {"name": unique, "nullsNotDistinct": False, "columns": [column]}
    statements.append(f'ALTER TABLE "{table.name}" ADD COLUMN "{column}" text;')
    statements.append(f'ALTER TABLE "{table.name}" ADD CONSTRAINT "{table.name}_{column}_unique" UNIQUE("{column}");')
    return f"constraints_on_{table.name}", statements


def _alter_columns(rng: random.Random, schema: Schema) -> tuple[str, list[str]]:
    table = rng.choice(schema.tables)
    statements = []
    candidates = [(c, t) for c, t in table.columns if t in ("text", "integer", "boolean")]
    if candidates:
        column, col_type = rng.choice(candidates)
        default = {"text": "''", "integer": "0", "boolean": "false"}[col_type]
        table.column_specs[column]["default"] = default
        table.cached = None
        statements.append(f'ALTER TABLE "{table.name}" ALTER COLUMN "{column}" SET DEFAULT {default};')
    statements.append(f"COMMENT ON TABLE \"{table.name}\" IS 'revision {schema.next()}';")
    return f"alter_{table.name}", statements


def _drop_index(rng: random.Random, schema: Schema) -> tuple[str, list[str]]:
    tables = [t for t in schema.tables if t.indexes]
    if not tables:
        return _create_index(rng, schema)
    table = rng.choice(tables)
    index = table.indexes.pop(rng.randrange(len(table.indexes)))
    table.index_columns.pop(index, None)
    table.cached = None
    return f"drop_{index}", [f'DROP INDEX "{index}";']


KINDS = [
    (_create_table, 30),
    (_add_columns, 20),
    (_create_index, 15),
    (_create_enum, 10),
    (_add_enum_value, 6),
    (_constraints, 8),
    (_alter_columns, 6),
    (_drop_index, 5),
]


def migration_statements(rng: random.Random, schema: Schema, idx: int, base_tables: int = 1) -> tuple[str, list[str]]:
    if idx == 0:
        if base_tables <= 1:
            return _create_table(rng, schema)
        statements: list[str] = []
        for _ in range(base_tables):
            statements += _create_table(rng, schema)[1]
        return "initial_schema", statements
    kinds = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]
    kind = rng.choices(kinds, weights)[0]
    if kind is _add_enum_value and not schema.enums:
        kind = _create_enum
    return kind(rng, schema)


def snapshot(snapshot_id: str, prev_id: str) -> dict[str, object]:
    return {
        "id": snapshot_id,
        "prevId": prev_id,
        "version": "7",
        "dialect": "postgresql",
        "tables": {},
        "enums": {},
        "schemas": {},
        "sequences": {},
        "roles": {},
        "policies": {},
        "views": {},
        "_meta": {"columns": {}, "schemas": {}, "tables": {}},
    }


def _table_json(table: Table) -> dict[str, object]:
    indexes = {
        name: {
            "name": name,
            "columns": [{"expression": column, "isExpression": False, "asc": True, "nulls": "last"}],
            "isUnique": False,
            "concurrently": False,
            "method": "btree",
            "with": {},
        }
        for name, column in table.index_columns.items()
    }
    return {
        "name": table.name,
        "schema": "",
        "columns": table.column_specs,
        "indexes": indexes,
        "foreignKeys": table.foreign_keys,
        "compositePrimaryKeys": {},
        "uniqueConstraints": table.uniques,
        "policies": {},
        "checkConstraints": table.checks,
        "isRLSEnabled": False,
    }


def _members(pairs: list[tuple[str, str]]) -> str:
    """The members of an object two levels deep in a drizzle-kit snapshot (2-space indent), from (key, JSON) pairs."""
    if not pairs:
        return "{}"
    return "{\n" + ",\n".join(f"    {json.dumps(key)}: {text}" for key, text in pairs) + "\n  }"


def full_snapshot(snapshot_id: str, prev_id: str, schema: Schema) -> str:
    """The snapshot drizzle-kit 0.31 writes after a migration: the whole schema, ``JSON.stringify(…, null, 2)``.
    Each table's JSON is cached until the table changes, so a long history is written in linear time."""
    tables = []
    for table in schema.tables:
        if table.cached is None:
            table.cached = json.dumps(_table_json(table), indent=2).replace("\n", "\n    ")
        tables.append((f"public.{table.name}", table.cached))
    enums = [
        (
            f"public.{enum.name}",
            json.dumps({"name": enum.name, "schema": "public", "values": enum.values}, indent=2).replace(
                "\n", "\n    "
            ),
        )
        for enum in schema.enums
    ]
    head = json.dumps({"id": snapshot_id, "prevId": prev_id, "version": "7", "dialect": "postgresql"}, indent=2)
    rest = (
        f'  "tables": {_members(tables)},\n  "enums": {_members(enums)},\n  "schemas": {{}},\n  "sequences": {{}},\n'
        '  "roles": {},\n  "policies": {},\n  "views": {},\n'
        '  "_meta": {\n    "columns": {},\n    "schemas": {},\n    "tables": {}\n  }\n}'
    )
    return head[: -len("\n}")] + ",\n" + rest


SNAPSHOT_MODES = ("minimal", "full")


def generate(
    count: int,
    out_dir: Path,
    *,
    seed: int = DEFAULT_SEED,
    node_modules: Path | None = None,
    snapshots: str = "minimal",
    base_tables: int = 1,
) -> Path:
    """Write the workspace; returns OUTDIR. An existing drizzle/ folder in OUTDIR is replaced."""
    if snapshots not in SNAPSHOT_MODES:
        raise ValueError(f"snapshots must be one of {', '.join(SNAPSHOT_MODES)}, not {snapshots!r}")
    rng = random.Random(seed)
    ids = random.Random(seed + 1)
    schema = Schema()
    out_dir.mkdir(parents=True, exist_ok=True)
    migrations_dir = out_dir / "drizzle"
    if migrations_dir.exists():
        shutil.rmtree(migrations_dir)
    meta = migrations_dir / "meta"
    meta.mkdir(parents=True)
    (out_dir / "drizzle.config.ts").write_text(DRIZZLE_CONFIG)
    (out_dir / "package.json").write_text(json.dumps(PACKAGE_JSON, indent=2) + "\n")
    entries = []
    prev_id = ZERO_UUID
    when = FIRST_WHEN
    for idx in range(count):
        name, statements = migration_statements(rng, schema, idx, base_tables)
        tag = f"{idx:04d}_{name}"
        (migrations_dir / f"{tag}.sql").write_text(f"{BREAKPOINT}\n".join(statements))
        snapshot_id = str(uuid.UUID(int=ids.getrandbits(128), version=4))
        if snapshots == "full":
            text = full_snapshot(snapshot_id, prev_id, schema)
        else:
            text = json.dumps(snapshot(snapshot_id, prev_id), indent=2)
        (meta / f"{idx:04d}_snapshot.json").write_text(text)
        prev_id = snapshot_id
        when += rng.randint(60_000, 86_400_000)  # a minute to a day apart, strictly increasing
        entries.append({"idx": idx, "version": "7", "when": when, "tag": tag, "breakpoints": True})
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
    parser.add_argument("count", type=int, help="number of migrations")
    parser.add_argument("out_dir", type=Path, help="folder to write the workspace into")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument(
        "--snapshots",
        choices=SNAPSHOT_MODES,
        default="minimal",
        help="minimal: chain fields only; full: the whole schema, as drizzle-kit writes it (default minimal)",
    )
    parser.add_argument(
        "--base-tables", type=int, default=1, help="tables created by migration 0000, the initial schema (default 1)"
    )
    parser.add_argument(
        "--link-node-modules", type=Path, default=None, help="symlink this node_modules folder into OUTDIR"
    )
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("count must be at least 1")
    if args.base_tables < 1:
        parser.error("--base-tables must be at least 1")
    generate(
        args.count,
        args.out_dir,
        seed=args.seed,
        node_modules=args.link_node_modules,
        snapshots=args.snapshots,
        base_tables=args.base_tables,
    )
    print(f"wrote {args.count} migrations to {args.out_dir / 'drizzle'}")


if __name__ == "__main__":
    main()
