"""A large migration: sent in several queries of one transaction, a large chunk as the very bytes read from its file.

A migration over ``one_transaction.QUERY_BYTES`` goes as several simple queries, so that no query
(which libpq holds twice more while it is sent) is much larger than that, and a chunk that large
travels alone, not copied. Every failure must still be reported as statement by statement reports it;
the catalogue of failures is test_round_trips.py's, run with every chunk alone and with chunks
sharing queries.
"""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import psycopg
import pytest

from drizzle_ops.engine import one_transaction, runner
from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.errors import MigrationFailed
from tests.helpers import add_migration, rows
from tests.integration.test_round_trips import (
    BATCH,
    FAILURES,
    FIRST,
    WireCutter,
    connect,
    counting_queries,
    migrate,
    one_by_one,
    report,
    tables,
    wait_until_gone,
)

QUERY_SIZES = {"every chunk alone": 1, "chunks sharing queries": 48}
SEED_ROWS = 40_000  # about 1.6 MB: over QUERY_BYTES (1 MiB), so it travels alone


def seed_insert(rows_: int, bad_row: int | None = None) -> str:
    def value(n: int) -> str:
        return "'x'" if n == bad_row else str(n % 97)

    values = ",\n".join(f"({n}, {value(n)}, 'seeded row {n}: café')" for n in range(1, rows_ + 1))
    return f'INSERT INTO "seed" ("id", "n", "name") VALUES\n{values};\n'


def add_seed(ws: Path, rows_: int = SEED_ROWS, bad_row: int | None = None) -> str:
    add_migration(ws, "seed_table", 'CREATE TABLE "seed" ("id" integer PRIMARY KEY, "n" integer, "name" text);')
    return add_migration(ws, "seed", seed_insert(rows_, bad_row))


