"""The tasks, their flags and help: shared by `inv` in this repository (tasks.py) and the `drizzle-ops` program.

Each task only names its flags and hands them to its module in drizzle_ops.cli, which loads
only what that task runs (`inv migrate` does not pay for the SQL parser or the schema comparison).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import Task, task

from drizzle_ops.cli import flag_values as value
from drizzle_ops.cli.edge import PROJECT_ROOT_KEY, guarded, settings_from
from drizzle_ops.context.config import Settings

COMMON_HELP = {
    "workspace": "Drizzle package folder (holds drizzle.config.ts); default from invoke.yaml",
    "url": "database URL; default: --env's variable, then $DATABASE_URL, then the embedded default server",
    "env": "environment declared in invoke.yaml (e.g. staging); its URL comes from the variable it names",
    "json": "print one JSON document on stdout (progress and logs stay on stderr)",
    "strict": (
        "exit 1 on any warning about the history (a lost snapshot, a broken snapshot chain, a shared `when`, "
        "an older v1 folder migrate would apply)"
    ),
}
FLEET_HELP = {
    "shard": "on a fleet: run only shard K of N (K/N, e.g. 2/4): every N-th target of the fleet's stable order, "
    "for a CI matrix",
    "only": "on a fleet: only the targets with these labels (comma-separated or repeated; host:port/dbname, or the "
    "label column of targets_query)",
    "keep_going": "on a fleet: after a target fails, start the others anyway (a failed canary still stops the fleet)",
}


class HelpKeepsH(Task):  # type: ignore[type-arg]
    """`inv migrate -h` stays help: invoke would give `h` to a flag such as --shard (`s` being taken)."""

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        taken_names.add("h")
        return super().arg_opts(name, default, taken_names)


ACCEPTED_HELP = (
    "file of reviewed, accepted schema differences that do not fail "
    "(default checks/accepted-differences.txt, from invoke.yaml)"
)


def _settings(
    c: Context,
    workspace: str | None = None,
    strict: bool = False,
    env: str | None = None,
    as_json: bool = False,
    **flags: Any,
) -> Settings:
    # an unset flag must not override `strict: true` in invoke.yaml
    settings = settings_from(c.config, workspace=workspace, strict=strict or None, **flags)
    with guarded(as_json=as_json):
        value.environment(env, settings.environments)
    return settings


@task(
    help={
        **COMMON_HELP,
        "to": "stop after this migration tag",
        "dry_run": "print the SQL that would run; change nothing",
        "allow_out_of_order": (
            "also apply unapplied migrations older than the newest applied one (a v1 workspace applies them "
            "anyway, as drizzle-kit 1.0 does, unless --strict)"
        ),
        "allow_modified": "run even though an applied migration's file has changed",
        "lock_wait": "seconds to wait for another migrate to release the lock (default 60)",
        "yes": "confirm work on a protected environment (a terminal also asks for its name)",
        "verify": "after each migration, compare the schema with its snapshot; on a difference revert it and stop",
        "rollback_dir": "folder of <tag>.down.sql files that --verify reverts with (default sql/rollback)",
        "runner": "drizzle-ops (default) or drizzle: run the workspace's own db:migrate (drizzle-kit) under our lock",
        **FLEET_HELP,
        "accepted": "with --verify: " + ACCEPTED_HELP,
    },
    iterable=["only"],
    klass=HelpKeepsH,
)
def migrate(
    c: Context,
    workspace: str | None = None,
    url: str | None = None,
    env: str | None = None,
    json: bool = False,
    to: str | None = None,
    dry_run: bool = False,
    allow_out_of_order: bool = False,
    allow_modified: bool = False,
    lock_wait: str | None = None,
    yes: bool = False,
    verify: bool = False,
    rollback_dir: str | None = None,
    runner: str | None = None,
    strict: bool = False,
    shard: str | None = None,
    only: list[str] | None = None,
    keep_going: bool = False,
    accepted: str | None = None,
) -> None:
    """Apply pending migrations: one transaction each, under an advisory lock (on a fleet: on every target)."""
    from drizzle_ops.cli.migrate import RUNNERS, run_migrate

    with guarded(as_json=json):
        wait = value.seconds("--lock-wait", lock_wait)
        runner = value.choice("--runner", runner, RUNNERS)
        chosen_shard = value.shard(shard)
    run_migrate(
        _settings(
            c, workspace, strict, env, json, lock_wait=wait, rollback_dir=rollback_dir, accepted_differences=accepted
        ),
        url=url,
        env=env,
        as_json=json,
        to=to,
        dry_run=dry_run,
        allow_out_of_order=allow_out_of_order,
        allow_modified=allow_modified,
        yes=yes,
        verify=verify,
        runner=runner,
        shard=chosen_shard,
        only=only,
        keep_going=keep_going,
    )


@task(
    help={
        **COMMON_HELP,
        "all": "list every migration (past 20, only those needing attention and the newest 5 applied are shown)",
        "check": "exit 1 if anything is pending, modified, out of order, missing its file (or, with --schema, drifted)",
        "schema": "also compare the live schema with the snapshot of the applied head and list the differences",
        "accepted": "with --schema: " + ACCEPTED_HELP,
        "shard": FLEET_HELP["shard"],
        "only": FLEET_HELP["only"],
    },
    iterable=["only"],
    klass=HelpKeepsH,
)
def status(
    c: Context,
    workspace: str | None = None,
    url: str | None = None,
    env: str | None = None,
    json: bool = False,
    check: bool = False,
    schema: bool = False,
    strict: bool = False,
    accepted: str | None = None,
    all: bool = False,
    shard: str | None = None,
    only: list[str] | None = None,
) -> None:
    """Show each migration's state: applied, pending, modified, out-of-order, missing-file, not-in-journal."""
    from drizzle_ops.cli.status import run_status

    with guarded(as_json=json):
        chosen_shard = value.shard(shard)
    run_status(
        _settings(c, workspace, strict, env, json, accepted_differences=accepted),
        url=url,
        env=env,
        as_json=json,
        check=check,
        schema=schema,
        show_all=all,
        shard=chosen_shard,
        only=only,
    )


