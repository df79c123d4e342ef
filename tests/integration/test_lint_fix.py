"""`lint --fix` end to end: migrations written by real drizzle-kit, fixed, then applied by drizzle-kit and by us.

The fixtures (tests/fixtures/safe-by-default) add an index, a foreign key, a NOT NULL, a unique constraint and a
primary key to tables that hold rows. After `lint --fix --pending --url`, real drizzle-kit (0.31, and 1.0 for the
v1 layout) and `inv migrate` apply the fixed files to twin databases: the catalog (pg_dump --schema-only) and the
rows are the same, and the same as the catalog drizzle-kit's unfixed originals give; lint finds nothing left.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.helpers import (
    EXAMPLE,
    NO_DRIZZLE_KIT,
    NO_DRIZZLE_KIT_V1,
    ROOT,
    V1,
    requires,
    rows,
    run_drizzle_kit,
    run_inv,
    schema_dump,
)
from tests.helpers import drizzle_kit_applied as drizzle_kit

FIXTURES = ROOT / "tests" / "fixtures" / "safe-by-default"
KIT_031 = EXAMPLE / "node_modules" / "drizzle-kit" / "bin.cjs"
KIT_V1 = V1 / "node_modules" / "drizzle-kit" / "bin.cjs"

pytestmark = [pytest.mark.drizzle]

ROWS = (
    "insert into authors (email, name) select 'author' || g || '@example.org', 'Author ' || g "
    "from generate_series(1, 200) g; "
    "insert into posts (author_id, slug, title, published_at) select (g % 200) + 1, 'post-' || g, 'Post ' || g, "
    "now() - g * interval '1 hour' from generate_series(1, 5000) g; "
    "insert into post_tags (post_id, tag) select g, 'tag-' || (g % 7) from generate_series(1, 3000) g"
)
DATA = (
    "select (select count(*) from authors), (select count(*) from posts), (select count(*) from post_tags), "
    "(select sum(hashtext(slug || title || author_id::text)) from posts)"
)


def workspace(tmp_path: Path, name: str, modules: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    (target / "node_modules").symlink_to(modules, target_is_directory=True)
    return target


def inv(*args: str) -> subprocess.CompletedProcess[str]:
    done = run_inv(*args, timeout=180)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def populated(url: str, ws: Path, first: str) -> None:
    """The first migration applied (by us: the rows drizzle-kit would write), then rows in every table."""
    done = inv("migrate", "--workspace", str(ws), "--url", url, "--to", first)
    assert done.returncode == 0, done.stderr
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(ROWS)


def plan(ws: Path, url: str) -> list[dict[str, object]]:
    """`inv plan --json`'s pending migrations (the example's tables are small: every one counts as large)."""
    done = inv("plan", "--workspace", str(ws), "--url", url, "--json", "--large-rows", "1000")
    assert done.returncode == 0, done.stderr
    pending: list[dict[str, object]] = json.loads(done.stdout)["pending"]
    return pending


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


def fixed_twice_applied(databases, tmp_path: Path, name: str, kit: Path, modules: Path, first: str) -> None:  # type: ignore[no-untyped-def]
    original, ws = workspace(tmp_path / "original", name, modules), workspace(tmp_path / "fixed", name, modules)
    theirs, ours, unfixed = databases.create(), databases.create(), databases.create()
    for url in (theirs, ours, unfixed):
        populated(url, ws, first)
    before = {p: p.read_bytes() for p in sorted(ws.glob("drizzle/**/*.sql"), key=str)}
    blocking = "blocks writes for the whole build", "while writes wait"
    assert any(b in flag for m in plan(original, ours) for flag in m["flags"] for b in blocking)

    done = inv("lint", "--workspace", str(ws), "--fix", "--pending", "--url", ours, "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)

    def migration_of(file: Path) -> str:  # a 0.31 migration is its file, a v1 migration its folder
        return file.name if name == "drizzle-0.31" else file.parent.name

    pending = list(before)[1:]  # every migration but the applied first
    assert [migration_of(Path(f["file"])) for f in document["files"]] == [migration_of(p) for p in pending]
    assert len(pending) == 5 and document["refused"] == []
    assert all(f["unfixed"] == [] for f in document["files"])
    after = {p: p.read_bytes() for p in before}
    assert [p for p in before if before[p] != after[p]] == pending

    # the deploy plan of the fixed files: nothing that blocks writes for a build or a scan (a concurrent build
    # is a note), and SET NOT NULL after its validated CHECK scans nothing
    flags = [flag for m in plan(ws, ours) for flag in m["flags"]]
    assert flags and all("it does not block writes" in flag for flag in flags)

    drizzle_kit(kit, ws, theirs)
    applied = inv("migrate", "--workspace", str(ws), "--url", ours)
    assert applied.returncode == 0, applied.stderr
    drizzle_kit(kit, original, unfixed)

    assert schema_dump(ours) == schema_dump(theirs) == schema_dump(unfixed)
    assert rows(ours) == rows(theirs) and len(rows(ours)) == 6
    assert query(ours, DATA) == query(theirs, DATA) == query(unfixed, DATA)
    assert query(ours, "select count(*) from pg_index where not indisvalid") == [(0,)]

    linted = inv("lint", "--workspace", str(ws), "--fail-on", "warning", "--json")
    assert linted.returncode == 0, linted.stdout
    assert json.loads(linted.stdout)["findings"] == []
    status = inv("status", "--workspace", str(ws), "--url", theirs, "--check")
    assert status.returncode == 0, status.stdout + status.stderr


@requires(KIT_031.exists, NO_DRIZZLE_KIT)
def test_fixed_migrations_apply_with_drizzle_kit_031_and_drizzle_ops_alike(databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fixed_twice_applied(databases, tmp_path, "drizzle-0.31", KIT_031, EXAMPLE / "node_modules", "0000_init")


@requires(KIT_V1.exists, NO_DRIZZLE_KIT_V1)
def test_fixed_migrations_apply_with_drizzle_kit_1_and_drizzle_ops_alike(databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fixed_twice_applied(databases, tmp_path, "drizzle-v1", KIT_V1, V1 / "node_modules", "20261207121431_init")


@requires(KIT_031.exists, NO_DRIZZLE_KIT)
def test_pending_never_touches_what_the_database_applied(databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = workspace(tmp_path, "drizzle-0.31", EXAMPLE / "node_modules")
    url = databases.create()
    assert inv("migrate", "--workspace", str(ws), "--url", url, "--to", "0002_posts_author_fk").returncode == 0
    applied = {p.name: p.read_bytes() for p in sorted((ws / "drizzle").glob("000[0-2]_*.sql"))}
    done = inv("lint", "--workspace", str(ws), "--fix", "--pending", "--url", url)
    assert done.returncode == 0, done.stderr
    assert "fixed 7 statement(s) in 3 file(s); 3 migration(s) the database has not applied" in done.stdout
    assert {p.name: p.read_bytes() for p in sorted((ws / "drizzle").glob("000[0-2]_*.sql"))} == applied
    status = inv("status", "--workspace", str(ws), "--url", url)
    assert "modified" not in status.stdout and "3 applied, 3 pending" in status.stdout


def generated(tmp_path: Path, *args: str) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The example workspace with users.display_name made NOT NULL, and `inv generate` run on it."""
    ws = tmp_path / "database-schema"
    shutil.copytree(EXAMPLE, ws, ignore=shutil.ignore_patterns("node_modules"))
    (ws / "node_modules").symlink_to(EXAMPLE / "node_modules", target_is_directory=True)
    schema = ws / "src" / "schema" / "index.ts"
    text = schema.read_text()
    old = 'displayName: text("display_name"),'
    assert old in text, "the example schema changed: pick another column"
    schema.write_text(text.replace(old, 'displayName: text("display_name").notNull(),', 1))
    done = inv("generate", "--workspace", str(ws), "--rollback-dir", str(tmp_path / "rollback"), "--name", "nn", *args)
    assert done.returncode == 0, done.stderr
    return ws / "drizzle" / "0008_nn.sql", done


