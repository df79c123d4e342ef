"""Real, messy drizzle-kit histories (tests/fixtures/histories) work end to end, as drizzle-kit's migrate does.

Each fixture was made with real drizzle-kit (its README says how, and which hand
edits real teams make). For each: `inv migrate` writes drizzle-kit's own rows,
`status --check`, a second `migrate` and `verify` pass, either tool takes over
from the other, the history's warnings are printed once (and `--strict` fails),
and `rollback --steps 1 --verify` undoes the head with a hand-written down file.

drizzle-kit runs from the example workspace's node_modules (linked into a
private copy of the fixture); its full run is made once per case and reused.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.helpers import (
    EXAMPLE,
    NO_DRIZZLE_KIT,
    ROOT,
    keep_journal_entries,
    requires,
    rows,
    run_drizzle_kit,
    run_inv,
    url_for,
)
from tests.integration.test_roundtrip import catalog

FIXTURES = ROOT / "tests" / "fixtures" / "histories"
DRIZZLE_KIT_BIN = EXAMPLE / "node_modules" / "drizzle-kit" / "bin.cjs"

pytestmark = [pytest.mark.drizzle, requires(DRIZZLE_KIT_BIN.exists, NO_DRIZZLE_KIT)]


@dataclass(frozen=True)
class Case:
    name: str
    migrations: int
    takeover: int  # drizzle-kit applies the first N, the other tool the rest
    down: str  # the head's down file, written by hand as a reviewer would
    warnings: tuple[str, ...] = ()  # the history's warnings: a text each one contains, in order
    accepted: bool = False  # has an accepted-differences.txt that verify needs
    head_not_newer: bool = False  # the head's `when` is not greater than the one before it

    def __str__(self) -> str:
        return self.name


LOST = "migration(s) have no snapshot, first "

CASES = [
    Case("legacy-journal", 4, 2, 'DROP TABLE "comments";\n'),
    Case(
        "legacy-no-breakpoints",
        2,
        1,
        'ALTER TABLE books DROP COLUMN "title";\nALTER TABLE books DROP COLUMN "published_year";\n',
    ),
    Case(
        "prefix-timestamp",
        5,
        2,  # not 3: after the custom migration, drizzle-kit would skip the older merged entries
        'DROP TABLE "task_labels";\n',
        head_not_newer=True,
        warnings=(f"{LOST}20261201161139_seed_system_user ",),
    ),
    Case(
        "breakpoints-false",
        2,
        1,
        'ALTER TABLE "invoices" DROP COLUMN "note";\nALTER TABLE "invoices" DROP COLUMN "currency";\n',
    ),
    Case("prefix-unix", 3, 1, 'ALTER TABLE "members" DROP COLUMN "is_admin";\n'),
    Case("prefix-supabase", 3, 2, 'ALTER TABLE "members" DROP COLUMN "is_admin";\n'),
    # "none" keeps one meta/_snapshot.json: the newest migration's, by design, so nothing is lost
    Case("prefix-none", 2, 1, 'DROP TABLE "members";\n'),
    Case(
        "broken-chain",
        5,
        3,
        'ALTER TABLE "comments" DROP COLUMN "flagged";\n',
        warnings=(f"{LOST}0003_backfill_post_titles ",),  # the chain itself is read only by the schema tasks
    ),
    Case("long-names", 3, 2, 'DROP TABLE "événements_récurrents";\n'),
    Case("enum-order", 3, 2, 'ALTER TABLE "orders" DROP COLUMN "shipped_at";\n'),
    Case("hand-drift", 3, 1, 'ALTER TABLE "products" DROP COLUMN "stock";\n', accepted=True),
    Case(
        "duplicate-when",
        3,
        1,  # not 2: drizzle-kit would skip 0002, whose when equals 0001's
        "-- data only: nothing to undo in the schema\n",
        head_not_newer=True,
        warnings=(
            "0002_default_flags and 0001_default_settings have the same journal `when`",
            f"{LOST}0002_default_flags ",
        ),
    ),
    # files with their own BEGIN/COMMIT (test_own_transactions.py has the rest); the head rebuilt its constraint
    Case(
        "own-transactions",
        4,
        2,  # drizzle-kit's run ends inside 0001's trailing BEGIN, and commits it
        "-- 0003 rebuilt accounts_org_email_unique as it was: nothing to undo\nSELECT 1;\n",
    ),
    # what PostgreSQL stores differently from what drizzle-kit wrote (verify/storage_rules.py): nothing accepted
    Case("redundant-unique", 2, 1, 'ALTER TABLE "sessions" DROP CONSTRAINT "sessions_id_key";\n'),
    Case("null-defaults", 2, 1, 'ALTER TABLE "notes" DROP COLUMN "label";\nALTER TABLE "notes" DROP COLUMN "memo";\n'),
    Case("column-collation", 2, 1, 'ALTER TABLE "products" DROP COLUMN "slug";\n'),
    Case(
        "index-keys",
        2,
        1,
        "".join(
            f'DROP INDEX "{name}";\n'
            for name in (
                "events_created_at_desc_idx",
                "events_created_at_sql_desc_idx",
                "events_email_pattern_idx",
                "events_email_sql_pattern_idx",
                "events_code_c_idx",
                "events_email_lower_idx",
                "events_code_created_idx",
            )
        ),
    ),
]
WARNED = [c for c in CASES if c.warnings]


def fixture_copy(case: Case, tmp_path: Path) -> Path:
    """A private copy of the fixture with the example's node_modules linked in (drizzle-kit, pg)."""
    target = tmp_path / case.name
    shutil.copytree(FIXTURES / case.name, target)
    (target / "node_modules").symlink_to(EXAMPLE / "node_modules", target_is_directory=True)
    return target


