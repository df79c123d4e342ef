"""`inv lint --pending`: lint only what the target database has not applied yet."""

import json
from pathlib import Path

import psycopg
from psycopg import sql

from drizzle_ops.lint import (
    KNOWN_VOLATILE,
    Volatility,
    catalogue_volatility,
    lint_sql,
    major_version,
    read_volatility,
    rule_by_id,
)
from tests.helpers import add_migration, run_inv


def lint_pending(url: str, *extra: str) -> tuple[int, dict[str, object]]:
    result = run_inv("lint", "--pending", "--json", "--url", url, *extra)
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout)


def names(document: dict[str, object]) -> list[str]:
    return [Path(str(f)).name for f in document["files"]]  # type: ignore[attr-defined]


def test_fully_migrated_database_has_nothing_to_lint(migrated_db: str) -> None:
    code, document = lint_pending(migrated_db)
    assert code == 0 and document["files"] == [] and document["findings"] == []


def test_empty_database_lints_every_migration(empty_db: str) -> None:
    code, document = lint_pending(empty_db)
    assert code == 0 and len(names(document)) == 8
    assert document["summary"] == {"warning": 3, "error": 0}


def test_only_the_new_migration_is_reported(migrated_db: str, workspace_copy: Path) -> None:
    add_migration(workspace_copy, "drop_avatar", 'ALTER TABLE "users" DROP COLUMN "avatar_url";')
    code, document = lint_pending(migrated_db, "--workspace", str(workspace_copy))
    assert code == 1
    assert names(document) == ["0008_drop_avatar.sql"]
    assert [f["rule"] for f in document["findings"]] == ["ban-drop-column"]  # type: ignore[attr-defined]


def test_applied_migrations_still_inform_the_rules(migrated_db: str, workspace_copy: Path) -> None:
    # 0008 adds the NOT VALID check; once it is applied, 0009 validates it and sets NOT NULL without a scan
    add_migration(
        workspace_copy,
        "check",
        'ALTER TABLE "users" ADD CONSTRAINT "users_display_name_nn" CHECK ("display_name" IS NOT NULL) NOT VALID;',
    )
    assert run_inv("migrate", "--url", migrated_db, "--workspace", str(workspace_copy)).returncode == 0
    add_migration(
        workspace_copy,
        "not_null",
        'ALTER TABLE "users" VALIDATE CONSTRAINT "users_display_name_nn";--> statement-breakpoint\n'
        'ALTER TABLE "users" ALTER COLUMN "display_name" SET NOT NULL;',
    )
    code, document = lint_pending(migrated_db, "--workspace", str(workspace_copy))
    assert code == 0 and names(document) == ["0009_not_null.sql"] and document["findings"] == []


def test_url_without_pending_is_bad_input(empty_db: str) -> None:
    result = run_inv("lint", "--url", empty_db)
    assert result.returncode == 2 and "--url and --env only matter with --pending" in result.stderr


# Connected lint (issue 16): the server's major and its catalogue's function volatility.


def test_offline_volatile_list_agrees_with_the_catalogue(empty_db: str) -> None:
    with psycopg.connect(empty_db, autocommit=True) as conn:
        found = read_volatility(conn, sorted(KNOWN_VOLATILE))
    core = {"random", "setseed", "nextval", "currval", "lastval", "setval", "clock_timestamp", "timeofday"}
    assert core | {"gen_random_uuid"} <= set(found)  # gen_random_uuid is core since PostgreSQL 13
    assert {name: v for name, v in found.items() if v is not Volatility.VOLATILE} == {}


def test_catalogue_volatility_of_builtins_and_qualified_names(empty_db: str) -> None:
    with psycopg.connect(empty_db, autocommit=True) as conn:
        found = read_volatility(conn, ["now", "lower", "pg_catalog.now", "public.now", "no_such_function"])
    assert found == {"now": Volatility.STABLE, "lower": Volatility.IMMUTABLE, "pg_catalog.now": Volatility.STABLE}