@task(
    help={
        **COMMON_HELP,
        "check": "exit 1 on any drift (files against rows, or the schema against its snapshot); pending is no drift",
        "accepted": ACCEPTED_HELP,
    }
)
def drift(
    c: Context,
    workspace: str | None = None,
    url: str | None = None,
    env: str | None = None,
    json: bool = False,
    check: bool = False,
    strict: bool = False,
    accepted: str | None = None,
) -> None:
    """Show drift: edited, skipped or missing migrations, and schema differences from the applied snapshot."""
    from drizzle_ops.cli.drift import run_drift

    run_drift(
        _settings(c, workspace, strict, env, json, accepted_differences=accepted),
        url=url,
        env=env,
        as_json=json,
        check=check,
        pending_fails=False,
    )


@task(
    help={
        "name": "the migration's name (its tag becomes NNNN_name); passed to drizzle-kit generate --name",
        "custom": "an empty migration for hand-written SQL (drizzle-kit generate --custom)",
        "workspace": COMMON_HELP["workspace"],
        "json": COMMON_HELP["json"],
        "rollback_dir": "folder the down draft <tag>.down.sql is written to (default sql/rollback)",
        "check": "write nothing: exit 1, with the SQL generate would write, when the schema holds changes that no "
        "migration does (drizzle-kit runs on a scratch copy of the migrations folder); exit 0 when there are none",
    },
    klass=HelpKeepsH,
)
def generate(
    c: Context,
    name: str | None = None,
    custom: bool = False,
    workspace: str | None = None,
    json: bool = False,
    rollback_dir: str | None = None,
    check: bool = False,
) -> None:
    """Run the workspace's drizzle-kit generate, check and lint its output, and draft the down migration."""
    from drizzle_ops.cli.generate import run_generate

    run_generate(
        _settings(c, workspace, rollback_dir=rollback_dir), name=name, custom=custom, as_json=json, check=check
    )


@task(
    help={
        **COMMON_HELP,
        "tag": "the applied migration whose edited file should be recorded as it is now",
        "yes": "do it; without --yes repair only shows the change (and a protected environment needs it anyway)",
        "lock_wait": "seconds to wait for a running migrate or rollback to release the lock (default 60)",
    }
)
def repair(
    c: Context,
    tag: str | None = None,
    workspace: str | None = None,
    url: str | None = None,
    env: str | None = None,
    json: bool = False,
    yes: bool = False,
    lock_wait: str | None = None,
    strict: bool = False,
) -> None:
    """Record the current hash of an applied migration whose file was edited on purpose (shows the diff)."""
    from drizzle_ops.cli.repair import run_repair

    with guarded(as_json=json):
        wait = value.seconds("--lock-wait", lock_wait)
    run_repair(
        _settings(c, workspace, strict, env, json, lock_wait=wait), url=url, env=env, as_json=json, tag=tag, yes=yes
    )


