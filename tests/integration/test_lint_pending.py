"""`inv lint --pending`: lint only what the target database has not applied yet."""

import json
from pathlib import Path

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
