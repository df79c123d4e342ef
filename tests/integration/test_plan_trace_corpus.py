"""The lint corpus through the tracer: every lock a statement really takes matches lockinfo's prediction.

Each corpus file runs as a pending migration after the example's eight, on a scratch copy, the way
`inv plan --trace` runs it. Files run after a prelude that makes the tables the example lacks; one
that makes such a table itself runs again without it. A mismatch here is a bug in
`analysis/lockinfo.py` (or in the plan's catalog reads): fix the prediction, and add the statement to
tests/unit/test_lockinfo.py.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from drizzle_ops.analysis import lockmodes
from drizzle_ops.disposable.base import Server
from drizzle_ops.engine import runner
from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.review.deploy_plan import build_plan
from drizzle_ops.review.tracer import MigrationTrace, Trace, trace_pending
from drizzle_ops.review.verdicts import MigrationSummary, join
from tests.helpers import EXAMPLE, add_migration, url_for

CORPUS = Path(__file__).resolve().parent.parent / "unit" / "lint" / "corpus"
FILES = sorted(CORPUS.glob("*.sql"))

# tables the corpus names that the example workspace does not have
PRELUDE = """\
ALTER TABLE "users" ADD COLUMN "billing_email" text;--> statement-breakpoint
CREATE TABLE "recipe" ("id" bigint PRIMARY KEY, "view_count" bigint, "a" integer, "b" integer);--> statement-breakpoint
CREATE TABLE "orders" ("id" bigint PRIMARY KEY, "total" numeric, "ref" text, "state" text);--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_total_not_null" CHECK ("total" IS NOT NULL) NOT VALID;
--> statement-breakpoint
CREATE UNIQUE INDEX "orders_ref_idx" ON "orders" ("ref");--> statement-breakpoint
CREATE TABLE "account" ("name" text);--> statement-breakpoint
CREATE TABLE "events" ("id" bigint);--> statement-breakpoint
CREATE TABLE "customers" ("id" bigint PRIMARY KEY);--> statement-breakpoint
CREATE TABLE "invoices" ("id" bigint, "amount" numeric, "customer_id" bigint);--> statement-breakpoint
CREATE TABLE "t" ("x" integer);
"""

# statements beyond the corpus that the issue asks for by name, each a migration (or a pair) of its own
EXTRA = {
    "rewrite_int_to_bigint": ['ALTER TABLE "wishlist_items" ALTER COLUMN "priority" SET DATA TYPE bigint;'],
    "enum_add_new_value": ['ALTER TYPE "public"."moc_status" ADD VALUE \'retired\';'],
    "not_valid_then_validate": [
        'ALTER TABLE "sets" ADD CONSTRAINT "sets_year_after_1900" CHECK ("sets"."year" > 1900) NOT VALID;',
        'ALTER TABLE "sets" VALIDATE CONSTRAINT "sets_year_after_1900";',
    ],
    "drop_index": [
        'CREATE INDEX "wishlist_items_title_idx" ON "wishlist_items" ("title");',
        'DROP INDEX "wishlist_items_title_idx";',
    ],
    "drop_index_concurrently": [
        'CREATE INDEX "wishlist_items_title_idx" ON "wishlist_items" ("title");',
        '-- drizzle-ops: no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS "wishlist_items_title_idx";',
    ],
    "trigger_on_existing_table": [
        'CREATE TRIGGER "sets_touch" BEFORE UPDATE ON "sets" FOR EACH ROW EXECUTE FUNCTION "public"."set_updated_at"();'
    ],
    "new_table_referencing_users": [
        'CREATE TABLE "reviews" ("id" uuid PRIMARY KEY, "user_id" uuid REFERENCES "users" ("id"));'
    ],
}

EXISTS = {"42P07", "42701", "42710"}  # the prelude made that table, column or object: try without it


@dataclass
class Traced:
    name: str
    migrations: list[MigrationTrace]
    summaries: list[MigrationSummary]

    @property
    def error(self) -> str | None:
        return next((m.error for m in self.migrations if m.error), None)


class Scratch:
    """Scratch databases cloned from two templates: the example at its head, and that plus the prelude."""

    def __init__(self, admin: psycopg.Connection, server: Server, tmp: Path) -> None:
        self.admin, self.server, self.tmp = admin, server, tmp
        self.base = tmp / "base"
        shutil.copytree(EXAMPLE, self.base, ignore=shutil.ignore_patterns("node_modules"))
        self.with_prelude = tmp / "prelude"
        shutil.copytree(self.base, self.with_prelude)
        add_migration(self.with_prelude, "corpus_prelude", PRELUDE)
        self.templates = {}
        for key, ws in (("base", self.base), ("prelude", self.with_prelude)):
            name = f"trace_corpus_{key}_{id(self):x}"
            self._create(name)
            with psycopg.connect(url_for(server.url, name), autocommit=True) as conn:
                runner.migrate(conn, load_workspace(ws))
            self.templates[key] = name
        self.live: dict[str, str] = {}
        self.count = 0

    def _create(self, name: str, template: str | None = None) -> None:
        query = sql.SQL("create database {}").format(sql.Identifier(name))
        if template:
            query += sql.SQL(" template {}").format(sql.Identifier(template))
        self.admin.execute(query)

    def _drop(self, name: str) -> None:
        self.admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))

    def database(self, key: str) -> str:
        """A scratch database at ``key``'s head, reused while traces leave it as it was."""
        if key not in self.live:
            self.count += 1
            name = f"trace_corpus_{key}_{self.count}_{id(self):x}"
            self._create(name, self.templates[key])
            self.live[key] = name
        return self.live[key]

    def spoilt(self, key: str) -> None:
        if key in self.live:
            self._drop(self.live.pop(key))

    def trace(self, name: str, sqls: list[str]) -> Traced:
        result = self._trace("prelude", name, sqls)
        codes = {m.error.split(":", 2)[1].strip() for m in result.migrations if m.error and ":" in m.error}
        if codes & EXISTS:
            result = self._trace("base", name, sqls)
        return result

    def _trace(self, key: str, name: str, sqls: list[str]) -> Traced:
        ws = self.base if key == "base" else self.with_prelude
        journal = ws / "drizzle" / "meta" / "_journal.json"
        saved = journal.read_text()
        added = [add_migration(ws, f"{name}_{index}", text) for index, text in enumerate(sqls)]
        try:
            workspace = load_workspace(ws)
            dbname = self.database(key)
            with psycopg.connect(url_for(self.server.url, dbname), autocommit=True) as conn:
                plan = build_plan(conn, workspace, runner.status(conn, workspace), database=dbname)
                traced = trace_pending(conn, self.server.url, dbname, workspace.migrations[-len(sqls) :])
                major = conn.info.server_version // 10000
        finally:  # the workspace back as it was, for the next file
            journal.write_text(saved)
            for tag in added:
                (ws / "drizzle" / f"{tag}.sql").unlink()
                (ws / "drizzle" / "meta" / f"{tag[:4]}_snapshot.json").unlink()
        summaries = join(plan, Trace("", major, dbname, None, 0.0, 0.0, traced))
        if _committed_something(traced, sqls):
            self.spoilt(key)  # what ran outside our rolled-back transaction stays: the next trace gets a fresh copy
        return Traced(name, traced, summaries)

    def close(self) -> None:
        for name in [*self.live.values(), *self.templates.values()]:
            self._drop(name)


