"""A fleet's targets: URLs read from a variable, a file or a query, each with a stable label, in a stable order.

A label is ``host:port/dbname`` (never the user or password), or the ``label`` column of ``targets_query``.
The order is the labels' natural order (``db2`` before ``db10``), whatever order the source lists them
in, so ``--shard K/N`` picks the same targets on every runner and every day.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import psycopg
from psycopg.conninfo import conninfo_to_dict

from drizzle_ops.context.config import Environment, FleetSource, Settings
from drizzle_ops.context.target import Target
from drizzle_ops.engine import connection
from drizzle_ops.errors import UserError


@dataclass(frozen=True)
class FleetTarget:
    label: str  # what people, --only and the report call it; never holds a password
    target: Target


def split_urls(text: str) -> list[str]:
    """One URL a line or whitespace-separated; blank lines and ``#`` comment lines are skipped."""
    return [word for line in text.splitlines() if not line.lstrip().startswith("#") for word in line.split()]


def label_of(url: str) -> str:
    """host:port/dbname from a URL that ``connection.check_url`` accepted."""
    params = conninfo_to_dict(url)
    return f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}/{params.get('dbname') or ''}"


def natural_key(label: str) -> tuple[tuple[int, int | str], ...]:
    """db2 before db10: digit runs compare as numbers."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", label) if part)


def fleet_targets(settings: Settings, environment: Environment) -> list[FleetTarget]:
    """Every target of a fleet environment, labelled and ordered; a bad entry or a duplicate is exit 2."""
    source = environment.fleet
    assert source is not None
    if source.targets_query:
        found = _from_query(settings, environment, source)
    else:
        found = [(url, None) for url in _urls(environment, source)]
    members: dict[str, FleetTarget] = {}
    for number, (url, given) in enumerate(found, start=1):
        where = f"{source.origin} (entry {number})"
        connection.check_url(url, where)  # never echoes the URL
        label = given if given is not None else label_of(url)
        if label in members:
            raise UserError(f"{source.origin} lists {label} twice (entry {number}); each database once, please")
        members[label] = FleetTarget(label, Target(url, source.origin, environment, fleet_member=True))
    if not members:
        raise UserError(f"environment {environment.name}: {source.origin} holds no database URL")
    return sorted(members.values(), key=lambda member: natural_key(member.label))


def _urls(environment: Environment, source: FleetSource) -> list[str]:
    if source.targets_env:
        value = os.environ.get(source.targets_env)
        if value is None:
            raise UserError(
                f"environment {environment.name} reads its targets from ${source.targets_env}, which is not set"
            )
        return split_urls(value)
    assert source.targets_file is not None
    try:
        return split_urls(source.targets_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(
            f"environment {environment.name}: cannot read targets_file {source.targets_file}: {exc.strerror}"
        ) from None


def _from_query(settings: Settings, environment: Environment, source: FleetSource) -> list[tuple[str, str | None]]:
    """Run targets_query read-only on the control database: its ``url`` column (else the first), and ``label``."""
    assert environment.url_env and source.targets_query
    control = os.environ.get(environment.url_env)
    if not control:
        raise UserError(
            f"environment {environment.name} runs targets_query on ${environment.url_env}, which is not set"
        )
    conn = connection.connect(control, source=f"${environment.url_env}", connect_timeout=settings.connect_timeout)
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION READ ONLY")  # listing targets must never change the control database
            cursor = conn.execute(source.targets_query)
            names = [column.name for column in cursor.description or []]
            found = cursor.fetchall()
    except psycopg.Error as exc:
        code = f"[{exc.diag.sqlstate}] " if exc.diag.sqlstate else ""
        message = connection.redact(exc.diag.message_primary or str(exc).strip().split("\n")[0], control)
        raise UserError(f"environment {environment.name}: targets_query failed: {code}{message}") from None
    finally:
        conn.close()
    if not names:
        raise UserError(f"environment {environment.name}: targets_query returned no columns; select a url column")
    url_at = names.index("url") if "url" in names else 0
    label_at = names.index("label") if "label" in names else None
    rows: list[tuple[str, str | None]] = []
    for number, row in enumerate(found, start=1):
        url = row[url_at]
        if not isinstance(url, str) or not url.strip():
            raise UserError(f"environment {environment.name}: targets_query row {number} has no URL")
        label = None
        if label_at is not None:
            label = str(row[label_at] or "").strip()
            if not label or "," in label:
                raise UserError(
                    f"environment {environment.name}: targets_query row {number}: a label must be non-empty text "
                    "without commas (--only separates labels with them)"
                )
        rows.append((url.strip(), label))
    return rows
