"""Acceptance on a workspace the project has never seen: migrate, roll back to the first tag, migrate again.

The workspace below is HAND-WRITTEN for this test only: its SQL, journal and
snapshots imitate what drizzle-kit 0.31 generate writes (the SQL and snapshot
shapes were copied from a real drizzle-kit 0.31.11 run on a similar schema).
It uses what the example does not: a second schema, an identity column, varchar,
timestamp(3), an enum array, desc/nulls-first and expression indexes, a partial
index on an enum, a bigserial, a dropped column, foreign-key update actions and
a custom bookkeeping table. Its down files live in a temporary rollback folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from drizzle_ops.engine import runner
from drizzle_ops.engine.states import PlanOptions
from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.verify.conformance import check_conformance
from tests.helpers import rows, run_inv
from tests.integration.test_roundtrip import catalog

BOOKKEEPING = ("ops", "history")
BP = "--> statement-breakpoint"
PARTIAL_INDEX = (
    'CREATE INDEX "items_kind_partial_idx" ON "shop"."items" USING btree ("kind") '
    'WHERE "shop"."items"."kind" in (\'a\', \'b\');'
)

MIGRATIONS = {
    "0000_init": f"""CREATE SCHEMA "shop";
{BP}
CREATE TYPE "public"."colour" AS ENUM('red', 'green');{BP}
CREATE TYPE "shop"."kind" AS ENUM('a', 'b', 'c');{BP}
CREATE TABLE "shop"."items" (
\t"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "shop"."items_id_seq" INCREMENT BY 1 \
MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
\t"code" varchar(32) NOT NULL,
\t"label" text DEFAULT 'none',
\t"kind" "shop"."kind" DEFAULT 'b' NOT NULL,
\t"colours" "colour"[] DEFAULT '{{}}',
\t"price" numeric(12, 3) DEFAULT '1.5',
\t"seen" timestamp (3) DEFAULT now() + interval '1 day',
\t"flag" boolean DEFAULT true,
\t"neg" integer DEFAULT -1,
\tCONSTRAINT "items_label_price_unique" UNIQUE("label","price"),
\tCONSTRAINT "items_sane_chk" CHECK ("shop"."items"."neg" < 10 and "shop"."items"."code" <> '')
);
{BP}
CREATE UNIQUE INDEX "items_code_idx" ON "shop"."items" USING btree ("code" DESC NULLS FIRST);{BP}
{PARTIAL_INDEX}""",
    "0001_notes": f"""CREATE TABLE "notes" (
\t"id" bigserial PRIMARY KEY NOT NULL,
\t"item_id" integer,
\t"body" text NOT NULL,
\t"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
{BP}
ALTER TABLE "notes" ADD CONSTRAINT "notes_item_id_items_id_fk" FOREIGN KEY ("item_id") REFERENCES "shop"."items"("id") \
ON DELETE set null ON UPDATE cascade;{BP}
CREATE INDEX "notes_body_lower_idx" ON "notes" USING btree (lower("body"));""",
    "0002_item_changes": f"""ALTER TYPE "shop"."kind" ADD VALUE 'd';{BP}
ALTER TABLE "notes" ADD COLUMN "pinned" boolean DEFAULT false NOT NULL;{BP}
ALTER TABLE "shop"."items" ADD COLUMN "weight" real;{BP}
ALTER TABLE "shop"."items" DROP COLUMN "flag";""",
}

DOWN = {
    "0000_init": f"""-- Undo 0000_init. DATA LOSS: every item is deleted.
DROP TABLE "shop"."items";{BP}
DROP TYPE "shop"."kind";{BP}
DROP TYPE "public"."colour";{BP}
DROP SCHEMA "shop";
""",
    "0001_notes": """-- Undo 0001_notes. DATA LOSS: every note is deleted.
DROP TABLE "notes";
""",
    "0002_item_changes": f"""-- Undo 0002_item_changes.
-- DATA LOSS: notes.pinned and shop.items.weight are dropped with their values.
-- shop.items.flag comes back EMPTY: it is added again with its default (true) for every row;
-- the values it held before 0002 are gone.
-- Enum shop.kind loses 'd' (a value cannot be dropped): rows with 'd' become 'c', the type is recreated
-- and the column converted. The partial index compares kind with enum constants, so it is dropped
-- first and built again after.
ALTER TABLE "shop"."items" ADD COLUMN "flag" boolean DEFAULT true;{BP}
ALTER TABLE "shop"."items" DROP COLUMN "weight";{BP}
ALTER TABLE "notes" DROP COLUMN "pinned";{BP}
UPDATE "shop"."items" SET "kind" = 'c' WHERE "kind" = 'd';{BP}
DROP INDEX "shop"."items_kind_partial_idx";{BP}
ALTER TYPE "shop"."kind" RENAME TO "kind_before_rollback";{BP}
CREATE TYPE "shop"."kind" AS ENUM('a', 'b', 'c');{BP}
ALTER TABLE "shop"."items" ALTER COLUMN "kind" DROP DEFAULT;{BP}
ALTER TABLE "shop"."items" ALTER COLUMN "kind" SET DATA TYPE "shop"."kind" USING "kind"::text::"shop"."kind";{BP}
ALTER TABLE "shop"."items" ALTER COLUMN "kind" SET DEFAULT 'b';{BP}
{PARTIAL_INDEX}{BP}
DROP TYPE "shop"."kind_before_rollback";
""",
}


# -- snapshot builders, in drizzle-kit 0.31's v7 shape ------------------------------------------------


def col(name: str, type_: str, *, pk: bool = False, not_null: bool = False, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "primaryKey": pk, "notNull": not_null or pk, **extra}


def idx(name: str, *columns: dict[str, Any], unique: bool = False, where: str | None = None) -> dict[str, Any]:
    index = {"name": name, "columns": list(columns), "isUnique": unique, "concurrently": False, "method": "btree"}
    index["with"] = {}
    if where:
        index["where"] = where
    return index


def key(expression: str, *, is_expression: bool = False, asc: bool = True, nulls: str = "last") -> dict[str, Any]:
    return {"expression": expression, "isExpression": is_expression, "asc": asc, "nulls": nulls}


def table(name: str, schema: str, columns: list[dict[str, Any]], **parts: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "schema": schema, "columns": {c["name"]: c for c in columns}}
    for part in ("indexes", "foreignKeys", "compositePrimaryKeys", "uniqueConstraints", "policies", "checkConstraints"):
        body[part] = parts.get(part, {})
    body["isRLSEnabled"] = False
    return body


IDENTITY = {
    "type": "always",
    "name": "items_id_seq",
    "schema": "shop",
    "increment": "1",
    "startWith": "1",
    "minValue": "1",
    "maxValue": "2147483647",
    "cache": "1",
    "cycle": False,
}


def items(with_0002: bool) -> dict[str, Any]:
    columns = [
        col("id", "integer", pk=True, identity=IDENTITY),
        col("code", "varchar(32)", not_null=True),
        col("label", "text", default="'none'"),
        col("kind", "kind", typeSchema="shop", not_null=True, default="'b'"),
        col("colours", "colour[]", typeSchema="public", default="'{}'"),
        col("price", "numeric(12, 3)", default="'1.5'"),
        col("seen", "timestamp (3)", default="now() + interval '1 day'"),
        col("neg", "integer", default=-1),
    ]
    columns += [col("weight", "real")] if with_0002 else [col("flag", "boolean", default=True)]
    return table(
        "items",
        "shop",
        columns,
        indexes={
            "items_code_idx": idx("items_code_idx", key("code", asc=False, nulls="first"), unique=True),
            "items_kind_partial_idx": idx(
                "items_kind_partial_idx", key("kind"), where='"shop"."items"."kind" in (\'a\', \'b\')'
            ),
        },
        uniqueConstraints={
            "items_label_price_unique": {
                "name": "items_label_price_unique",
                "nullsNotDistinct": False,
                "columns": ["label", "price"],
            }
        },
        checkConstraints={
            "items_sane_chk": {
                "name": "items_sane_chk",
                "value": '"shop"."items"."neg" < 10 and "shop"."items"."code" <> \'\'',
            }
        },
    )


def notes(with_0002: bool) -> dict[str, Any]:
    columns = [
        col("id", "bigserial", pk=True),
        col("item_id", "integer"),
        col("body", "text", not_null=True),
        col("created_at", "timestamp with time zone", not_null=True, default="now()"),
    ]
    if with_0002:
        columns.append(col("pinned", "boolean", not_null=True, default=False))
    fk = {
        "name": "notes_item_id_items_id_fk",
        "tableFrom": "notes",
        "tableTo": "items",
        "schemaTo": "shop",
        "columnsFrom": ["item_id"],
        "columnsTo": ["id"],
        "onDelete": "set null",
        "onUpdate": "cascade",
    }
    return table(
        "notes",
        "",
        columns,
        indexes={"notes_body_lower_idx": idx("notes_body_lower_idx", key('lower("body")', is_expression=True))},
        foreignKeys={fk["name"]: fk},
    )


def snapshot(n: int) -> dict[str, Any]:
    ids = ["00000000-0000-0000-0000-000000000000", *(f"{k + 1:08d}-1111-4111-8111-111111111111" for k in range(3))]
    tables = {"shop.items": items(with_0002=n >= 2)}
    if n >= 1:
        tables["public.notes"] = notes(with_0002=n >= 2)
    kinds = ["a", "b", "c", "d"] if n >= 2 else ["a", "b", "c"]
    return {
        "id": ids[n + 1],
        "prevId": ids[n],
        "version": "7",
        "dialect": "postgresql",
        "tables": tables,
        "enums": {
            "public.colour": {"name": "colour", "schema": "public", "values": ["red", "green"]},
            "shop.kind": {"name": "kind", "schema": "shop", "values": kinds},
        },
        "schemas": {"shop": "shop"},
        "sequences": {},
        "roles": {},
        "policies": {},
        "views": {},
        "_meta": {"columns": {}, "schemas": {}, "tables": {}},
    }


@pytest.fixture
def unseen(tmp_path: Path) -> tuple[Path, Path]:
    """(workspace, rollback folder) of the hand-written workspace."""
    ws = tmp_path / "inventory-db"
    meta = ws / "migrations" / "meta"
    meta.mkdir(parents=True)
    (ws / "drizzle.config.ts").write_text(
        'import { defineConfig } from "drizzle-kit";\n\n'
        "export default defineConfig({\n"
        '  dialect: "postgresql",\n'
        '  schema: "./src/schema.ts",\n'
        '  out: "./migrations",\n'
        "  dbCredentials: { url: process.env.DATABASE_URL! },\n"
        '  migrations: { table: "history", schema: "ops" },\n'
        "});\n"
    )
    entries = []
    for n, (tag, sql) in enumerate(MIGRATIONS.items()):
        (ws / "migrations" / f"{tag}.sql").write_text(sql)
        (meta / f"{n:04d}_snapshot.json").write_text(json.dumps(snapshot(n), indent=2))
        entries.append({"idx": n, "version": "7", "when": 1700000000000 + n * 1000, "tag": tag, "breakpoints": True})
    (meta / "_journal.json").write_text(json.dumps({"version": "7", "dialect": "postgresql", "entries": entries}))
    rollback_dir = tmp_path / "down"
    rollback_dir.mkdir()
    for tag, sql in DOWN.items():
        (rollback_dir / f"{tag}.down.sql").write_text(sql)
    return ws, rollback_dir


def _conformance(url: str, ws: Path, k: int) -> list[str]:
    workspace = load_workspace(ws)
    with psycopg.connect(url, autocommit=True) as conn:
        return [str(d) for d in check_conformance(conn, workspace, workspace.migrations[k]).differences]


def test_migrate_rollback_to_first_migrate_equals_a_fresh_migrate(
    unseen: tuple[Path, Path], empty_db: str, databases: Any, tmp_path: Path
) -> None:
    ws, down = unseen
    no_checks = tmp_path / "no-checks"  # this workspace has no checks of its own; conformance is built in
    flags = ["--url", empty_db, "--workspace", str(ws)]
    assert run_inv("migrate", *flags).returncode == 0
    verify = run_inv("verify", *flags, "--checks-dir", str(no_checks))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "matches the snapshot of 0002_item_changes" in verify.stdout

    with psycopg.connect(empty_db, autocommit=True) as conn:  # rows that use the enum value 0002 added
        conn.execute("insert into shop.items (code, label, kind) values ('x1', 'one', 'd'), ('x2', 'two', 'a')")
    back = run_inv("rollback", *flags, "--rollback-dir", str(down), "--to", "0000_init", "--yes")
    assert back.returncode == 0, back.stderr
    first = load_workspace(ws).migrations[0]
    assert rows(empty_db, *BOOKKEEPING) == [(first.hash, first.when)]
    assert _conformance(empty_db, ws, 0) == []
    with psycopg.connect(empty_db) as conn:
        kinds = conn.execute("select code, kind::text, flag from shop.items order by code").fetchall()
    assert kinds == [("x1", "c", True), ("x2", "a", True)]  # 'd' became 'c'; flag came back with its default

    again = run_inv("migrate", *flags)
    assert again.returncode == 0, again.stderr
    fresh = databases.create()
    with psycopg.connect(fresh, autocommit=True) as conn:
        runner.migrate(conn, load_workspace(ws))
    assert catalog(empty_db, skip_schema="ops") == catalog(fresh, skip_schema="ops")
    assert rows(empty_db, *BOOKKEEPING) == rows(fresh, *BOOKKEEPING)
    assert len(rows(fresh, *BOOKKEEPING)) == 3


def test_each_snapshot_conforms_after_a_clean_migrate(unseen: tuple[Path, Path], empty_db: str) -> None:
    ws, _ = unseen
    workspace = load_workspace(ws)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        for k, migration in enumerate(workspace.migrations):
            runner.migrate(conn, workspace, PlanOptions(to=migration.tag))
            assert _conformance(empty_db, ws, k) == []


@pytest.mark.parametrize(
    ("change", "difference"),
    [
        (
            "drop index shop.items_code_idx; create unique index items_code_idx on shop.items (code)",
            "index shop.items_code_idx: columns (code), snapshot says (code desc)",
        ),
        (
            "alter table shop.items alter column label set default 'other'",
            "column shop.items.label: default 'other'::text, snapshot says 'none'",
        ),
        ("alter type shop.kind add value 'e'", "enum shop.kind: values (a, b, c, d, e), snapshot says (a, b, c, d)"),
    ],
)
def test_verify_fails_on_a_hand_made_change(
    unseen: tuple[Path, Path], empty_db: str, change: str, difference: str
) -> None:
    ws, _ = unseen
    with psycopg.connect(empty_db, autocommit=True) as conn:
        runner.migrate(conn, load_workspace(ws))
        conn.execute(change)
    assert _conformance(empty_db, ws, 2) == [difference]