def _committed_something(traced: list[MigrationTrace], sqls: list[str]) -> bool:
    """Only the last migration is rolled back, and a statement outside a transaction (or with its own COMMIT)
    stays: then the scratch copy changed, unless nothing ran."""
    ran = [m for m in traced if m.statements and not (len(m.statements) == 1 and m.statements[0].error)]
    if not ran:
        return False
    controls = any(re.search(r"\b(commit|begin|rollback)\b", text, re.IGNORECASE) for text in sqls)
    return len(traced) > 1 or controls or any(not m.in_transaction for m in ran)


@pytest.fixture(scope="module")
def scratch(
    admin: psycopg.Connection, pg_server: Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scratch]:
    box = Scratch(admin, pg_server, tmp_path_factory.mktemp("trace-corpus"))
    try:
        yield box
    finally:
        box.close()


@pytest.fixture(scope="module")
def corpus(scratch: Scratch) -> dict[str, Traced]:
    """Every corpus file and every extra case, traced once (the tests below read the results)."""
    traced = {path.name: scratch.trace(path.stem, [path.read_text(encoding="utf-8")]) for path in FILES}
    traced.update({name: scratch.trace(name, sqls) for name, sqls in EXTRA.items()})
    return traced


def _checks(traced: Traced) -> list[tuple[int, str, str | None, str | None, str, str]]:
    return [
        (s.number, c.table, c.predicted, c.traced, c.verdict, c.note)
        for m in traced.migrations
        for s in m.statements
        for c in s.checks
    ]


def test_no_traced_lock_contradicts_the_prediction(corpus: dict[str, Traced]) -> None:
    mismatches = {name: [c for c in _checks(t) if c[4] == "mismatch"] for name, t in corpus.items()}
    assert {name: found for name, found in mismatches.items() if found} == {}


def test_no_blocking_lock_is_left_out_of_the_prediction(corpus: dict[str, Traced]) -> None:
    """trace-only is fine for what blocks nothing (ACCESS SHARE of a table a statement reads), never beyond."""
    unpredicted = {
        name: [c for c in _checks(t) if c[4] == "trace-only" and lockmodes.blocks(c[3] or "") != lockmodes.NOTHING]
        for name, t in corpus.items()
    }
    assert {name: found for name, found in unpredicted.items() if found} == {}


