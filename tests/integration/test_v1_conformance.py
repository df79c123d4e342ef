"""Snapshot conformance on drizzle-kit v1 workspaces: the snapshot chain folded, compared with a real database."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from drizzle_ops.engine import runner
from drizzle_ops.engine.states import PlanOptions
from drizzle_ops.engine.workspace import load_workspace
from drizzle_ops.verify.conformance import applied_head, check_conformance
from tests.helpers import NO_DRIZZLE_KIT_V1, ROOT, requires, run_inv

V1 = ROOT / "examples" / "drizzle-v1"
V1_KIT = V1 / "node_modules" / ".bin" / "drizzle-kit"
needs_kit = requires(V1_KIT.exists, NO_DRIZZLE_KIT_V1)
WORKSPACE = load_workspace(V1)


def conformance_only(url: str, workspace: Path = V1) -> subprocess.CompletedProcess[str]:
    return run_inv("verify", "--workspace", str(workspace), "--url", url, "--only", "snapshot-conformance", "--json")


@pytest.mark.parametrize("k", range(len(WORKSPACE.migrations)), ids=[m.tag for m in WORKSPACE.migrations])
def test_each_migration_of_the_example_conforms(empty_db: str, k: int) -> None:
    head = WORKSPACE.migrations[k]
    with psycopg.connect(empty_db, autocommit=True) as conn:
        runner.migrate(conn, WORKSPACE, PlanOptions(to=head.tag))
        assert applied_head(WORKSPACE, runner.status(conn, WORKSPACE)) == head
        result = check_conformance(conn, WORKSPACE, head)
    assert result.differences == []
    assert result.tables == k + 1  # users, then sets, then wishlist_items


def test_verify_passes_on_a_migrated_v1_workspace(empty_db: str) -> None:
    assert run_inv("migrate", "--workspace", str(V1), "--url", empty_db).returncode == 0
    result = conformance_only(empty_db)
    assert result.returncode == 0, result.stdout + result.stderr
    (check,) = json.loads(result.stdout)["checks"]
    assert check["result"] == "pass"
    assert check["detail"] == "matches the snapshot of 20261124140358_wishlist_items (3 table(s))"


def test_migrate_verify_checks_each_v1_migration_against_its_folded_snapshot(empty_db: str) -> None:
    rollback = str(V1 / "rollback")
    result = run_inv("migrate", "--verify", "--workspace", str(V1), "--url", empty_db, "--rollback-dir", rollback)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.strip() for line in result.stderr.splitlines() if "verified:" in line] == [
        f"verified: {m.tag} matches its snapshot" for m in WORKSPACE.migrations
    ]


HAND_MADE = {
    "drop index wishlist_items_user_sort_idx": "index wishlist_items_user_sort_idx: missing",
    "alter table wishlist_items alter column currency set default 'EUR'": (
        "column wishlist_items.currency: default 'EUR'::public.wishlist_currency, snapshot says 'USD'"
    ),
    "alter type user_role add value 'owner'": (
        "enum user_role: values (member, admin, owner), snapshot says (member, admin)"
    ),
}


@pytest.mark.parametrize("statement", list(HAND_MADE), ids=["index", "default", "enum"])
def test_a_hand_made_change_is_named(empty_db: str, statement: str) -> None:
    with psycopg.connect(empty_db, autocommit=True) as conn:
        runner.migrate(conn, WORKSPACE)
        conn.execute(statement)
    result = conformance_only(empty_db)
    assert result.returncode == 1, result.stdout + result.stderr
    (check,) = json.loads(result.stdout)["checks"]
    assert check["differences"] == [HAND_MADE[statement]]


def test_an_unreadable_delta_is_a_clear_error(empty_db: str, tmp_path: Path) -> None:
    copy = tmp_path / "v1"
    shutil.copytree(V1, copy, ignore=shutil.ignore_patterns("node_modules"))
    assert run_inv("migrate", "--workspace", str(copy), "--url", empty_db).returncode == 0
    path = copy / "drizzle" / "20261124140327_sets" / "snapshot.json"
    snapshot = json.loads(path.read_text())
    snapshot["deltas"][1]["row"]["entityType"] = "triggers"
    path.write_text(json.dumps(snapshot))
    result = conformance_only(empty_db, copy)
    assert result.returncode == 2
    assert f"{path}: a row of entity type 'triggers'" in result.stderr and "Traceback" not in result.stderr


# -- a longer history made by drizzle-kit itself: renames, a moved table, a schema, branches and their merge ----

SCHEMA_TS = """
import {{ pgTable, pgSchema, uuid, text, pgEnum, integer, index, uniqueIndex, varchar, primaryKey, unique, check,
  foreignKey }} from "drizzle-orm/pg-core";
