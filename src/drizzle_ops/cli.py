"""What each invoke task does: build settings, call one command, render, map errors to exit codes.

tasks.py only declares the flags; everything here is importable and testable.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from invoke.exceptions import Exit

from drizzle_ops import commands, report
from drizzle_ops.context.config import Settings
from drizzle_ops.engine.pg import redact
from drizzle_ops.engine.plan import State
from drizzle_ops.engine.plan import drifted as drifted_entries
from drizzle_ops.errors import OpsError


def _plain(value: Any) -> Any:
    """invoke's config proxies to plain dicts, all the way down."""
    if isinstance(value, Mapping) or hasattr(value, "_config"):
        return {k: _plain(value[k]) for k in value}
    return value


def settings_from(config: Any, project_root: Path, **flags: Any) -> Settings:
    section = _plain(config.get("drizzle_ops", {})) if config is not None else {}
    with guarded():  # a bad value in invoke.yaml or a flag is one line and exit 2, like any other
        return Settings.from_mapping(section, project_root, **flags)


@contextmanager
def guarded(url: str | None = None, as_json: bool = False) -> Iterator[None]:
    """Turn our errors into one line on stderr and an exit code; never show a password."""
    secrets_from = [u for u in (url, os.environ.get("DATABASE_URL")) if u]

    def clean(text: str) -> str:
        for source in secrets_from:
            text = redact(text, source)
        return text

    try:
        yield
    except OpsError as exc:
        if as_json:  # scripts get the failure as the one JSON document too
            report.print_json(json.loads(clean(json.dumps({"ok": False, "error": exc.as_dict()}, default=str))))
        raise Exit(f"error: {clean(exc.message)}", code=exc.exit_code) from None
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        code = f"[{exc.diag.sqlstate}] " if exc.diag.sqlstate else ""  # one that no step named: still its SQLSTATE
        raise Exit(f"error: database error: {code}{clean(first)}", code=1) from None
    except KeyboardInterrupt:
        raise Exit("interrupted: the migration in progress (if any) was rolled back", code=130) from None


def terminal_prompt() -> Callable[[str], str] | None:
    """``input`` when a person is at a terminal, else None (scripts confirm with --yes alone)."""
    return input if sys.stdin.isatty() and sys.stderr.isatty() else None


def migrate(
    settings: Settings,
    *,
    url: str | None,
    env: str | None,
    as_json: bool,
    to: str | None,
    dry_run: bool,
    allow_out_of_order: bool,
    allow_modified: bool,
    yes: bool = False,
    verify: bool = False,
    runner: str | None = None,
) -> None:
    if runner is not None:  # --runner drizzle: the workspace's own drizzle-kit migrate, under our lock
        from drizzle_ops import cli_generate

        if cli_generate.check_runner(runner, as_json) == "drizzle":
            flags = {"--to": to, "--dry-run": dry_run, "--allow-out-of-order": allow_out_of_order, "--verify": verify}
            cli_generate.migrate_drizzle(
                settings,
                url=url,
                env=env,
                as_json=as_json,
                allow_modified=allow_modified,
                yes=yes,
                unsupported=[flag for flag, given in flags.items() if given],
            )
            return
    with guarded(url, as_json), report.ConsoleProgress() as progress:
        outcome = commands.migrate(
            settings,
            url,
            env,
            to=to,
            dry_run=dry_run,
            allow_out_of_order=allow_out_of_order,
            allow_modified=allow_modified,
            yes=yes,
            ask=terminal_prompt(),
            progress=progress,
            log=report.log,
            verify=verify,
        )
    result = outcome.result
    if as_json:
        report.print_json(
            {
                "ok": True,
                "database": outcome.database,
                "dry_run": result.dry_run,
                "applied": [
                    {"tag": a.tag, "statements": a.statements, "seconds": round(a.seconds, 4)} for a in result.applied
                ],
                "would_apply": [m.tag for m in result.planned] if result.dry_run else [],
                "lock_waited_seconds": round(result.lock_waited, 3),
                "warnings": result.warnings,
                "summary": report.summary(outcome.entries),
            }
        )
        return
    total = len(outcome.workspace.migrations)
    if result.dry_run:
        if not result.planned:
            report.out.print(f"Nothing to migrate on {outcome.database}: all {total} migrations are applied.")
            return
        for m in result.planned:
            report.out.print(f"-- {m.tag} ({m.sql_path})", style="bold", highlight=False)
            report.out.print(m.text.rstrip(), highlight=False, markup=False)
            report.out.print()
        report.out.print(report.migrate_table(result))
        report.out.print(
            f"Dry run: {len(result.planned)} migration(s) would be applied to {outcome.database}; nothing was changed."
        )
        return
    if result.lock_waited > 0.5:
        report.log(f"waited {result.lock_waited:.1f}s for the migration lock")
    if not result.applied:
        report.out.print(
            f"Nothing to migrate on {outcome.database}: all {total} migrations are applied.", highlight=False
        )
        return
    if len(result.applied) <= report.TABLE_LIMIT:
        report.out.print(report.migrate_table(result))
    seconds = sum(a.seconds for a in result.applied)
    report.out.print(
        f"Applied {len(result.applied)} migration(s) to {outcome.database} in {seconds:.2f}s.", highlight=False
    )