@task(
    help={
        **COMMON_HELP,
        "steps": "how many applied migrations, newest first (default 1)",
        "to": "undo every migration applied after this tag; the tag itself stays applied",
        "all": "undo every applied migration",
        "dry_run": "print the down SQL that would run; change nothing (with --draft: print the drafts, write none)",
        "yes": "confirm a rollback on a protected environment (a terminal also asks for its name)",
        "verify": "after each down file, compare the schema with the snapshot of the migration that is now head, "
        "before that step commits; on a difference undo that step and stop",
        "accepted": "with --verify: " + ACCEPTED_HELP,
        "rollback_dir": "folder of <tag>.down.sql files (default sql/rollback, from invoke.yaml)",
        "lock_wait": "seconds to wait for a running migrate or rollback to release the lock (default 60)",
        "draft": "draft the down files of the newest --steps N migrations in the journal (or --to TAG, --all) "
        "from their snapshots into --rollback-dir, never over an existing file; reads no database",
    }
)
def rollback(
    c: Context,
    workspace: str | None = None,
    url: str | None = None,
    env: str | None = None,
    json: bool = False,
    steps: str | None = None,
    to: str | None = None,
    all: bool = False,
    dry_run: bool = False,
    yes: bool = False,
    rollback_dir: str | None = None,
    lock_wait: str | None = None,
    strict: bool = False,
    verify: bool = False,
    accepted: str | None = None,
    draft: bool = False,
) -> None:
    """Undo applied migrations newest first with their down files: one transaction each, under the lock."""
    from drizzle_ops.cli.rollback import run_rollback

    with guarded(as_json=json):
        wait = value.seconds("--lock-wait", lock_wait)
        count = value.whole_number("--steps", steps, least=1, of="migrations")
    run_rollback(
        _settings(
            c, workspace, strict, env, json, rollback_dir=rollback_dir, lock_wait=wait, accepted_differences=accepted
        ),
        url=url,
        env=env,
        as_json=json,
        steps=count,
        to=to,
        all_=all,
        dry_run=dry_run,
        yes=yes,
        verify=verify,
        draft=draft,
    )


@task(
    iterable=["only", "targets"],
    help={
        **COMMON_HELP,
        "junit": "also write the results as JUnit XML to this file (for CI)",
        "only": "run only this check id (repeatable, or comma-separated); snapshot-conformance is the built-in one",
        "checks_dir": "folder of check modules (default checks, from invoke.yaml)",
        "rollback_drafts": "instead, check offline that no down file of a journal migration is still an "
        "unreviewed draft from inv generate or inv rollback --draft",
        "rollback_dir": "folder of <tag>.down.sql files that --rollback-drafts reads (default sql/rollback)",
        "accepted": ACCEPTED_HELP,
        "accept": "instead, write today's schema differences to the --accepted file (kept: its comments and the "
        "lines still seen; removed: lines no longer seen); review it, give each line a reason, commit it",
        "shard": FLEET_HELP["shard"],
        "targets": FLEET_HELP["only"] + " (--only names checks here)",
    },
    klass=HelpKeepsH,
)
def verify(
    c: Context,
    workspace: str | None = None,
    url: str | None = None,
    env: str | None = None,
    json: bool = False,
    junit: str | None = None,
    only: list[str] | None = None,
    checks_dir: str | None = None,
    rollback_drafts: bool = False,
    rollback_dir: str | None = None,
    strict: bool = False,
    accepted: str | None = None,
    accept: bool = False,
    shard: str | None = None,
    targets: list[str] | None = None,
) -> None:
    """Run the database's checks and snapshot conformance read-only; exit 1 on any failure."""
    from drizzle_ops.cli.verify import check_drafts, run_verify

    with guarded(as_json=json):
        chosen_shard = value.shard(shard)
    if rollback_drafts:
        check_drafts(_settings(c, workspace, strict=strict, rollback_dir=rollback_dir), as_json=json)
        return
    run_verify(
        _settings(c, workspace, strict, env, json, checks_dir=checks_dir, accepted_differences=accepted),
        url=url,
        env=env,
        as_json=json,
        junit=junit,
        only=only,
        accept=accept,
        shard=chosen_shard,
        targets=targets,
    )


@task(
    help={
        "provider": "auto (docker if an engine answers, else local), docker or local",
        "pg": "PostgreSQL major version, e.g. 16",
        "json": COMMON_HELP["json"],
    }
)
def up(
    c: Context,
    provider: str | None = None,
    pg: str | None = None,
    json: bool = False,
) -> None:
    """Start the disposable default PostgreSQL server (reused by later tasks)."""
    from drizzle_ops.cli.db import db_up
    from drizzle_ops.disposable.default import PROVIDERS

    with guarded(as_json=json):
        provider = value.choice("--provider", provider, PROVIDERS)
        major = value.pg_major("--pg", pg)
    db_up(_settings(c), provider=provider, pg_major=str(major) if major else None, as_json=json)


@task(
    help={
        "all": "also remove every container drizzle-ops labelled (leftovers of killed runs)",
        "json": COMMON_HELP["json"],
    }
)
def down(
    c: Context,
    all: bool = False,
    json: bool = False,
) -> None:
    """Stop the disposable default server and delete its data."""
    from drizzle_ops.cli.db import db_down

    db_down(_settings(c), all_=all, as_json=json)