def journal_tags(ws: Path) -> list[str]:
    return [e["tag"] for e in json.loads((ws / "drizzle" / "meta" / "_journal.json").read_text())["entries"]]


def drizzle_migrate(ws: Path, url: str) -> subprocess.CompletedProcess[str]:
    """drizzle-kit 0.31.11's own `migrate` on the fixture's drizzle.config.ts."""
    done = run_drizzle_kit(ws / "node_modules" / "drizzle-kit" / "bin.cjs", ws, url, timeout=120)
    assert done.returncode == 0, f"drizzle-kit migrate failed:\n{done.stdout}\n{done.stderr}"
    return done


@dataclass
class DrizzleRun:
    """What drizzle-kit alone leaves in an empty database: a template database, its rows and catalog."""

    template: str
    rows: list[tuple[str, int]]
    catalog: list[str]


class DrizzleRuns:
    """One drizzle-kit migrate per case and worker; tests clone its database (CREATE DATABASE … TEMPLATE)."""

    def __init__(self, admin: psycopg.Connection, server_url: str, tmp: Path) -> None:
        self.admin, self.server_url, self.tmp = admin, server_url, tmp
        self.runs: dict[str, DrizzleRun] = {}

    def __getitem__(self, case: Case) -> DrizzleRun:
        if case.name not in self.runs:
            name = f"hist_{uuid.uuid4().hex[:10]}"
            self.admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
            url = url_for(self.server_url, name)
            drizzle_migrate(fixture_copy(case, self.tmp / name), url)
            self.runs[case.name] = DrizzleRun(name, rows(url), catalog(url))
        return self.runs[case.name]

    def clone(self, case: Case, databases) -> str:  # type: ignore[no-untyped-def]
        """A fresh database holding what drizzle-kit's migrate made of the whole history."""
        return databases.create(template=self[case].template)

    def drop_all(self) -> None:
        for run in self.runs.values():
            self.admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(run.template)))