@pytest.mark.parametrize("query_bytes", QUERY_SIZES.values(), ids=QUERY_SIZES.keys())
@pytest.mark.parametrize("text", FAILURES.values(), ids=FAILURES.keys())
def test_a_failure_in_a_migration_sent_in_several_queries_is_reported_as_statement_by_statement(
    text: str,
    query_bytes: int,
    databases,  # type: ignore[no-untyped-def]
    workspace_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add_migration(workspace_copy, "failing", text)
    together, apart = databases.create(), databases.create()
    with monkeypatch.context() as patch:
        patch.setattr(one_transaction, "QUERY_BYTES", query_bytes)
        failure = migrate(together, workspace_copy)
    with one_by_one(monkeypatch):
        expected = migrate(apart, workspace_copy)
    assert expected is not None and report(failure) == report(expected)
    earlier = [(m.hash, m.when) for m in load_workspace(workspace_copy).migrations[:-1]]
    assert rows(together) == rows(apart) == earlier  # no row for the failed migration
    assert tables(together) == tables(apart)  # and nothing of it stays


def test_a_seed_insert_travels_alone_as_the_bytes_read_from_its_file(
    empty_db: str, workspace_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = add_seed(workspace_copy)
    workspace = load_workspace(workspace_copy)
    seed = workspace.by_tag(tag)
    (statement,) = seed.statements
    assert statement.size > one_transaction.QUERY_BYTES
    with counting_queries(monkeypatch) as sent, connect(empty_db) as conn:
        runner.migrate(conn, workspace)
    alone = [i for i, query in enumerate(sent) if query is statement.source]
    assert len(alone) == 1  # not a copy: the very bytes object the workspace read
    before, after, commit = sent[alone[0] - 1], sent[alone[0] + 1], sent[alone[0] + 2]
    assert before.startswith(BATCH) and not before.endswith(b" returning id")  # the prelude, on its own
    assert after.endswith(b" returning id") and not after.startswith(BATCH)  # then the bookkeeping row
    assert commit.startswith(b"COMMIT;\n")
    with connect(empty_db) as conn:
        assert conn.execute('select count(*), sum(n) from "seed"').fetchone() == (
            SEED_ROWS,
            sum(n % 97 for n in range(1, SEED_ROWS + 1)),
        )
    assert rows(empty_db)[-1] == (hashlib.sha256(seed.sql_path.read_bytes()).hexdigest(), seed.when)


def test_a_bad_row_in_a_seed_insert_is_named_by_its_line(
    databases,  # type: ignore[no-untyped-def]
    workspace_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tag = add_seed(workspace_copy, bad_row=31_337)
    together, apart = databases.create(), databases.create()
    failure = migrate(together, workspace_copy)
    with one_by_one(monkeypatch):
        expected = migrate(apart, workspace_copy)
    assert isinstance(failure, MigrationFailed) and report(failure) == report(expected)
    assert failure.tag == tag and failure.statement_number == 1 and failure.sqlstate == "22P02"
    text = load_workspace(workspace_copy).by_tag(tag).text
    assert text.splitlines()[failure.line - 1].startswith("(31337, 'x',")
    assert rows(together) == rows(apart) and "seed" in tables(together) and not _count(together)


def _count(url: str) -> int:
    with connect(url) as conn:
        row = conn.execute('select count(*) from "seed"').fetchone()
        return int(row[0]) if row else 0


def test_many_small_statements_over_query_bytes_go_in_several_queries(
    databases,  # type: ignore[no-untyped-def]
    workspace_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(one_transaction, "QUERY_BYTES", 2048)
    inserts = [f'INSERT INTO "t1" VALUES ({n});' for n in range(300)]
    inserts[250] = "INSERT INTO \"t1\" VALUES ('not a number');"
    add_migration(workspace_copy, "many", "--> statement-breakpoint\n".join([FIRST, *inserts]))
    together, apart = databases.create(), databases.create()
    with counting_queries(monkeypatch) as sent:
        failure = migrate(together, workspace_copy)
    with one_by_one(monkeypatch):
        expected = migrate(apart, workspace_copy)
    assert isinstance(failure, MigrationFailed) and report(failure) == report(expected)
    assert failure.statement_number == 252 and failure.sqlstate == "22P02"
    carrying = [q for q in sent if b'INSERT INTO "t1"' in q]
    # chunks of about 32 bytes: a query takes them until it holds 2,048 bytes of them
    assert len(carrying) > 3 and max(q.count(b"INSERT") for q in carrying) <= 2048 // 30 + 1
    assert rows(together) == rows(apart) and "t1" not in tables(together)


def test_a_connection_lost_in_a_later_query_names_its_statement_and_commits_nothing(
    empty_db: str, workspace_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(one_transaction, "QUERY_BYTES", 1)  # every chunk alone: the third is never sent
    tag = add_migration(
        workspace_copy,
        "network",
        f'{FIRST}--> statement-breakpoint\nSELECT pg_sleep(1);--> statement-breakpoint\nCREATE TABLE "t3" (id int);',
    )
    workspace = load_workspace(workspace_copy)
    with connect(empty_db) as conn:
        pid = conn.info.backend_pid
        cutter = WireCutter(empty_db, conn, "%pg_sleep(1)%")
        cutter.start()
        with pytest.raises(MigrationFailed) as caught:
            runner.migrate(conn, workspace)
        cutter.join()
    assert cutter.seen, "the statement to cut the wire at never ran"
    failure = caught.value
    assert failure.tag == tag and failure.connection_lost and failure.statement_number == 2
    assert "in flight" not in str(failure)  # it was alone in its query: the one running is known
    assert f"nothing of {tag} was committed" in str(failure)
    wait_until_gone(empty_db, pid)
    assert rows(empty_db) == [(m.hash, m.when) for m in workspace.migrations[:-1]]
    assert "t1" not in tables(empty_db)


def test_applying_a_seed_allocates_far_less_than_the_seed(empty_db: str, workspace_copy: Path) -> None:
    """No copy of the file is made to scan, split, hash or send it (libpq's own copies are not Python's)."""
    tag = add_seed(workspace_copy, rows_=80_000)
    workspace = load_workspace(workspace_copy)
    size = workspace.by_tag(tag).sql_path.stat().st_size
    with psycopg.connect(empty_db, autocommit=True) as conn:
        tracemalloc.start()
        try:
            runner.migrate(conn, workspace)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert _count(empty_db) == 80_000
    assert peak < size / 4, f"{peak:,} bytes allocated at most while applying a {size:,}-byte seed"