@task(help={"reveal": 'include the password (for scripts: psql "$(inv db.url --reveal)")', "json": COMMON_HELP["json"]})
def url(
    c: Context,
    reveal: bool = False,
    json: bool = False,
) -> None:
    """Print the URL of the disposable default server."""
    from drizzle_ops.cli.db import db_url

    db_url(_settings(c), reveal=reveal, as_json=json)


@task(
    iterable=["file"],
    help={
        "file": "a migration .sql file or a folder of them (repeatable; or list files after `--`); "
        "default: every migration of the workspace",
        "workspace": COMMON_HELP["workspace"],
        "json": COMMON_HELP["json"],
        "strict": COMMON_HELP["strict"],
        "fail_on": "exit 1 on findings at this level or above: error (default), warning or never",
        "exclude": "comma-separated rule ids not to check",
        "rules": "list the rules with their docs, then exit",
        "pending": "lint only the migrations the database (--url/--env) has not applied yet",
        "since": "lint only the migrations whose files were added or changed since the branch left this git ref "
        "(git merge-base REF HEAD; uncommitted and untracked files count): a pull-request gate, e.g. origin/main",
        "url": COMMON_HELP["url"] + " (only with --pending)",
        "env": COMMON_HELP["env"] + " (only with --pending)",
        "pg_version": "the PostgreSQL major the version-dependent rules judge for (default: the target's with "
        "--pending, else `pg` in invoke.yaml, else 14)",
        "format": "table (default), json (as --json) or markdown (a pull-request comment; on GitHub Actions also "
        "appended to the job summary)",
    },
)
def lint(
    c: Context,
    file: list[str] | None = None,
    workspace: str | None = None,
    json: bool = False,
    fail_on: str = "error",
    exclude: str | None = None,
    rules: bool = False,
    pending: bool = False,
    url: str | None = None,
    env: str | None = None,
    strict: bool = False,
    pg_version: str | None = None,
    format: str | None = None,
    since: str | None = None,
) -> None:
    """Check migration SQL for lock and compatibility hazards (squawk's rule ids); offline unless --pending."""
    from drizzle_ops.cli.lint import FAIL_ON, FORMATS, run_lint

    with guarded(as_json=json or format == "json"):
        format = value.choice("--format", format, FORMATS)
        fail_on = value.choice("--fail-on", fail_on, list(FAIL_ON)) or "error"
        excluded = value.rule_ids("--exclude", exclude)
        major = value.pg_major("--pg-version", pg_version)
    paths = [*(file or []), *shlex.split(getattr(c, "remainder", "") or "")]
    run_lint(
        _settings(c, workspace, strict, env, json),
        paths=paths,
        as_json=json,
        fail_on=fail_on,
        exclude=excluded,
        list_rules=rules,
        pending=pending,
        url=url,
        env=env,
        pg_version=major,
        output_format=format,
        since=since,
    )


@task(
    help={
        **COMMON_HELP,
        "large_rows": "a table with at least this many rows is large: blocking builds on it are flagged (100000)",
        "trace": "also run the pending migrations on a scratch copy (never the target) and record their real locks",
        "trace_url": "the scratch server for --trace (same major as the target); default: the embedded server",
        "format": "table (default), json (as --json) or markdown (a pull-request comment)",
        "explain_lock": "explain a table lock mode (ShareLock, SHARE, …): what takes it, what it blocks; then exit",
    }
)
def plan(
    c: Context,
    workspace: str | None = None,
    url: str | None = None,
    env: str | None = None,
    json: bool = False,
    large_rows: str | None = None,
    strict: bool = False,
    trace: bool = False,
    trace_url: str | None = None,
    format: str | None = None,
    explain_lock: str | None = None,
) -> None:
    """Show what migrate would do: pending SQL, lint findings, each table's size, lock, rewrite and scan."""
    from drizzle_ops.cli.plan import FORMATS, run_plan
    from drizzle_ops.cli.plan import explain_lock as explain

    with guarded(as_json=json or format == "json"):
        format = value.choice("--format", format, FORMATS)
        mode = value.lock_mode("--explain-lock", explain_lock)
        rows = value.whole_number("--large-rows", large_rows, least=0, of="rows")
    if mode is not None:
        explain(mode, as_json=json or format == "json")
        return
    run_plan(
        _settings(c, workspace, strict, env, json),
        url=url,
        env=env,
        as_json=json,
        large_rows=rows,
        trace=trace,
        trace_url=trace_url,
        output_format=format,
    )


def namespace(project_root: Path | None = None) -> Collection:
    """Every task; paths in invoke.yaml are relative to ``project_root`` (default: the current folder)."""
    db = Collection("db", up, down, url)
    tasks = Collection(migrate, status, drift, generate, repair, plan, rollback, verify, lint, db)
    if project_root is not None:
        tasks.configure({"drizzle_ops": {PROJECT_ROOT_KEY: str(project_root)}})
    return tasks