def test_connected_lint_reads_volatility_and_version_from_the_server(empty_db: str) -> None:
    add = 'ALTER TABLE "orders" ADD COLUMN "{column}" text DEFAULT {function}();'
    migration = "\n".join(
        [add.format(column="ref", function="next_order_ref"), add.format(column="tenant", function="app.tenant_name")]
    )
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier("app")))
        conn.execute(
            sql.SQL(
                "CREATE FUNCTION {}() RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT md5(random()::text) $$"
            ).format(sql.Identifier("next_order_ref"))
        )
        conn.execute(
            sql.SQL(
                "CREATE FUNCTION {}.{}() RETURNS text LANGUAGE sql STABLE AS $$ SELECT current_user::text $$"
            ).format(sql.Identifier("app"), sql.Identifier("tenant_name"))
        )
        offline = lint_sql(migration, rules=[rule_by_id("adding-field-with-default")])
        major = major_version(conn.info.server_version)
        shown = conn.execute("SHOW server_version_num").fetchone()
        connected = lint_sql(
            migration,
            rules=[rule_by_id("adding-field-with-default")],
            pg_version=major,
            volatility=catalogue_volatility(conn),
        )
    assert shown is not None and major == int(shown[0]) // 10000
    assert offline == []  # neither function is on the offline list
    (finding,) = connected
    assert finding.line == 1 and "next_order_ref()" in finding.message
    assert "pg_proc.provolatile" in finding.message and f"judged for PostgreSQL {major}" in finding.message


# --pg-version and the target's version, as the command line passes them (issue 16)
UUID_DEFAULT = 'ALTER TABLE "users" ADD COLUMN "public_id" uuid DEFAULT gen_random_uuid();'


def server_major(url: str) -> int:
    with psycopg.connect(url) as conn:
        return major_version(conn.info.server_version)


def test_pending_judges_for_the_target_s_major_unless_told(migrated_db: str, workspace_copy: Path) -> None:
    add_migration(workspace_copy, "public_id", UUID_DEFAULT)
    code, document = lint_pending(migrated_db, "--workspace", str(workspace_copy))
    assert document["pg_version"] == server_major(migrated_db)
    assert document["pg_version_from"] == "the target's server_version_num"
    (finding,) = document["findings"]  # type: ignore[misc]
    assert finding["rule"] == "adding-field-with-default" and "gen_random_uuid" in finding["message"]
    assert code == 0  # a warning: the rewrite's cost grows with the table
    _, told = lint_pending(migrated_db, "--workspace", str(workspace_copy), "--pg-version", "10")
    assert told["pg_version"] == 10 and told["pg_version_from"] == "--pg-version"
    assert "judged for PostgreSQL 10" in told["findings"][0]["message"]  # type: ignore[index]


def test_offline_lint_takes_the_version_from_the_flag(workspace_copy: Path) -> None:
    add_migration(workspace_copy, "archived", 'ALTER TYPE "public"."moc_status" ADD VALUE \'deleted\';')
    default = run_inv("lint", "--json", "--workspace", str(workspace_copy))
    assert json.loads(default.stdout)["pg_version"] == 14  # the oldest supported major
    old = run_inv("lint", "--json", "--workspace", str(workspace_copy), "--pg-version", "11")
    document = json.loads(old.stdout)
    assert document["pg_version"] == 11 and old.returncode == 1  # ADD VALUE in a transaction fails before 12
    assert any(f["rule"] == "adding-enum-value" and f["severity"] == "error" for f in document["findings"])
    bad = run_inv("lint", "--pg-version", "sixteen")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: --pg-version 'sixteen': give a PostgreSQL major version such as 16 (9 to 99)"


def test_plan_lints_for_the_target_s_major(migrated_db: str, workspace_copy: Path) -> None:
    add_migration(workspace_copy, "public_id", UUID_DEFAULT)
    result = run_inv("plan", "--json", "--url", migrated_db, "--workspace", str(workspace_copy))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    major = server_major(migrated_db)
    assert document["pg_version"] == major
    (migration,) = document["pending"]
    assert [f["rule"] for f in migration["findings"]] == ["adding-field-with-default"]
    assert f"judged for PostgreSQL {major}" in migration["findings"][0]["message"]
