"""inv verify against a real server: the project's checks, conformance, JSON/JUnit, read-only, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import psycopg

from drizzle_ops.engine import runner
from drizzle_ops.engine.workspace import load_workspace
from tests.helpers import EXAMPLE, ROOT, run_inv
from tests.integration.test_roundtrip import catalog

WORKSPACE = load_workspace(EXAMPLE)
PROJECT_CHECKS = [
    "snapshot-conformance",
    "wishlist.table",
    "wishlist.columns",
    "wishlist.enums",
    "wishlist.indexes",
    "wishlist.foreign_keys",
    "wishlist.check_constraints",
    "wishlist.migration_recorded",
]


def test_migrate_then_verify_passes_every_check(empty_db: str, tmp_path: Path) -> None:
    with psycopg.connect(empty_db, autocommit=True) as conn:
        runner.migrate(conn, load_workspace(EXAMPLE))
    junit = tmp_path / "reports" / "verify.xml"
    result = run_inv("verify", "--url", empty_db, "--junit", str(junit))
    assert result.returncode == 0, result.stdout + result.stderr
    for check_id in PROJECT_CHECKS:
        assert check_id in result.stdout
    assert "8 of 8 check(s) passed." in result.stdout and "head 0007_wishlist_items" in result.stdout
    suite = ElementTree.parse(junit).getroot()
    assert [c.attrib["name"] for c in suite.iter("testcase")] == PROJECT_CHECKS
    assert suite.attrib["failures"] == "0" and suite.attrib["errors"] == "0"


def test_an_index_dropped_by_hand_fails_and_is_named(migrated_db: str) -> None:
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        conn.execute("drop index wishlist_items_user_sort_idx")
    result = run_inv("verify", "--url", migrated_db, "--json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["ok"] is False
    by_id = {c["id"]: c for c in document["checks"]}
    assert by_id["snapshot-conformance"]["differences"] == ["index wishlist_items_user_sort_idx: missing"]
    assert by_id["wishlist.indexes"]["result"] == "fail"
    assert by_id["wishlist.columns"]["result"] == "pass"
    error = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert error == [
        "error: 2 of 8 check(s) failed (snapshot-conformance, wishlist.indexes); see the details in the JSON document"
    ]


def test_verify_changes_nothing_even_when_a_check_tries_to(migrated_db: str, tmp_path: Path) -> None:
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "sneaky.py").write_text(
        "from drizzle_ops.checks_api import Check\n"
        "CHECKS = [\n"
        "    Check(id='sneaky.write', description='tries to write', sql='delete from users', expect=[]),\n"
        "    Check(id='sneaky.two', description='two statements', sql='select 1; drop table users', expect=1),\n"
        "    Check(id='sneaky.count', description='still runs after the others failed',\n"
        "          sql='select count(*) from users', expect=0),\n"
        "]\n"
    )
    before = catalog(migrated_db)
    result = run_inv("verify", "--url", migrated_db, "--checks-dir", str(checks), "--json")
    assert result.returncode == 1
    by_id = {c["id"]: c for c in json.loads(result.stdout)["checks"]}
    assert by_id["sneaky.write"]["result"] == "error" and "[25006]" in by_id["sneaky.write"]["detail"]  # read only
    assert by_id["sneaky.two"]["result"] == "error" and "[42601]" in by_id["sneaky.two"]["detail"]
    assert by_id["sneaky.count"]["result"] == "pass"
    assert by_id["snapshot-conformance"]["result"] == "pass"
    assert catalog(migrated_db) == before


def test_only_runs_the_named_checks_and_the_seed_check_needs_the_seed(migrated_db: str) -> None:
    only = ["verify", "--url", migrated_db, "--only", "wishlist.seed_rows", "--only", "wishlist.enums", "--json"]
    unseeded = run_inv(*only)
    assert unseeded.returncode == 1
    assert [c["id"] for c in json.loads(unseeded.stdout)["checks"]] == ["wishlist.enums", "wishlist.seed_rows"]
    seed = (ROOT / "checks" / "seed_wishlist.sql").read_text()
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        conn.execute(seed)
    seeded = run_inv(*only)
    assert seeded.returncode == 0, seeded.stdout
    unknown = run_inv("verify", "--url", migrated_db, "--only", "nope")
    assert unknown.returncode == 2 and "no check named nope" in unknown.stderr


def test_verify_before_anything_is_applied(empty_db: str) -> None:
    result = run_inv("verify", "--url", empty_db, "--only", "snapshot-conformance,wishlist.table")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "head nothing applied" in result.stdout
    assert "matches an empty schema" in result.stdout  # conformance passes: nothing is expected
    assert "skipped (0007_wishlist_items not applied)" in result.stdout  # named with --only, still skipped
    assert "1 of 2 check(s) passed, 1 skipped: wishlist.table." in result.stdout
    # and verify did not create the bookkeeping table
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("select to_regclass('drizzle.__drizzle_migrations')").fetchone() == (None,)


def test_checks_of_a_migration_not_applied_are_skipped_everywhere(migrated_db: str, tmp_path: Path) -> None:
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        conn.execute("delete from drizzle.__drizzle_migrations where created_at = %s", [WORKSPACE.migrations[-1].when])
        conn.execute("drop table wishlist_items; drop type wishlist_store; drop type wishlist_currency")
    junit = tmp_path / "verify.xml"
    result = run_inv("verify", "--url", migrated_db, "--json", "--junit", str(junit))
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is True and document["head"] == "0006_moc_parts_lists"
    assert document["summary"] == {"passed": 1, "failed": 0, "errors": 0, "skipped": 7}
    by_id = {c["id"]: c for c in document["checks"]}
    assert by_id["snapshot-conformance"]["result"] == "pass"
    for check_id in PROJECT_CHECKS[1:]:
        assert by_id[check_id]["result"] == "skip"
        assert by_id[check_id]["detail"] == "skipped (0007_wishlist_items not applied)"
    suite = ElementTree.parse(junit).getroot()
    assert suite.attrib["skipped"] == "7" and suite.attrib["failures"] == "0" and suite.attrib["errors"] == "0"
    skipped = {c.attrib["name"]: c.find("skipped") for c in suite.iter("testcase")}
    assert skipped["snapshot-conformance"] is None
    assert all(
        s is not None and s.attrib["message"] == "skipped (0007_wishlist_items not applied)"
        for name, s in skipped.items()
        if name != "snapshot-conformance"
    )
    table = run_inv("verify", "--url", migrated_db)
    assert table.returncode == 0, table.stdout + table.stderr
    assert table.stdout.count("skipped (0007_wishlist_items not applied)") == 7
    assert "1 of 8 check(s) passed, 7 skipped." in table.stdout
    seed = run_inv("verify", "--url", migrated_db, "--only", "wishlist.seed_rows", "--json")  # optional, named
    assert seed.returncode == 0 and json.loads(seed.stdout)["checks"][0]["result"] == "skip"


def test_a_check_naming_an_unknown_migration_is_refused_before_connecting(tmp_path: Path) -> None:
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "orders.py").write_text(
        "from drizzle_ops.checks_api import Check\n"
        "CHECKS = [Check(id='orders.table', description='orders exists', migration='0008_orders',\n"
        "                sql=\"select to_regclass('public.orders') is not null\", expect=True)]\n"
    )
    nobody = "postgresql://nobody@127.0.0.1:9/none"  # nothing listens there: connecting would fail differently
    for extra in ((), ("--json",)):
        result = run_inv("verify", "--url", nobody, "--checks-dir", str(checks), *extra)
        assert result.returncode == 2, result.stdout + result.stderr
        errors = [x for x in result.stderr.splitlines() if x.startswith("error:")]
        assert len(errors) == 1 and "Traceback" not in result.stderr
        assert "orders.py: check orders.table names migration 0008_orders" in errors[0]
        assert "(latest: 0005_backfill_display_names, 0006_moc_parts_lists, 0007_wishlist_items)" in errors[0]
    # --only another check: the tied one is not run, so its tag is not looked at
    only = run_inv("verify", "--url", nobody, "--checks-dir", str(checks), "--only", "snapshot-conformance")
    assert only.returncode == 1 and "names migration" not in only.stderr
