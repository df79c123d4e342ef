"""PostgreSQL's storage rules hold on a real server, and conformance applies them (A–D of verify/storage_rules.py).

Each test runs the SQL drizzle-kit 0.31 writes, then compares the catalog with a
snapshot shaped as drizzle-kit writes it. The first tests pin the server's own
behaviour, so a PostgreSQL major that stores things differently fails here first.
"""

from __future__ import annotations

from typing import Any

import psycopg

from drizzle_ops.verify.canonical import Canonicalizer
from drizzle_ops.verify.catalog import read_catalog
from drizzle_ops.verify.compare import compare
from drizzle_ops.verify.snapshot import from_snapshot


def _col(name: str, type_: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "primaryKey": False, "notNull": False, **extra}


def _table(name: str, *columns: dict[str, Any], **parts: Any) -> dict[str, Any]:
    return {"name": name, "schema": "", "columns": {c["name"]: c for c in columns}, **parts}


def differences(url: str, ddl: str, *tables: dict[str, Any]) -> list[str]:
    """Run ``ddl``, then compare the database with a snapshot holding ``tables`` (in a rolled-back transaction)."""
    expected = from_snapshot({"tables": {f"public.{t['name']}": t for t in tables}})
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(ddl)
        with conn.transaction(force_rollback=True):
            conn.execute("select set_config('search_path', 'pg_catalog', true)")
            found = compare(expected, read_catalog(conn), Canonicalizer(conn, "public"))
    return sorted(str(d) for d in found)


def _one(url: str, query: str) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()
        return row[0] if row else None


# -- A ----------------------------------------------------------------------------------------------

ACCOUNTS = _table(
    "accounts",
    _col("id", "text", primaryKey=True, notNull=True),
    uniqueConstraints={"accounts_id_key": {"name": "accounts_id_key", "columns": ["id"], "nullsNotDistinct": False}},
)


def test_a_unique_on_the_primary_key_in_create_table_folds_into_it(empty_db: str) -> None:
    ddl = 'CREATE TABLE "accounts" ("id" text PRIMARY KEY NOT NULL, CONSTRAINT "accounts_id_key" UNIQUE("id"))'
    assert differences(empty_db, ddl, ACCOUNTS) == []
    assert (
        _one(
            empty_db,
            "select string_agg(conname || ':' || contype::text, ',') from pg_constraint"
            " where connamespace = 'public'::regnamespace and contype in ('p', 'u')",  # 18 lists NOT NULL too
        )
        == "accounts_id_key:p"
    )


def test_a_unique_added_later_stays_separate_and_a_dropped_one_is_reported(empty_db: str) -> None:
    ddl = (
        'CREATE TABLE "accounts" ("id" text PRIMARY KEY NOT NULL);'
        'ALTER TABLE "accounts" ADD CONSTRAINT "accounts_id_key" UNIQUE("id");'
    )
    assert differences(empty_db, ddl, ACCOUNTS) == []
    assert (
        _one(
            empty_db, "select count(*) from pg_constraint where contype = 'u' and connamespace = 'public'::regnamespace"
        )
        == 1
    )
    dropped = 'ALTER TABLE "accounts" DROP CONSTRAINT "accounts_id_key"'
    assert differences(empty_db, dropped, ACCOUNTS) == ["unique constraint accounts_id_key: missing on accounts"]


# -- B ----------------------------------------------------------------------------------------------