import {{ sql }} from "drizzle-orm";
export const role = pgEnum("user_role", [{roles}]);
export const users = pgTable("users", {{
  id: uuid("{user_id}").primaryKey().defaultRandom(),
  email: text("email").notNull().unique(),
  role: role("role").default("member").notNull(),{users_extra}
}}, (t) => [uniqueIndex("users_lower_email_idx").on(sql`lower(${{t.email}})`),
  index("users_role_idx").on(t.role.desc()).where(sql`${{t.role}} <> 'member'`)]);
export const sets = pgTable("{sets}", {{
  id: integer("id").primaryKey(),
  userId: uuid("user_id").references(() => users.id, {{ onDelete: "set null", onUpdate: "cascade" }}),
}}, (t) => [index("sets_user_idx").on(t.userId)]);
export const shop = pgSchema("{shop}");
export const currency = shop.enum("{currency}", ["USD", "EUR", "GBP"]);
export const items = {items_table}("wishlist_items", {{
  id: uuid("id").primaryKey().defaultRandom(),
  userId: uuid("user_id").notNull().references(() => users.id, {{ onDelete: "cascade" }}),
  title: varchar("title", {{ length: {title_length} }}).notNull(),
  currency: currency("currency").default("USD").notNull(),
  currencies: currency("currencies").array(),
  sortOrder: integer("sort_order").default(0).notNull(),
}}, (t) => [index("wishlist_items_user_sort_idx").on(t.userId, t.sortOrder)]);
export const memberships = pgTable("memberships", {{
  userId: uuid("user_id").notNull(),
  setId: integer("set_id").notNull(),
  rank: integer("rank").notNull(),
}}, (t) => [primaryKey({{ columns: [t.userId, t.setId] }}), unique("memberships_rank_uq").on(t.setId, t.rank),
  check("memberships_rank_check", sql`${{t.rank}} >= 0`),
  foreignKey({{ name: "memberships_set_fk", columns: [t.setId], foreignColumns: [sets.id] }}).onDelete("cascade")]);
{extra}
"""
START = {
    "roles": '"member", "admin"',
    "user_id": "id",
    "users_extra": "",
    "sets": "sets",
    "shop": "shop",
    "currency": "wishlist_currency",
    "items_table": "pgTable",
    "title_length": "200",
    "extra": "",
}
RENAMES = {
    "user_id": "uid",
    "sets": "collections",
    "shop": "store",
    "currency": "currency_code",
    "items_table": "shop.table",
    "title_length": "300",
    "roles": '"guest", "member", "admin"',
}
RENAME_HINTS = [
    {"type": "rename", "kind": "schema", "from": ["shop"], "to": ["store"]},
    {"type": "rename", "kind": "enum", "from": ["store", "wishlist_currency"], "to": ["store", "currency_code"]},
    {"type": "rename", "kind": "table", "from": ["public", "sets"], "to": ["public", "collections"]},
    {"type": "rename", "kind": "table", "from": ["public", "wishlist_items"], "to": ["store", "wishlist_items"]},
    {"type": "rename", "kind": "column", "from": ["public", "users", "id"], "to": ["public", "users", "uid"]},
]
BRANCH_A = {"users_extra": '\n  nickname: text("nickname"),'}
BRANCH_B = {"extra": 'export const notes = pgTable("notes", { id: integer("id").primaryKey() });'}
MERGE = {"users_extra": '\n  nickname: text("nickname").default("anon"),'}  # changes a row of the second parent


def _generate(workspace: Path, name: str, values: dict[str, str], hints: list[dict[str, object]]) -> Path:
    (workspace / "src" / "schema.ts").write_text(SCHEMA_TS.format(**values))
    before = {p.name for p in (workspace / "drizzle").iterdir()}
    time.sleep(max(0.0, 1.05 - time.time() % 1))  # folders are named by the second
    command = [str(V1_KIT), "generate", "--name", name]
    if hints:
        command += ["--hints", json.dumps(hints)]
    env = {**os.environ, "DATABASE_URL": "postgresql://x@localhost/x"}
    proc = subprocess.run(command, cwd=workspace, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (made,) = [p for p in (workspace / "drizzle").iterdir() if p.name not in before]
    return made


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A v1 workspace whose every migration drizzle-kit 1.0.0-rc.5 generated, with two branches merged at the end."""
    workspace = tmp_path_factory.mktemp("v1-history")
    for name in ("drizzle.config.ts", "package.json"):
        shutil.copy(V1 / name, workspace / name)
    (workspace / "src").mkdir()
    (workspace / "drizzle").mkdir()
    (workspace / "node_modules").symlink_to(V1 / "node_modules")
    _generate(workspace, "start", START, [])
    renamed = {**START, **RENAMES}
    _generate(workspace, "renames", renamed, RENAME_HINTS)
    branch_a = _generate(workspace, "branch_a", {**renamed, **BRANCH_A}, [])
    shutil.move(branch_a, workspace / "parked")  # branch b is generated from the same parent, without branch a
    _generate(workspace, "branch_b", {**renamed, **BRANCH_B}, [])
    shutil.move(workspace / "parked", branch_a)
    _generate(workspace, "merge", {**renamed, **BRANCH_B, **MERGE}, [])
    return workspace