@pytest.fixture(scope="module")
def drizzle_runs(
    admin: psycopg.Connection, pg_server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DrizzleRuns]:  # type: ignore[no-untyped-def]
    runs = DrizzleRuns(admin, pg_server.url, tmp_path_factory.mktemp("drizzle-only"))
    yield runs
    runs.drop_all()


def inv(ws: Path, task: str, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_inv(task, "--workspace", str(ws), "--url", url, *args)


def accepted_args(case: Case, ws: Path, tmp_path: Path) -> list[str]:
    """The fixture's accepted file, or one that does not exist (so the repository's own is never read)."""
    path = ws / "accepted-differences.txt" if case.accepted else tmp_path / "none-accepted.txt"
    return ["--accepted", str(path)]


def verify(case: Case, ws: Path, url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    checks = tmp_path / "no-checks"  # the repository's checks/ are the wishlist's, not this history's
    checks.mkdir(exist_ok=True)
    return inv(ws, "verify", url, "--checks-dir", str(checks), *accepted_args(case, ws, tmp_path), *extra)


def out(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"


def warning_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning:")]


def case_named(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_inv_migrate_writes_drizzle_kits_rows_then_status_migrate_and_verify_pass(
    case: Case, drizzle_runs: DrizzleRuns, databases, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    theirs = drizzle_runs[case]
    assert len(theirs.rows) == case.migrations
    ws = fixture_copy(case, tmp_path)
    url = databases.create()

    done = inv(ws, "migrate", url, "--json")
    assert done.returncode == 0, out(done)
    assert rows(url) == theirs.rows  # hash and created_at, row for row
    assert catalog(url) == theirs.catalog
    # an intact history: nothing to say; else one warning per problem, the first lost snapshot named
    warnings = json.loads(done.stdout)["warnings"]
    assert len(warnings) == len(case.warnings) and all(t in w for t, w in zip(case.warnings, warnings, strict=True)), (
        warnings
    )
    assert len(warning_lines(done.stderr)) == len(case.warnings), out(done)

    status = inv(ws, "status", url, "--check", "--json", *([] if case.warnings else ["--strict"]))
    assert status.returncode == 0, out(status)
    again = inv(ws, "migrate", url, "--json")
    assert again.returncode == 0, out(again)
    assert json.loads(again.stdout)["applied"] == []
    assert rows(url) == theirs.rows

    verified = verify(case, ws, url, tmp_path)
    assert verified.returncode == 0, out(verified)
    document = json.loads(status.stdout)  # every task's JSON carries the list, empty or not
    assert "warnings" in document, "status --json has no 'warnings' list"
    assert len(document["warnings"]) == len(case.warnings), document["warnings"]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_takeover_in_both_directions(case: Case, drizzle_runs: DrizzleRuns, databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    theirs = drizzle_runs[case].rows
    ws = fixture_copy(case, tmp_path)
    split_tag = journal_tags(ws)[case.takeover - 1]

    # drizzle-kit applied the first N (a checkout from back then), inv migrate applies the rest
    first_drizzle = databases.create()
    full = keep_journal_entries(ws, case.takeover)
    drizzle_migrate(ws, first_drizzle)
    assert len(rows(first_drizzle)) == case.takeover
    (ws / "drizzle" / "meta" / "_journal.json").write_text(full)
    done = inv(ws, "migrate", first_drizzle)
    assert done.returncode == 0, out(done)
    assert rows(first_drizzle) == theirs

    # inv migrate --to the N-th, drizzle-kit applies the rest
    first_inv = databases.create()
    done = inv(ws, "migrate", first_inv, "--to", split_tag)
    assert done.returncode == 0, out(done)
    assert rows(first_inv) == theirs[: case.takeover]
    drizzle_migrate(ws, first_inv)
    assert rows(first_inv) == theirs
    status = inv(ws, "status", first_inv, "--check")
    assert status.returncode == 0, out(status)


@pytest.mark.parametrize("case", WARNED, ids=str)
def test_strict_turns_the_history_warning_into_exit_1(
    case: Case, drizzle_runs: DrizzleRuns, databases, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ws = fixture_copy(case, tmp_path)
    url = drizzle_runs.clone(case, databases)
    for task, extra in (("status", ["--check"]), ("migrate", []), ("plan", []), ("lint", ["--pending"])):
        strict = inv(ws, task, url, *extra, "--strict")
        assert strict.returncode == 1, f"{task} --strict: {out(strict)}"
        assert case.warnings[0] in strict.stderr, f"{task} --strict: {out(strict)}"
    as_json = inv(ws, "status", url, "--json")
    assert as_json.returncode == 0, out(as_json)
    assert any(case.warnings[0] in w for w in json.loads(as_json.stdout)["warnings"]), out(as_json)
    strict_verify = verify(case, ws, url, tmp_path, "--strict")
    assert strict_verify.returncode == 1, out(strict_verify)


def test_broken_chain_is_named_where_the_chain_is_read(drizzle_runs: DrizzleRuns, databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """drift reads the snapshots: it names the snapshot whose prevId matches nothing, and still exits 0."""
    case = case_named("broken-chain")
    ws = fixture_copy(case, tmp_path)
    url = drizzle_runs.clone(case, databases)
    drift = inv(ws, "drift", url, "--check")
    assert drift.returncode == 0, out(drift)
    assert any(
        "drizzle/meta/0002_snapshot.json" in w and "4a8a0a67-7e84-4a7d-8690-c3cac2c0253d" in w
        for w in warning_lines(drift.stderr)
    ), out(drift)
    strict = inv(ws, "drift", url, "--check", "--strict")
    assert strict.returncode == 1, out(strict)


def test_merged_entries_whose_when_goes_backwards(drizzle_runs: DrizzleRuns, databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Empty database: journal order, drizzle-kit's rows. Upgraded one (had only main's entries): out-of-order."""
    case = case_named("prefix-timestamp")
    theirs = drizzle_runs[case].rows
    ws = fixture_copy(case, tmp_path)
    tags = journal_tags(ws)
    assert tags[2:] == ["20261201161139_seed_system_user", "20261201161136_tasks", "20261201161137_task_labels"]

    empty = databases.create()
    done = inv(ws, "migrate", empty, "--json")
    assert done.returncode == 0, out(done)
    assert [m["tag"] for m in json.loads(done.stdout)["applied"]] == tags  # journal order
    assert rows(empty) == theirs

    upgraded = databases.create()  # deployed before the merge: main's three entries only
    full = keep_journal_entries(ws, 3)
    assert inv(ws, "migrate", upgraded).returncode == 0
    (ws / "drizzle" / "meta" / "_journal.json").write_text(full)
    status = inv(ws, "status", upgraded, "--json", "--check")
    assert status.returncode == 1, out(status)
    states = {m["tag"]: m["state"] for m in json.loads(status.stdout)["migrations"]}
    assert states == {
        tags[0]: "applied",
        tags[1]: "applied",
        tags[2]: "applied",
        tags[3]: "out-of-order",
        tags[4]: "out-of-order",
    }, out(status)
    drizzle_migrate(ws, upgraded)  # what drizzle-kit does here: skips both, exit 0
    assert len(rows(upgraded)) == 3


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rollback_one_step_with_verify_then_verify(
    case: Case, drizzle_runs: DrizzleRuns, databases, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    theirs = drizzle_runs[case].rows
    ws = fixture_copy(case, tmp_path)
    url = drizzle_runs.clone(case, databases)  # drizzle-kit migrated it; inv rolls back
    rollback_dir = tmp_path / "rollback"
    rollback_dir.mkdir()
    head = journal_tags(ws)[-1]
    (rollback_dir / f"{head}.down.sql").write_text(case.down)

    done = inv(
        ws,
        "rollback",
        url,
        "--steps",
        "1",
        "--verify",
        "--rollback-dir",
        str(rollback_dir),
        *accepted_args(case, ws, tmp_path),
    )
    assert done.returncode == 0, out(done)
    assert rows(url) == theirs[:-1]
    verified = verify(case, ws, url, tmp_path)
    assert verified.returncode == 0, out(verified)
    again = inv(ws, "migrate", url)
    if case.head_not_newer:  # re-applying the head needs a person's word: drizzle-kit would skip it
        assert again.returncode == 2, out(again)
        assert f"{head} not applied but older than the newest applied migration" in again.stderr
        again = inv(ws, "migrate", url, "--allow-out-of-order")
    assert again.returncode == 0, out(again)
    assert rows(url) == theirs


def test_hand_drift_fails_verify_without_its_accepted_file(
    drizzle_runs: DrizzleRuns, databases, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    case = case_named("hand-drift")
    ws = fixture_copy(case, tmp_path)
    url = drizzle_runs.clone(case, databases)
    checks = tmp_path / "no-checks"
    checks.mkdir()
    without = inv(ws, "verify", url, "--checks-dir", str(checks), "--accepted", str(tmp_path / "none.txt"), "--json")
    assert without.returncode == 1, out(without)
    differences = json.loads(without.stdout)["checks"][0]["differences"]
    assert differences == [
        "column products.search_vector: not in snapshot",
        "index products_lower_sku_idx: not in snapshot (on products)",
        "index products_search_vector_idx: not in snapshot (on products)",
    ]
    accepted = (ws / "accepted-differences.txt").read_text().splitlines()
    assert all(line in accepted for line in differences)  # the committed file names exactly these
    schema_status = inv(ws, "status", url, "--schema", "--check", *accepted_args(case, ws, tmp_path))
    assert schema_status.returncode == 0, out(schema_status)
    drift = inv(ws, "drift", url, "--check", *accepted_args(case, ws, tmp_path))
    assert drift.returncode == 0, out(drift)


def test_long_names_conform_as_postgresql_stores_them(drizzle_runs: DrizzleRuns, databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    case = case_named("long-names")
    ws = fixture_copy(case, tmp_path)
    url = drizzle_runs.clone(case, databases)
    stored = "\n".join(catalog(url))
    assert "workspace_member_permissions_workspace_id_user_id_workspace_mem" in stored
    assert "événements_récurrents_organisateur_id_fin_prévue_début_pr" in stored
    verified = verify(case, ws, url, tmp_path, "--json")
    assert verified.returncode == 0, out(verified)
    assert "not in snapshot" not in verified.stdout and "missing" not in verified.stdout, out(verified)


def test_enum_in_another_order_is_a_warning_not_a_failure(drizzle_runs: DrizzleRuns, databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    case = case_named("enum-order")
    ws = fixture_copy(case, tmp_path)
    url = drizzle_runs.clone(case, databases)
    verified = verify(case, ws, url, tmp_path, "--json")
    assert verified.returncode == 0, out(verified)
    (check,) = json.loads(verified.stdout)["checks"]
    assert check["result"] == "pass", check
    assert "enum order_status: same values in another order" in json.dumps(check), check


def test_duplicate_when_after_drizzle_kit_skipped_it(drizzle_runs: DrizzleRuns, databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """drizzle-kit applied 0000-0001, then skips 0002 (same when) for good; inv names it and applies it when told."""
    case = case_named("duplicate-when")
    theirs = drizzle_runs[case].rows
    ws = fixture_copy(case, tmp_path)
    url = databases.create()
    full = keep_journal_entries(ws, 2)
    drizzle_migrate(ws, url)
    (ws / "drizzle" / "meta" / "_journal.json").write_text(full)
    drizzle_migrate(ws, url)
    assert len(rows(url)) == 2  # drizzle-kit skipped 0002_default_flags without a word

    status = inv(ws, "status", url, "--json")
    states = [m["state"] for m in json.loads(status.stdout)["migrations"]]
    assert states == ["applied", "applied", "out-of-order"], states
    refused = inv(ws, "migrate", url)
    assert refused.returncode == 2, out(refused)
    assert "0002_default_flags not applied but older than the newest applied migration" in refused.stderr
    done = inv(ws, "migrate", url, "--allow-out-of-order")
    assert done.returncode == 0, out(done)
    assert rows(url) == theirs


@pytest.mark.parametrize("name", ["prefix-unix", "prefix-timestamp"])
def test_every_tasks_json_carries_the_warnings_list(
    name: str, drizzle_runs: DrizzleRuns, databases, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Scripts read `warnings` from every task's JSON, empty or not."""
    case = case_named(name)
    ws = fixture_copy(case, tmp_path)
    url = drizzle_runs.clone(case, databases)
    empty = tmp_path / "empty"
    empty.mkdir()
    runs = {
        "status": ["status"],
        "migrate": ["migrate"],
        "drift": ["drift"],
        "plan": ["plan"],
        "lint": ["lint", "--pending"],
        "verify": ["verify", "--checks-dir", str(empty), *accepted_args(case, ws, tmp_path)],
        "rollback --dry-run": ["rollback", "--dry-run", "--rollback-dir", str(empty)],
    }
    missing = {}
    for label, (task, *args) in runs.items():
        done = inv(ws, task, url, *args, "--json")
        document = json.loads(done.stdout)
        if len(document.get("warnings", ["no 'warnings' key"])) != len(case.warnings):
            missing[label] = document.get("warnings", "no 'warnings' key")
    assert missing == {}


STORED = {  # what the server holds after drizzle-kit's migrate, as each fixture's README says
    "redundant-unique": (
        "select string_agg(conname || ':' || contype::text, ',' order by conname) from pg_constraint"
        " where connamespace = 'public'::regnamespace and contype in ('p', 'u')",
        "accounts_id_key:p,memberships_pk:p,sessions_id_key:u,sessions_pkey:p",
    ),
    "null-defaults": (
        "select string_agg(a.attname || '=' || pg_get_expr(d.adbin, d.adrelid), ',' order by a.attnum)"
        " from pg_attrdef d join pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum"
        " where d.adrelid = 'notes'::regclass and a.attname <> 'id'",
        "title=NULL::character varying,label=NULL::character varying",
    ),
    "column-collation": (
        "select string_agg(a.attname || '=' || c.collname, ',' order by a.attnum) from pg_attribute a"
        " join pg_collation c on c.oid = a.attcollation where a.attrelid = 'products'::regclass",
        "sku=C,name=default,slug=C",
    ),
    "index-keys": (
        "select string_agg(c.relname || ':' || i.indoption::text || ':' || (i.indexprs is null)::text, ','"
        " order by c.relname) from pg_index i join pg_class c on c.oid = i.indexrelid"
        " where i.indrelid = 'events'::regclass and not i.indisprimary",
        "events_code_c_idx:0:true,events_code_created_idx:2 1:true,events_created_at_desc_idx:1:true,"
        "events_created_at_sql_desc_idx:3:true,events_email_lower_idx:0:false,events_email_pattern_idx:0:true,"
        "events_email_sql_pattern_idx:0:true",
    ),
}


@pytest.mark.parametrize("name", sorted(STORED))
def test_postgresql_stores_these_histories_as_their_readmes_say(
    name: str, drizzle_runs: DrizzleRuns, databases, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The catalogue facts verify's storage rules rely on, checked on whichever PostgreSQL runs the tests."""
    case = case_named(name)
    url = drizzle_runs.clone(case, databases)
    query, expected = STORED[name]
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None and row[0] == expected
    verified = verify(case, fixture_copy(case, tmp_path), url, tmp_path, "--json")
    assert verified.returncode == 0, out(verified)