def test_null_defaults_are_stored_as_postgresql_says(empty_db: str) -> None:
    ddl = (
        'CREATE DOMAIN "score" AS integer DEFAULT 5;'
        'CREATE TABLE "notes" ("body" text DEFAULT null, "title" varchar(256) DEFAULT null,'
        ' "rank" integer DEFAULT null,'
        ' "amount" numeric(10, 2) DEFAULT null, "at" timestamp (3) DEFAULT null, "tags" varchar(20)[] DEFAULT null,'
        ' "doc" jsonb DEFAULT null, "points" "score" DEFAULT null);'
        'ALTER TABLE "notes" ADD COLUMN "label" varchar(64) DEFAULT null;'
    )
    columns = [
        _col("body", "text", default="null"),
        _col("title", "varchar(256)", default="null"),
        _col("rank", "integer", default="null"),
        _col("amount", "numeric(10, 2)", default="null"),
        _col("at", "timestamp (3)", default="null"),
        _col("tags", "varchar(20)[]", default="null"),
        _col("doc", "jsonb", default="null"),
        _col("points", "score", typeSchema="public", default="null"),
        _col("label", "varchar(64)", default="null"),
    ]
    assert differences(empty_db, ddl, _table("notes", *columns)) == []
    stored = _one(
        empty_db,
        "select string_agg(a.attname, ',' order by a.attnum) from pg_attrdef d"
        " join pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum",
    )
    assert stored == "title,amount,at,tags,points,label"  # a modifier or a domain keeps NULL::<type>


def test_a_domain_columns_null_default_that_differs_is_reported(empty_db: str) -> None:
    ddl = (
        'CREATE DOMAIN "score" AS integer DEFAULT 5;'
        'CREATE TABLE "games" ("a" "score" DEFAULT null, "b" "score", "c" varchar(8) DEFAULT null)'
    )
    snapshot = _table(
        "games",
        _col("a", "score", typeSchema="public"),  # the database overrides the domain's default 5 with NULL
        _col("b", "score", typeSchema="public", default="null"),  # the database keeps the domain's 5
        _col("c", "varchar(8)"),
    )
    assert differences(empty_db, ddl, snapshot) == [
        "column games.a: default NULL::integer, snapshot says none",
        "column games.b: no default, snapshot says null",
    ]


# -- C ----------------------------------------------------------------------------------------------


def test_column_collations_are_compared_with_attcollation(empty_db: str) -> None:
    ddl = 'CREATE TABLE "products" ("sku" text COLLATE "C" NOT NULL, "name" text, "code" varchar(8) COLLATE "POSIX")'
    snapshot = _table(
        "products",
        _col("sku", 'text COLLATE "C"', notNull=True),
        _col("name", 'text COLLATE "default"'),
        _col("code", 'varchar(8) COLLATE "C"'),
    )
    assert differences(empty_db, ddl, snapshot) == [
        'column products.code: collation "POSIX", snapshot says collation "C"'
    ]
    plain = _table("products", _col("sku", "text", notNull=True), _col("name", "text"), _col("code", "varchar(8)"))
    assert differences(empty_db, "select 1", plain) == [
        'column products.code: collation "POSIX", snapshot says the type\'s default collation',
        'column products.sku: collation "C", snapshot says the type\'s default collation',
    ]


# -- D ----------------------------------------------------------------------------------------------

EVENTS_DDL = (
    'CREATE TABLE "events" ("id" serial PRIMARY KEY NOT NULL, "email" text NOT NULL, "code" text NOT NULL,'
    ' "created_at" timestamp with time zone DEFAULT now() NOT NULL);'
    'ALTER TABLE "events" DROP COLUMN "id";'  # a dropped column: the scratch copy's attribute numbers differ
)
INDEXES = {
    "events_desc_idx": ([{"expression": "created_at", "isExpression": False, "asc": False, "nulls": "last"}], None),
    "events_sql_desc_idx": (
        [{"expression": '"created_at" DESC', "isExpression": True, "asc": True, "nulls": "last"}],
        None,
    ),
    "events_op_idx": (
        [{"expression": "email", "isExpression": False, "asc": True, "nulls": "last", "opclass": "text_pattern_ops"}],
        None,
    ),
    "events_sql_op_idx": (
        [{"expression": '"email" text_pattern_ops', "isExpression": True, "asc": True, "nulls": "last"}],
        None,
    ),
    "events_sql_collate_idx": (
        [{"expression": '"code" COLLATE "C"', "isExpression": True, "asc": True, "nulls": "last"}],
        None,
    ),
    "events_lower_idx": (
        [{"expression": 'lower("email")', "isExpression": True, "asc": True, "nulls": "last"}],
        '"events"."code" <> \'x\'',
    ),
}
INDEX_SQL = (
    'CREATE INDEX "events_desc_idx" ON "events" USING btree ("created_at" DESC NULLS LAST);'
    'CREATE INDEX "events_sql_desc_idx" ON "events" USING btree ("created_at" DESC);'
    'CREATE INDEX "events_op_idx" ON "events" USING btree ("email" text_pattern_ops);'
    'CREATE INDEX "events_sql_op_idx" ON "events" USING btree ("email" text_pattern_ops);'
    'CREATE INDEX "events_sql_collate_idx" ON "events" USING btree ("code" COLLATE "C");'
    'CREATE INDEX "events_lower_idx" ON "events" USING btree (lower("email")) WHERE "events"."code" <> \'x\';'
)