@needs_kit
def test_a_history_generated_by_drizzle_kit_conforms_at_every_step(databases, history: Path) -> None:  # type: ignore[no-untyped-def]
    workspace = load_workspace(history)
    tags = [m.tag.split("_", 1)[1] for m in workspace.migrations]
    assert tags == ["start", "renames", "branch_a", "branch_b", "merge"]
    merge = workspace.migrations[-1].snapshot()
    assert len(merge["prevIds"]) == 2
    for k, migration in enumerate(workspace.migrations):
        url = databases.create()
        with psycopg.connect(url, autocommit=True) as conn:
            runner.migrate(conn, workspace, PlanOptions(to=migration.tag))
            result = check_conformance(conn, workspace, migration)
        assert [str(d) for d in result.differences] == [], (k, migration.tag)
        # at branch b, branch a is applied too (it sorts first) and is no ancestor of b: the open branch is merged in
        assert result.merged == ([workspace.migrations[2].tag] if migration.tag.endswith("branch_b") else []), k


@needs_kit
def test_hand_made_changes_after_renames_and_a_move_are_named(empty_db: str, history: Path) -> None:
    assert run_inv("migrate", "--workspace", str(history), "--url", empty_db).returncode == 0
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("alter table memberships drop constraint memberships_set_fk")
        conn.execute("alter table store.wishlist_items alter column title type varchar(200)")
    result = conformance_only(empty_db, history)
    assert result.returncode == 1
    (check,) = json.loads(result.stdout)["checks"]
    assert check["differences"] == [
        "foreign key memberships_set_fk: missing on memberships",
        "column store.wishlist_items.title: type character varying(200), snapshot says character varying(300)",
    ]
