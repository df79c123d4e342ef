"""Invoke tasks: flags and help only. The work is done in drizzle_ops.cli."""

import shlex
from pathlib import Path

from invoke import Collection, task

from drizzle_ops import cli, cli_lint

ROOT = Path(__file__).resolve().parent

COMMON_HELP = {
    "workspace": "Drizzle package folder (holds drizzle.config.ts); default from invoke.yaml",
    "url": "database URL; default: --env's variable, then $DATABASE_URL, then the embedded default server",
    "env": "environment declared in invoke.yaml (e.g. staging); its URL comes from the variable it names",
    "json": "print one JSON document on stdout (progress and logs stay on stderr)",
}


def _settings(c, workspace=None, **flags):
    return cli.settings_from(c.config, ROOT, workspace=workspace, **flags)


@task(
    help={
        **COMMON_HELP,
        "to": "stop after this migration tag",
        "dry_run": "print the SQL that would run; change nothing",
        "allow_out_of_order": "also apply unapplied migrations older than the newest applied one",
        "allow_modified": "run even though an applied migration's file has changed",
        "lock_wait": "seconds to wait for another migrate to release the lock (default 60)",
        "yes": "confirm work on a protected environment (a terminal also asks for its name)",
    }
)
def migrate(
    c,
    workspace=None,
    url=None,
    env=None,
    json=False,
    to=None,
    dry_run=False,
    allow_out_of_order=False,
    allow_modified=False,
    lock_wait=None,
    yes=False,
):
    """Apply pending migrations: one transaction each, under an advisory lock."""
    cli.migrate(
        _settings(c, workspace, lock_wait=lock_wait),
        url=url,
        env=env,
        as_json=json,
        to=to,
        dry_run=dry_run,
        allow_out_of_order=allow_out_of_order,
        allow_modified=allow_modified,
        yes=yes,
    )


@task(help={**COMMON_HELP, "check": "exit 1 if anything is pending, modified, out of order or missing its file"})
def status(c, workspace=None, url=None, env=None, json=False, check=False):
    """Show each migration's state: applied, pending, modified, out-of-order, missing-file."""
    cli.status(_settings(c, workspace), url=url, env=env, as_json=json, check=check)


@task(
    help={
        "provider": "auto (docker if an engine answers, else local), docker or local",
        "pg": "PostgreSQL major version, e.g. 16",
        "json": COMMON_HELP["json"],
    }
)
def up(c, provider=None, pg=None, json=False):
    """Start the disposable default PostgreSQL server (reused by later tasks)."""
    cli.db_up(_settings(c), provider=provider, pg_major=pg, as_json=json)


@task(
    help={
        "all": "also remove every container drizzle-ops labelled (leftovers of killed runs)",
        "json": COMMON_HELP["json"],
    }
)
def down(c, all=False, json=False):
    """Stop the disposable default server and delete its data."""
    cli.db_down(_settings(c), all_=all, as_json=json)


@task(help={"reveal": 'include the password (for scripts: psql "$(inv db.url --reveal)")', "json": COMMON_HELP["json"]})
def url(c, reveal=False, json=False):
    """Print the URL of the disposable default server."""
    cli.db_url(_settings(c), reveal=reveal, as_json=json)


@task(
    iterable=["file"],
    help={
        "file": "a migration .sql file or a folder of them (repeatable; or list files after `--`); "
        "default: every migration of the workspace",
        "workspace": COMMON_HELP["workspace"],
        "json": COMMON_HELP["json"],
        "fail_on": "exit 1 on findings at this level or above: error (default), warning or never",
        "exclude": "comma-separated rule ids not to check",
        "rules": "list the rules with their docs, then exit",
    },
)
def lint(c, file=None, workspace=None, json=False, fail_on="error", exclude=None, rules=False):
    """Check migration SQL for lock and compatibility hazards (offline; squawk's rule ids)."""
    paths = [*(file or []), *shlex.split(getattr(c, "remainder", "") or "")]
    cli_lint.lint(
        _settings(c, workspace), paths=paths, as_json=json, fail_on=fail_on, exclude=exclude, list_rules=rules
    )


db = Collection("db", up, down, url)
ns = Collection(migrate, status, lint, db)