@requires(KIT_031.exists, NO_DRIZZLE_KIT)
def test_generate_offers_the_fix_and_writes_nothing(tmp_path: Path) -> None:
    path, done = generated(tmp_path)
    assert path.read_text() == 'ALTER TABLE "users" ALTER COLUMN "display_name" SET NOT NULL;'
    assert "lint --fix would rewrite 1 statement(s) of it into their safe versions:" in done.stdout
    assert "+ALTER TABLE users VALIDATE CONSTRAINT users_display_name_not_null_check;--> statement-breakpoint" in (
        done.stdout
    )
    assert "Apply it with `inv lint --fix --file " in done.stdout


@requires(KIT_031.exists, NO_DRIZZLE_KIT)
def test_generate_fix_writes_the_safe_version_that_migrates_a_populated_table(databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, done = generated(tmp_path, "--fix")
    assert "Rewrote" in done.stdout and "into its safe version (1 statement(s), --fix)" in done.stdout
    assert "VALIDATE CONSTRAINT users_display_name_not_null_check" in path.read_text()
    ws = path.parent.parent
    ours, theirs = databases.create(), databases.create()
    for url in (ours, theirs):
        assert inv("migrate", "--workspace", str(ws), "--url", url, "--to", "0007_wishlist_items").returncode == 0
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "insert into users (email, display_name) select 'u' || g, 'User ' || g from generate_series(1, 100) g"
            )
    assert inv("migrate", "--workspace", str(ws), "--url", ours).returncode == 0
    drizzle_kit(KIT_031, ws, theirs)
    assert schema_dump(ours) == schema_dump(theirs) and rows(ours) == rows(theirs)
    assert query(
        ours, "select attnotnull from pg_attribute where attrelid = 'users'::regclass and attname = 'display_name'"
    ) == [(True,)]


@requires(KIT_031.exists, NO_DRIZZLE_KIT)
def test_a_failed_concurrent_build_is_built_again_when_drizzle_kit_reruns_the_fixed_file(
    databases, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A unique build that fails (duplicate rows) leaves an INVALID index; after the rows are fixed, drizzle-kit's
    rerun of the fixed file drops it and builds it again (IF NOT EXISTS would keep it, and USING INDEX then fails)."""
    ws = workspace(tmp_path, "drizzle-0.31", EXAMPLE / "node_modules")
    url = databases.create()
    populated(url, ws, "0003_posts_title_not_null")
    assert inv("lint", "--workspace", str(ws), "--fix", "--pending", "--url", url).returncode == 0
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("update authors set email = 'twice@example.org' where id in (1, 2)")

    failed = run_drizzle_kit(KIT_031, ws, url)
    assert failed.returncode != 0
    invalid = "select c.relname from pg_index i join pg_class c on c.oid = i.indexrelid where not i.indisvalid"
    assert query(url, invalid) == [("authors_email_unique",)]
    assert len(rows(url)) == 4  # 0004 and 0005 not recorded

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("update authors set email = 'once@example.org' where id = 2")
    drizzle_kit(KIT_031, ws, url)
    assert query(url, invalid) == []
    assert query(url, "select conname from pg_constraint where conname = 'authors_email_unique'") == [
        ("authors_email_unique",)
    ]
    assert len(rows(url)) == 6
