"""`lint --fix` on a column added with a volatile DEFAULT: the rewrite, plus the migrations real drizzle-kit adds.

The fixtures (tests/fixtures/volatile-default, made with real drizzle-kit 0.31.11 and 1.0.0-rc.5) add
`users.token uuid DEFAULT gen_random_uuid() NOT NULL` and the nullable `devices.public_id uuid DEFAULT
gen_random_uuid()` to tables that hold rows. After `lint --fix --pending --url`, the workspace's own drizzle-kit
has added a backfill per column and the NOT NULL after them; `inv migrate --verify` applies them one by one with
every snapshot matching, drizzle-kit applies the same files to a twin, and both catalogs equal the one the unfixed
original gives, with a value of its own in every row that was there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.helpers import EXAMPLE, NO_DRIZZLE_KIT, NO_DRIZZLE_KIT_V1, ROOT, V1, requires, rows, run_inv, schema_dump
from tests.helpers import drizzle_kit_applied as drizzle_kit

FIXTURES = ROOT / "tests" / "fixtures" / "volatile-default"
KIT_031 = EXAMPLE / "node_modules" / "drizzle-kit" / "bin.cjs"
KIT_V1 = V1 / "node_modules" / "drizzle-kit" / "bin.cjs"

pytestmark = [pytest.mark.drizzle]

ROWS = (
    "insert into users (email) select 'user' || g || '@example.org' from generate_series(1, 2500) g; "
    "insert into devices (label) select 'device ' || g from generate_series(1, 1200) g"
)
FILLED = (
    "select (select count(*) from users where token is null), (select count(distinct token) from users), "
    "(select count(*) from devices where public_id is null), (select count(distinct public_id) from devices)"
)
NOT_NULL = (
    "select attrelid::regclass::text, attname, attnotnull, pg_get_expr(adbin, adrelid) from pg_attribute "
    "join pg_attrdef on adrelid = attrelid and adnum = attnum where attname in ('token', 'public_id') order by 1"
)
VERSIONS = [
    pytest.param("drizzle-0.31", KIT_031, EXAMPLE / "node_modules", marks=requires(KIT_031.exists, NO_DRIZZLE_KIT)),
    pytest.param("drizzle-v1", KIT_V1, V1 / "node_modules", marks=requires(KIT_V1.exists, NO_DRIZZLE_KIT_V1)),
]


def workspace(tmp_path: Path, name: str, modules: Path | None) -> Path:
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    if modules is not None:
        (target / "node_modules").symlink_to(modules, target_is_directory=True)
    return target


def tags(ws: Path) -> list[str]:
    folder = ws / "drizzle"
    journal = folder / "meta" / "_journal.json"
    if journal.is_file():
        return [entry["tag"] for entry in json.loads(journal.read_text())["entries"]]
    return sorted(p.name for p in folder.iterdir() if (p / "migration.sql").is_file())


def sql_of(ws: Path, tag: str) -> str:
    flat = ws / "drizzle" / f"{tag}.sql"
    return (flat if flat.is_file() else ws / "drizzle" / tag / "migration.sql").read_text()


def files(ws: Path) -> dict[str, bytes]:
    return {str(p.relative_to(ws)): p.read_bytes() for p in sorted(ws.rglob("*")) if p.is_file()}


def inv(*args: str) -> subprocess.CompletedProcess[str]:
    done = run_inv(*args, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def populated(url: str, ws: Path) -> None:
    """The first migration applied, then rows in both tables."""
    done = inv("migrate", "--workspace", str(ws), "--url", url, "--to", tags(ws)[0])
    assert done.returncode == 0, done.stderr
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(ROWS)


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


def reviewed_down(rollback: Path, tag: str) -> None:
    """The team's down file of the fixed migration (drizzle-ops' draft of it, reviewed): --verify needs it, since the
    fixed file commits before the backfill."""
    rollback.mkdir(parents=True, exist_ok=True)
    (rollback / f"{tag}.down.sql").write_text(
        'ALTER TABLE "devices" DROP COLUMN "public_id";--> statement-breakpoint\n'
        'ALTER TABLE "users" DROP COLUMN "token";\n'
    )


@pytest.mark.parametrize(("name", "kit", "modules"), VERSIONS)
def test_fixed_with_backfills_that_drizzle_kit_added_applies_alike_with_every_snapshot_true(
    databases,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    name: str,
    kit: Path,
    modules: Path,
) -> None:
    original, ws = workspace(tmp_path / "original", name, modules), workspace(tmp_path / "fixed", name, modules)
    rollback = tmp_path / "rollback"
    ours, theirs, unfixed = databases.create(), databases.create(), databases.create()
    for url in (ours, theirs, unfixed):
        populated(url, ws)
    init, tokens = tags(ws)

    done = inv(
        "lint", "--workspace", str(ws), "--fix", "--pending", "--url", ours, "--rollback-dir", str(rollback), "--json"
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert [f["unfixed"] for f in document["files"]] == [[]]
    assert [c["rules"] for c in document["files"][0]["changes"]] == [["adding-field-with-default"]] * 2

    new = tags(ws)[2:]
    assert tags(ws)[:2] == [init, tokens] and len(new) == 3
    assert [a["tag"] for a in document["added"]] == new
    assert all(a["written"] and a["down_written"] for a in document["added"])
    assert [t.split("_", 1)[1] for t in new] == [
        "backfill_devices_public_id",
        "backfill_users_token",
        "not_null_users_token",
    ]
    assert sql_of(ws, tokens).startswith(
        "ALTER TABLE devices ADD COLUMN public_id uuid;--> statement-breakpoint\n"
        "ALTER TABLE devices ALTER COLUMN public_id SET DEFAULT gen_random_uuid();--> statement-breakpoint\n"
        "ALTER TABLE users ADD COLUMN token uuid;--> statement-breakpoint\n"
        "ALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();--> statement-breakpoint\n"
    )
    assert sql_of(ws, new[1]).endswith(
        "-- drizzle-ops: batch rows=1000\nUPDATE users SET token = gen_random_uuid() WHERE token IS NULL;\n"
    )
    assert "ALTER TABLE users ALTER COLUMN token SET NOT NULL;" in sql_of(ws, new[2])
    assert (
        (rollback / f"{new[2]}.down.sql").read_text().endswith("ALTER TABLE users ALTER COLUMN token DROP NOT NULL;\n")
    )

    # each step on its own, each checked against its snapshot before the next
    reviewed_down(rollback, tokens)
    for tag in (tokens, *new):
        step = inv(
            "migrate", "--workspace", str(ws), "--url", ours, "--to", tag, "--verify", "--rollback-dir", str(rollback)
        )
        assert step.returncode == 0, step.stdout + step.stderr
        assert [tag] == [t for t in tags(ws) if f"verified: {t} matches its snapshot" in step.stderr]
        if tag == tokens:  # the rows already there wait for the backfill; new rows get the default at once
            assert query(ours, "select count(*) from users where token is null") == [(2500,)]
    drizzle_kit(kit, ws, theirs)
    drizzle_kit(kit, original, unfixed)

    assert schema_dump(ours) == schema_dump(theirs) == schema_dump(unfixed)
    assert query(ours, NOT_NULL) == query(theirs, NOT_NULL) == query(unfixed, NOT_NULL)
    assert query(ours, NOT_NULL) == [
        ("devices", "public_id", False, "gen_random_uuid()"),
        ("users", "token", True, "gen_random_uuid()"),
    ]
    assert query(ours, FILLED) == query(theirs, FILLED) == query(unfixed, FILLED) == [(0, 2500, 0, 1200)]
    assert rows(ours) == rows(theirs) and len(rows(ours)) == 5

    linted = inv("lint", "--workspace", str(ws), "--fail-on", "warning", "--json")
    assert linted.returncode == 0, linted.stdout
    assert json.loads(linted.stdout)["findings"] == []
    for url in (ours, theirs):
        status = inv("status", "--workspace", str(ws), "--url", url, "--check")
        assert status.returncode == 0, status.stdout + status.stderr
    # the newest snapshot is the schema again: drizzle-kit finds nothing to generate
    check = inv("generate", "--workspace", str(ws), "--check")
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize(("name", "kit", "modules"), VERSIONS)
def test_check_writes_nothing_runs_no_drizzle_kit_and_shows_the_new_files(
    databases,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    name: str,
    kit: Path,
    modules: Path,
) -> None:
    ws = workspace(tmp_path, name, None)  # no node_modules: drizzle-kit could not run, nor be installed unnoticed
    url = databases.create()
    populated(url, ws)
    before = files(ws)
    rollback = tmp_path / "rollback"
    args = (
        "lint",
        "--workspace",
        str(ws),
        "--fix",
        "--check",
        "--pending",
        "--url",
        url,
        "--rollback-dir",
        str(rollback),
    )

    done = inv(*args)
    assert done.returncode == 1, done.stdout + done.stderr
    assert files(ws) == before and not rollback.exists()
    assert "a fix would change 2 statement(s) in 1 file(s) and add 3 migration(s); nothing written (--check)" in (
        done.stdout
    )
    assert "a fix would change 1 file(s) and add 3 migration(s)" in done.stderr
    new_files = [line for line in done.stdout.splitlines() if line.startswith("+++ ") and "backfill" in line]
    assert len(new_files) == 2 and done.stdout.count("--- /dev/null\n") == 3
    assert "+UPDATE users SET token = gen_random_uuid() WHERE token IS NULL;\n" in done.stdout

    as_json = inv(*args, "--json")
    assert as_json.returncode == 1 and files(ws) == before
    added = json.loads(as_json.stdout)["added"]
    assert [(a["name"], a["written"], a["down_written"]) for a in added] == [
        ("backfill_devices_public_id", False, False),
        ("backfill_users_token", False, False),
        ("not_null_users_token", False, False),
    ]
    assert all(a["diff"].startswith("--- /dev/null\n") and a["sql"] in a["diff"].replace("\n+", "\n") for a in added)
    if name == "drizzle-0.31":  # migrations.prefix 'index': the names drizzle-kit will give are known
        assert [a["tag"] for a in added] == [
            "0002_backfill_devices_public_id",
            "0003_backfill_users_token",
            "0004_not_null_users_token",
        ]
    else:  # v1 folders: a UTC timestamp of 14 digits each, later than the newest folder and one after another
        stamps = [a["tag"].split("_", 1)[0] for a in added]
        assert [a["tag"].split("_", 1)[1] for a in added] == [a["name"] for a in added]
        newest = max(d.name.split("_", 1)[0] for d in (ws / "drizzle").iterdir() if d.is_dir())
        assert all(len(s) == 14 and s.isdigit() for s in stamps) and [newest, *stamps] == sorted({newest, *stamps})


@pytest.mark.parametrize(("name", "kit", "modules"), VERSIONS)
def test_a_migration_that_is_not_the_newest_keeps_its_volatile_default_with_the_reason(
    databases,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    name: str,
    kit: Path,
    modules: Path,
) -> None:
    ws = workspace(tmp_path, name, modules)
    rollback = tmp_path / "rollback"
    later = inv("generate", "--workspace", str(ws), "--custom", "--name", "later", "--rollback-dir", str(rollback))
    assert later.returncode == 0, later.stderr
    url = databases.create()
    populated(url, ws)
    before = files(ws)

    done = inv("lint", "--workspace", str(ws), "--fix", "--pending", "--url", url, "--json")
    assert done.returncode == 0, done.stderr
    assert files(ws) == before
    document = json.loads(done.stdout)
    assert document["added"] == [] and document["written"] == []
    reasons = [u["reason"] for f in document["files"] for u in f["unfixed"]]
    assert len(reasons) == 2 and all("lint --fix does not reorder migrations" in r for r in reasons)
    assert all(tags(ws)[-1] in r for r in reasons)


GENERATE_ONCE = """\
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const kit = spawnSync(process.execPath, ["node_modules/drizzle-kit/bin.cjs", "generate", ...process.argv.slice(2)], {
  stdio: "inherit",
});
if (fs.existsSync(".generated-once")) {
  console.error("the test's db:generate fails from its second run on, after drizzle-kit wrote its files");
  process.exit(1);
}
fs.writeFileSync(".generated-once", "");
process.exit(kit.status);
"""


@pytest.mark.parametrize(("name", "kit", "modules"), VERSIONS)
def test_when_drizzle_kit_fails_halfway_everything_is_put_back(
    databases,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    name: str,
    kit: Path,
    modules: Path,
) -> None:
    ws = workspace(tmp_path, name, modules)
    (ws / "generate-once.cjs").write_text(GENERATE_ONCE)
    package = json.loads((ws / "package.json").read_text())
    package["scripts"]["db:generate"] = "node generate-once.cjs"
    (ws / "package.json").write_text(json.dumps(package, indent=2))
    url = databases.create()
    populated(url, ws)
    before = files(ws)
    rollback = tmp_path / "rollback"

    done = inv("lint", "--workspace", str(ws), "--fix", "--pending", "--url", url, "--rollback-dir", str(rollback))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "`npm run --silent db:generate -- --name backfill_users_token --custom` failed with exit code 1" in (
        done.stderr
    )
    assert (ws / ".generated-once").exists()  # drizzle-kit did write the first migration, and the second
    assert {k: v for k, v in files(ws).items() if k != ".generated-once"} == before
    assert not rollback.exists()


def example_with_api_key(tmp_path: Path) -> Path:
    """The example workspace (drizzle-kit 0.31) with `users.api_key uuid DEFAULT gen_random_uuid() NOT NULL` added to
    its schema, not generated yet."""
    ws = tmp_path / "database-schema"
    shutil.copytree(EXAMPLE, ws, ignore=shutil.ignore_patterns("node_modules"))
    (ws / "node_modules").symlink_to(EXAMPLE / "node_modules", target_is_directory=True)
    schema = ws / "src" / "schema" / "index.ts"
    text = schema.read_text()
    old = 'displayName: text("display_name"),'
    assert old in text, "the example schema changed: pick another column"
    schema.write_text(text.replace(old, f'{old}\n  apiKey: uuid("api_key").defaultRandom().notNull(),', 1))
    return ws


@requires(KIT_031.exists, NO_DRIZZLE_KIT)
def test_generate_offers_the_backfills_and_generate_fix_adds_them(databases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    offered = example_with_api_key(tmp_path / "offered")
    done = inv("generate", "--workspace", str(offered), "--name", "api_key", "--rollback-dir", str(tmp_path / "r1"))
    assert done.returncode == 0, done.stderr
    assert tags(offered)[-2:] == ["0007_wishlist_items", "0008_api_key"]
    assert "lint --fix would rewrite 1 statement(s) of it into their safe versions:" in done.stdout
    assert "--- /dev/null" in done.stdout and "0009_backfill_users_api_key.sql" in done.stdout
    assert "+UPDATE users SET api_key = gen_random_uuid() WHERE api_key IS NULL;" in done.stdout
    assert "Would add with drizzle-kit generate --custom" in done.stdout

    ws = example_with_api_key(tmp_path / "fixed")
    rollback = tmp_path / "r2"
    done = inv("generate", "--workspace", str(ws), "--name", "api_key", "--fix", "--rollback-dir", str(rollback))
    assert done.returncode == 0, done.stderr
    assert tags(ws)[-3:] == ["0008_api_key", "0009_backfill_users_api_key", "0010_not_null_users_api_key"]
    assert "Added by drizzle-kit generate --custom" in done.stdout
    assert sorted(p.name for p in rollback.iterdir()) == [
        "0008_api_key.down.sql",  # generate's draft of the migration it wrote
        "0009_backfill_users_api_key.down.sql",
        "0010_not_null_users_api_key.down.sql",
    ]
    url = databases.create()
    assert inv("migrate", "--workspace", str(ws), "--url", url, "--to", "0007_wishlist_items").returncode == 0
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("insert into users (email) select 'u' || g || '@example.org' from generate_series(1, 300) g")
    applied = inv("migrate", "--workspace", str(ws), "--url", url)
    assert applied.returncode == 0, applied.stderr
    assert query(url, "select count(*), count(distinct api_key) from users where api_key is not null") == [(300, 300)]
    assert query(
        url, "select attnotnull from pg_attribute where attrelid = 'users'::regclass and attname = 'api_key'"
    ) == [(True,)]
    check = inv("generate", "--workspace", str(ws), "--check")
    assert check.returncode == 0, check.stdout + check.stderr
