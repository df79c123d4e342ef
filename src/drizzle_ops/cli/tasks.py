"""The tasks: each one's flags (declared once in cli/flags.py, or here when only it has them) and its run function.

Shared by `inv` in this repository (tasks.py) and the `drizzle-ops` program. A task's run function is
imported only when it runs, so `inv migrate` does not pay for the SQL parser or the schema comparison.
Adding a flag to a task: its Flag here, a field of that task's options dataclass, and the code that uses it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from invoke.collection import Collection

from drizzle_ops.cli import flag_values as value
from drizzle_ops.cli.flags import (
    ACCEPTED,
    ACCEPTED_HELP,
    ENV,
    JSON,
    KEEP_GOING,
    LOCK_WAIT,
    ONLY,
    PROJECT_ROOT_KEY,
    ROLLBACK_DIR,
    SHARD,
    STRICT,
    TARGET,
    URL,
    WORKSPACE,
    YES,
    Flag,
    Given,
    TaskSpec,
    declare,
    given_to,
    parse,
)
from drizzle_ops.context.config import Settings

RUNNERS = ("drizzle-ops", "drizzle")
FORMATS = ("table", "json", "markdown")  # lint's and plan's --format


def _fail_on(given: str | None) -> str:
    from drizzle_ops.lint.finding import Severity  # loaded when lint runs, never for the other tasks

    levels = [level.value for level in sorted(Severity, key=lambda level: -level.rank)]  # error, warning
    return value.choice("--fail-on", given, [*levels, "never"]) or "error"


def _provider(given: str | None) -> str | None:
    from drizzle_ops.disposable.default import PROVIDERS

    return value.choice("--provider", given, PROVIDERS)


migrate = declare(
    TaskSpec(
        "migrate",
        "Apply pending migrations: one transaction each, under an advisory lock (on a fleet: on every target).",
        (
            *TARGET,
            Flag("to", "stop after this migration tag"),
            Flag("dry_run", "print the SQL that would run; change nothing", default=False),
            Flag(
                "allow_out_of_order",
                "also apply unapplied migrations older than the newest applied one (a v1 workspace applies them "
                "anyway, as drizzle-kit 1.0 does, unless --strict)",
                default=False,
            ),
            Flag("allow_modified", "run even though an applied migration's file has changed", default=False),
            LOCK_WAIT,
            YES,
            Flag(
                "verify",
                "after each migration, compare the schema with its snapshot; on a difference revert it and stop",
                default=False,
            ),
            ROLLBACK_DIR.but(help="folder of <tag>.down.sql files that --verify reverts with (default sql/rollback)"),
            Flag(
                "runner",
                "drizzle-ops (default) or drizzle: run the workspace's own db:migrate (drizzle-kit) under our lock",
                parse=lambda given: value.choice("--runner", given, RUNNERS),
            ),
            STRICT,
            SHARD,
            ONLY,
            KEEP_GOING,
            ACCEPTED.but(help="with --verify: " + ACCEPTED_HELP),
        ),
        "drizzle_ops.cli.migrate:run_migrate",
        keeps_h=True,
    )
)

status = declare(
    TaskSpec(
        "status",
        "Show each migration's state: applied, pending, modified, out-of-order, missing-file, not-in-journal.",
        (
            *TARGET,
            Flag(
                "check",
                "exit 1 if anything is pending, modified, out of order, missing its file (or, with --schema, drifted)",
                default=False,
            ),
            Flag(
                "schema",
                "also compare the live schema with the snapshot of the applied head and list the differences",
                default=False,
            ),
            STRICT,
            ACCEPTED.but(help="with --schema: " + ACCEPTED_HELP),
            Flag(
                "all",
                "list every migration (past 20, only those needing attention and the newest 5 applied are shown)",
                default=False,
            ),
            SHARD,
            ONLY,
        ),
        "drizzle_ops.cli.status:run_status",
        keeps_h=True,
    )
)

drift = declare(
    TaskSpec(
        "drift",
        "Show drift: edited, skipped or missing migrations, and schema differences from the applied snapshot.",
        (
            *TARGET,
            Flag(
                "check",
                "exit 1 on any drift (files against rows, or the schema against its snapshot); pending is no drift",
                default=False,
            ),
            STRICT,
            ACCEPTED,
        ),
        "drizzle_ops.cli.drift:run_drift_task",
    )
)

generate = declare(
    TaskSpec(
        "generate",
        "Run the workspace's drizzle-kit generate, check and lint its output, and draft the down migration.",
        (
            Flag("name", "the migration's name (its tag becomes NNNN_name); passed to drizzle-kit generate --name"),
            Flag("custom", "an empty migration for hand-written SQL (drizzle-kit generate --custom)", default=False),
            WORKSPACE,
            JSON,
            ROLLBACK_DIR.but(help="folder the down draft <tag>.down.sql is written to (default sql/rollback)"),
            Flag(
                "check",
                "write nothing: exit 1, with the SQL generate would write, when the schema holds changes that no "
                "migration does (drizzle-kit runs on a scratch copy of the migrations folder); exit 0 when there "
                "are none",
                default=False,
            ),
            Flag(
                "fix",
                "rewrite the new migration's flagged statements into their safe versions, as `lint --fix` does "
                "(without it generate prints the diff and how to apply it)",
                default=False,
            ),
        ),
        "drizzle_ops.cli.generate:run_generate",
        keeps_h=True,
    )
)

repair = declare(
    TaskSpec(
        "repair",
        "Record the current hash of an applied migration whose file was edited on purpose (shows the diff).",
        (
            Flag("tag", "the applied migration whose edited file should be recorded as it is now"),
            *TARGET,
            YES.but(
                help="do it; without --yes repair only shows the change (and a protected environment needs it anyway)"
            ),
            LOCK_WAIT.but(help="seconds to wait for a running migrate or rollback to release the lock (default 60)"),
            STRICT,
        ),
        "drizzle_ops.cli.repair:run_repair",
    )
)

rollback = declare(
    TaskSpec(
        "rollback",
        "Undo applied migrations newest first with their down files: one transaction each, under the lock.",
        (
            *TARGET,
            Flag(
                "steps",
                "how many applied migrations, newest first (default 1)",
                parse=lambda given: value.whole_number("--steps", given, least=1, of="migrations"),
            ),
            Flag("to", "undo every migration applied after this tag; the tag itself stays applied"),
            Flag("all", "undo every applied migration", default=False),
            Flag(
                "dry_run",
                "print the down SQL that would run; change nothing (with --draft: print the drafts, write none)",
                default=False,
            ),
            YES.but(help="confirm a rollback on a protected environment (a terminal also asks for its name)"),
            ROLLBACK_DIR,
            LOCK_WAIT.but(help="seconds to wait for a running migrate or rollback to release the lock (default 60)"),
            STRICT,
            Flag(
                "verify",
                "after each down file, compare the schema with the snapshot of the migration that is now head, "
                "before that step commits; on a difference undo that step and stop",
                default=False,
            ),
            ACCEPTED.but(help="with --verify: " + ACCEPTED_HELP),
            Flag(
                "draft",
                "draft the down files of the newest --steps N migrations in the journal (or --to TAG, --all) "
                "from their snapshots into --rollback-dir, never over an existing file; reads no database",
                default=False,
            ),
        ),
        "drizzle_ops.cli.rollback:run_rollback",
    )
)

verify = declare(
    TaskSpec(
        "verify",
        "Run the database's checks and snapshot conformance read-only; exit 1 on any failure.",
        (
            *TARGET,
            Flag("junit", "also write the results as JUnit XML to this file (for CI)"),
            Flag(
                "only",
                "run only this check id (repeatable, or comma-separated); snapshot-conformance is the built-in one",
                iterable=True,
            ),
            Flag("checks_dir", "folder of check modules (default checks, from invoke.yaml)", setting="checks_dir"),
            Flag(
                "rollback_drafts",
                "instead, check offline that no down file of a journal migration is still an "
                "unreviewed draft from inv generate or inv rollback --draft",
                default=False,
            ),
            ROLLBACK_DIR.but(help="folder of <tag>.down.sql files that --rollback-drafts reads (default sql/rollback)"),
            STRICT,
            ACCEPTED,
            Flag(
                "accept",
                "instead, write today's schema differences to the --accepted file (kept: its comments and the "
                "lines still seen; removed: lines no longer seen); review it, give each line a reason, commit it",
                default=False,
            ),
            SHARD,
            ONLY.but(name="targets", help=ONLY.help + " (--only names checks here)"),
        ),
        "drizzle_ops.cli.verify:run_verify",
        keeps_h=True,
    )
)

up = declare(
    TaskSpec(
        "up",
        "Start the disposable default PostgreSQL server (reused by later tasks).",
        (
            Flag(
                "provider",
                "auto (docker if an engine answers, else local), docker or local",
                parse=_provider,
            ),
            Flag("pg", "PostgreSQL major version, e.g. 16", parse=lambda given: value.pg_major("--pg", given)),
            JSON,
        ),
        "drizzle_ops.cli.db:db_up",
    )
)

down = declare(
    TaskSpec(
        "down",
        "Stop the disposable default server and delete its data.",
        (
            Flag("all", "also remove every container drizzle-ops labelled (leftovers of killed runs)", default=False),
            JSON,
        ),
        "drizzle_ops.cli.db:db_down",
    )
)

url = declare(
    TaskSpec(
        "url",
        "Print the URL of the disposable default server.",
        (Flag("reveal", 'include the password (for scripts: psql "$(inv db.url --reveal)")', default=False), JSON),
        "drizzle_ops.cli.db:db_url",
    )
)

lint = declare(
    TaskSpec(
        "lint",
        "Check migration SQL for lock and compatibility hazards (squawk's rule ids); offline unless --pending.",
        (
            Flag(
                "file",
                "a migration .sql file or a folder of them (repeatable; or list files after `--`); "
                "default: every migration of the workspace",
                iterable=True,
            ),
            WORKSPACE,
            JSON,
            Flag(
                "fail_on",
                "exit 1 on findings at this level or above: error (default), warning or never",
                default="error",
                parse=_fail_on,
            ),
            Flag(
                "exclude",
                "comma-separated rule ids not to check",
                parse=lambda given: value.rule_ids("--exclude", given),
            ),
            Flag("rules", "list the rules with their docs, then exit", default=False),
            Flag("pending", "lint only the migrations the database (--url/--env) has not applied yet", default=False),
            URL.but(help=URL.help + " (only with --pending)"),
            ENV.but(help=ENV.help + " (only with --pending)"),
            STRICT,
            Flag(
                "pg_version",
                "the PostgreSQL major the version-dependent rules judge for (default: the target's with "
                "--pending, else `pg` in invoke.yaml, else 14)",
                parse=lambda given: value.pg_major("--pg-version", given),
            ),
            Flag(
                "format",
                "table (default), json (as --json) or markdown (a pull-request comment; on GitHub Actions also "
                "appended to the job summary)",
                parse=lambda given: value.choice("--format", given, FORMATS),
            ),
            Flag(
                "since",
                "lint only the migrations whose files were added or changed since the branch left this git ref "
                "(git merge-base REF HEAD; uncommitted and untracked files count): a pull-request gate, "
                "e.g. origin/main",
            ),
            Flag(
                "fix",
                "rewrite the flagged statements into their safe versions (CONCURRENTLY, NOT VALID then VALIDATE, "
                "…) and print the diff; only in migrations no database applied: with --pending (the database's "
                "pending ones), --since REF (the ones the branch adds) or --file (files git has not committed); "
                "a column added with a volatile DEFAULT also gets its batched backfill (and its NOT NULL) as new "
                "migrations after it, made by the workspace's drizzle-kit generate --custom",
                default=False,
            ),
            Flag(
                "check",
                "with --fix: write nothing and run no drizzle-kit, print the diff, and exit 1 when a fix would "
                "change a file or add a migration (CI)",
                default=False,
            ),
            ROLLBACK_DIR.but(
                help="with --fix: folder the down files <tag>.down.sql of the migrations it adds go to, never over "
                "an existing one (default sql/rollback)"
            ),
        ),
        "drizzle_ops.cli.lint:run_lint",
    )
)

plan = declare(
    TaskSpec(
        "plan",
        "Show what migrate would do: pending SQL, lint findings, each table's size, lock, rewrite and scan.",
        (
            *TARGET,
            Flag(
                "large_rows",
                "a table with at least this many rows is large: blocking builds on it are flagged (100000)",
                parse=lambda given: value.whole_number("--large-rows", given, least=0, of="rows"),
            ),
            STRICT,
            Flag(
                "trace",
                "also run the pending migrations on a scratch copy (never the target) and record their real locks",
                default=False,
            ),
            Flag(
                "trace_url",
                "the scratch server for --trace (same major as the target); default: the embedded server",
            ),
            Flag(
                "format",
                "table (default), json (as --json) or markdown (a pull-request comment)",
                parse=lambda given: value.choice("--format", given, FORMATS),
            ),
            Flag(
                "explain_lock",
                "explain a table lock mode (ShareLock, SHARE, …): what takes it, what it blocks; then exit",
                parse=lambda given: value.lock_mode("--explain-lock", given),
            ),
        ),
        "drizzle_ops.cli.plan:run_plan",
    )
)


SPECS: dict[str, TaskSpec] = {
    task.name: task.spec for task in (migrate, status, drift, generate, repair, plan, rollback, verify, lint)
}


def given_for(task: str, settings: Settings, remainder: str = "", **raw: Any) -> Given:
    """What ``task``'s run function gets for these flag values, given as on the command line (for a caller in
    process, such as a test); the settings are taken as they are, so setting flags do not override them here."""
    flags = SPECS[task].flags
    return given_to(settings, flags, parse(flags, raw), remainder)


def namespace(project_root: Path | None = None) -> Collection:
    """Every task; paths in invoke.yaml are relative to ``project_root`` (default: the current folder)."""
    db = Collection("db", up, down, url)
    tasks = Collection(migrate, status, drift, generate, repair, plan, rollback, verify, lint, db)
    if project_root is not None:
        tasks.configure({"drizzle_ops": {PROJECT_ROOT_KEY: str(project_root)}})
    return tasks