def status(
    settings: Settings,
    *,
    url: str | None,
    env: str | None,
    as_json: bool,
    check: bool,
    schema: bool = False,
    show_all: bool = False,
) -> None:
    if schema:  # --schema: also compare the live schema with the snapshot of the applied head
        from drizzle_ops.cli_generate import drift

        drift(settings, url=url, env=env, as_json=as_json, check=check, show_all=show_all)
        return
    with guarded(url, as_json):
        workspace, database, entries = commands.status(settings, url, env, log=report.log)
    drifted = drifted_entries(entries)
    pending = [e for e in entries if e.state is State.PENDING]
    if as_json:
        report.print_json(
            {
                "database": database,
                "workspace": str(workspace.root),
                "migrations_table": f"{workspace.migrations_schema}.{workspace.migrations_table}",
                "migrations": [report.entry_dict(e) for e in entries],
                "summary": report.summary(entries),
                "ok": not drifted and not pending,
            }
        )
    else:
        report.out.print(
            report.status_table(
                entries, f"{database} · {workspace.migrations_schema}.{workspace.migrations_table}", show_all=show_all
            )
        )
        counts = ", ".join(f"{n} {state}" for state, n in report.summary(entries).items() if n)
        report.out.print(counts or "no migrations", highlight=False)
    if check and (drifted or pending):
        raise Exit(
            f"status check failed: {len(pending)} pending, {len(drifted)} drifted "
            f"({', '.join(sorted({e.state.value for e in drifted})) or 'no drift'})",
            code=1,
        )


def db_up(settings: Settings, *, provider: str | None, pg_major: str | None, as_json: bool) -> None:
    with guarded(as_json=as_json):
        if commands.db_url(settings) is None:
            report.log("starting a disposable PostgreSQL server …")
        server, started = commands.db_up(settings, provider, pg_major)
    _print_server(server, as_json, "started" if started else "already running")


def db_down(settings: Settings, *, all_: bool, as_json: bool) -> None:
    with guarded(as_json=as_json):
        server = commands.db_down(settings)
        removed = commands.db_down_all() if all_ else []
    if as_json:
        report.print_json({"stopped": server.provider if server else None, "removed_containers": removed})
        return
    report.out.print(f"stopped the default {server.provider} server" if server else "no default server was running")
    if all_:
        report.out.print(
            f"removed {len(removed)} leftover container(s)" + (f": {', '.join(removed)}" if removed else "")
        )


def db_url(settings: Settings, *, reveal: bool, as_json: bool) -> None:
    with guarded(as_json=as_json):
        server = commands.db_url(settings)
    if server is None:
        raise Exit("error: no default server is running; start one with `inv db.up`", code=1)
    url = server.url if reveal else redact(server.url, server.url)
    if as_json:
        report.print_json({"url": url, "provider": server.provider, "major": server.major})
    else:
        print(url)


def _print_server(server: Any, as_json: bool, state: str) -> None:
    shown = redact(server.url, server.url)
    if as_json:
        report.print_json({"state": state, "provider": server.provider, "major": server.major, "url": shown})
    else:
        report.out.print(f"PostgreSQL {server.major} ({server.provider}) {state}: {shown}", highlight=False)
        report.out.print("`inv db.url --reveal` prints the URL with its password.", highlight=False)