def _events() -> dict[str, Any]:
    indexes = {
        name: {
            "name": name,
            "columns": columns,
            "isUnique": False,
            "concurrently": False,
            "method": "btree",
            "with": {},
            "where": where,
        }
        for name, (columns, where) in INDEXES.items()
    }
    return _table(
        "events",
        _col("email", "text", notNull=True),
        _col("code", "text", notNull=True),
        _col("created_at", "timestamp with time zone", notNull=True, default="now()"),
        indexes=indexes,
    )


def test_index_keys_drizzle_marks_as_expressions_match_the_stored_column_keys(empty_db: str) -> None:
    assert differences(empty_db, EVENTS_DDL + INDEX_SQL, _events()) == []
    stored = _one(
        empty_db,
        "select indoption::text || '/' || indcollation::text || '/' || (indexprs is null)::text"
        " from pg_index where indexrelid = 'events_sql_desc_idx'::regclass",
    )
    assert stored == "3/0/true"  # DESC (1) and, by default with it, NULLS FIRST (2); a column key; no collation
    assert _one(empty_db, "select indexprs is null from pg_index where indexrelid = 'events_sql_collate_idx'::regclass")


def test_index_keys_that_differ_in_order_opclass_or_collation_are_reported(empty_db: str) -> None:
    changed = (
        'CREATE INDEX "events_sql_desc_idx" ON "events" ("created_at");'
        'CREATE INDEX "events_sql_op_idx" ON "events" ("email");'
        'CREATE INDEX "events_sql_collate_idx" ON "events" ("code" COLLATE "POSIX");'
        'CREATE INDEX "events_lower_idx" ON "events" (lower("email")) WHERE "code" <> \'y\';'
    )
    kept = [
        s
        for s in INDEX_SQL.split(";")
        if s
        and not any(
            f'"{n}"' in s
            for n in ("events_sql_desc_idx", "events_sql_op_idx", "events_sql_collate_idx", "events_lower_idx")
        )
    ]
    found = differences(empty_db, EVENTS_DDL + ";".join(kept) + ";" + changed, _events())
    assert [f.split(":")[0] for f in found] == [
        "index events_lower_idx",
        "index events_sql_collate_idx",
        "index events_sql_desc_idx",
        "index events_sql_op_idx",
    ], found
    assert "predicate" in found[0]


def test_a_hand_fixed_jsonb_string_default_is_reported_as_drizzle_kits_quirk(empty_db: str) -> None:
    ddl = 'CREATE TABLE "prefs" ("mode" jsonb DEFAULT \'"none"\'::jsonb)'  # drizzle-kit wrote DEFAULT 'none' (22P02)
    (found,) = differences(empty_db, ddl, _table("prefs", _col("mode", "jsonb", default="'none'")))
    assert found.startswith("column prefs.mode: default '\"none\"'::jsonb, snapshot says 'none' (a known drizzle-kit")