def test_most_of_the_corpus_runs_on_the_example(corpus: dict[str, Traced]) -> None:
    ran = [name for name, t in corpus.items() if t.error is None]
    assert len(ran) >= 55, sorted(set(corpus) - set(ran))


def _statement(traced: Traced, migration: int = 0, number: int = 1) -> object:
    return traced.migrations[migration].statements[number - 1]


def test_a_column_type_change_rewrites_the_table(corpus: dict[str, Traced]) -> None:
    traced = corpus["rewrite_int_to_bigint"]
    statement = traced.migrations[0].statements[0]
    assert "public.wishlist_items (table)" in statement.rewrites
    (check,) = statement.checks
    assert (check.traced, check.traced_rewrite, check.verdict) == (lockmodes.ACCESS_EXCLUSIVE, True, "confirmed")
    assert traced.summaries[0].rewrite is True


def test_an_index_on_an_existing_table_takes_share(corpus: dict[str, Traced]) -> None:
    statement = corpus["rcic_existing_table.sql"].migrations[0].statements[0]
    (check,) = statement.checks
    assert (check.table, check.traced, check.verdict) == ("public.users", lockmodes.SHARE, "confirmed")
    assert statement.new_indexes == [
        {"index": "public.users_email_idx", "table": "public.users", "implicit": False, "constraint": None}
    ]


def test_concurrently_outside_a_transaction_is_seen_while_it_runs(corpus: dict[str, Traced]) -> None:
    migration = corpus["rcic_concurrently_alone.sql"].migrations[0]
    assert migration.in_transaction is False
    (statement,) = migration.statements
    (check,) = statement.checks
    assert (check.traced, check.verdict, check.note) == (lockmodes.SHARE_UPDATE_EXCLUSIVE, "confirmed", "")
    assert statement.watched and statement.new_indexes[0]["index"] == "public.users_email_idx"


def test_adding_an_enum_value_locks_no_table(corpus: dict[str, Traced]) -> None:
    traced = corpus["enum_add_new_value"]
    assert traced.error is None
    (statement,) = traced.migrations[0].statements
    assert statement.checks == [] and statement.rewrites == []


def test_not_valid_then_validate(corpus: dict[str, Traced]) -> None:
    add, validate = (m.statements[0] for m in corpus["not_valid_then_validate"].migrations)
    assert add.new_constraints == [
        {"constraint": "public.sets.sets_year_after_1900", "type": "check", "validated": False}
    ]
    assert [(c.traced, c.verdict) for c in add.checks] == [(lockmodes.ACCESS_EXCLUSIVE, "confirmed")]
    assert validate.validated_constraints == ["public.sets.sets_year_after_1900"]
    assert [(c.traced, c.verdict) for c in validate.checks] == [(lockmodes.SHARE_UPDATE_EXCLUSIVE, "confirmed")]


def test_a_volatile_default_rewrites_and_is_named(corpus: dict[str, Traced]) -> None:
    statement = corpus["afwd_random_uuid.sql"].migrations[0].statements[0]
    assert statement.volatile_columns == ["public.users.token"]
    assert "public.users (table)" in statement.rewrites
    assert [(c.traced, c.traced_rewrite, c.verdict) for c in statement.checks] == [
        (lockmodes.ACCESS_EXCLUSIVE, True, "confirmed")
    ]


def test_implicit_indexes_of_new_constraints(corpus: dict[str, Traced]) -> None:
    statement = corpus["duc_add_column_unique.sql"].migrations[0].statements[0]
    assert statement.new_indexes == [
        {"index": "public.sets_slug_key", "table": "public.sets", "implicit": True, "constraint": "sets_slug_key"}
    ]


@pytest.mark.parametrize(
    ("name", "migration", "table", "mode"),
    [
        ("drop_index", 1, "public.wishlist_items", lockmodes.ACCESS_EXCLUSIVE),
        ("drop_index_concurrently", 1, "public.wishlist_items", lockmodes.SHARE_UPDATE_EXCLUSIVE),
        ("trigger_on_existing_table", 0, "public.sets", lockmodes.SHARE_ROW_EXCLUSIVE),
        ("new_table_referencing_users", 0, "public.users", lockmodes.SHARE_ROW_EXCLUSIVE),
        ("bdt_drop_table.sql", 0, "public.users", lockmodes.ACCESS_EXCLUSIVE),
    ],
)
def test_predictions_the_trace_corrected(
    corpus: dict[str, Traced], name: str, migration: int, table: str, mode: str
) -> None:
    """Each of these was a mismatch or trace-only before lockinfo (or the plan's catalog reads) learnt it."""
    checks = {c.table: c for c in corpus[name].migrations[migration].statements[0].checks}
    assert (checks[table].predicted, checks[table].traced, checks[table].verdict) == (mode, mode, "confirmed")
