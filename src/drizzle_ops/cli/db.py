"""`db.up`, `db.down`, `db.url`: the disposable default server."""

from __future__ import annotations

from invoke.exceptions import Exit

from drizzle_ops.cli import render
from drizzle_ops.cli.flags import Given
from drizzle_ops.cli.guard import guarded
from drizzle_ops.commands import db
from drizzle_ops.disposable.base import Server
from drizzle_ops.engine.connection import redact


def db_up(given: Given) -> None:
    settings, as_json, provider = given.settings, given.as_json, given["provider"]
    pg_major = str(given["pg"]) if given["pg"] else None
    with guarded(as_json=as_json):
        if db.running(settings) is None:
            render.log("starting a disposable PostgreSQL server …")
        server, started = db.up(settings, provider, pg_major)
    state = "started" if started else "already running"
    shown = redact(server.url, server.url)
    if as_json:
        render.print_json({"state": state, "provider": server.provider, "major": server.major, "url": shown})
    else:
        render.out.print(f"PostgreSQL {server.major} ({server.provider}) {state}: {shown}", highlight=False)
        render.out.print("`inv db.url --reveal` prints the URL with its password.", highlight=False)


def db_down(given: Given) -> None:
    settings, as_json, all_ = given.settings, given.as_json, given["all"]
    with guarded(as_json=as_json):
        server = db.down(settings)
        removed = db.remove_leftovers() if all_ else []
    if as_json:
        render.print_json({"stopped": server.provider if server else None, "removed_containers": removed})
        return
    render.out.print(f"stopped the default {server.provider} server" if server else "no default server was running")
    if all_:
        render.out.print(
            f"removed {len(removed)} leftover container(s)" + (f": {', '.join(removed)}" if removed else "")
        )


def db_url(given: Given) -> None:
    settings, as_json, reveal = given.settings, given.as_json, given["reveal"]
    with guarded(as_json=as_json):
        server: Server | None = db.running(settings)
    if server is None:
        raise Exit("error: no default server is running; start one with `inv db.up`", code=1)
    shown = server.url if reveal else redact(server.url, server.url)
    if as_json:
        render.print_json({"url": shown, "provider": server.provider, "major": server.major})
    else:
        print(shown)
