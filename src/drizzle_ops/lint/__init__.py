"""Lint migration SQL for lock and compatibility hazards, with squawk's rule ids.

from drizzle_ops.lint import lint_sql
for finding in lint_sql(open("0007_wishlist_items.sql").read(), path="0007_wishlist_items.sql"):
    print(finding.location, finding.rule, finding.message)

Connected to the target, judge for its version and read function volatility from its catalogue:

    lint_migrations(sources, pg_version=major_version(conn.info.server_version),
                    volatility=catalogue_volatility(conn))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from drizzle_ops.engine.workspace import Workspace
from drizzle_ops.errors import UserError
from drizzle_ops.lint.finding import Finding, Severity
from drizzle_ops.lint.linter import (
    INVALID_IGNORE,
    NO_TRANSACTION_MARKER,
    is_marked_no_transaction,
    lint_migrations,
    lint_sql,
)
from drizzle_ops.lint.rule import Rule
from drizzle_ops.lint.rules import ALL_RULES
from drizzle_ops.lint.version import DEFAULT_PG_VERSION, major_version
from drizzle_ops.lint.volatility import (
    KNOWN_VOLATILE,
    Volatility,
    VolatilityLookup,
    catalogue_volatility,
    read_volatility,
)
from drizzle_ops.paths import display_path

__all__ = [
    "ALL_RULES",
    "DEFAULT_PG_VERSION",
    "INVALID_IGNORE",
    "KNOWN_VOLATILE",
    "NO_TRANSACTION_MARKER",
    "Finding",
    "Rule",
    "Severity",
    "Volatility",
    "VolatilityLookup",
    "catalogue_volatility",
    "is_marked_no_transaction",
    "lint_migrations",
    "lint_sql",
    "lint_workspace",
    "major_version",
    "read_volatility",
    "rule_by_id",
    "select_rules",
]


def rule_by_id(rule_id: str) -> Rule:
    for rule in ALL_RULES:
        if rule.id == rule_id:
            return rule
    raise UserError(f"unknown lint rule {rule_id!r}; `inv lint --rules` lists them")


def select_rules(exclude: Iterable[str] = ()) -> tuple[Rule, ...]:
    """Every rule but the excluded ones; an unknown id is bad input."""
    excluded = {rule_by_id(rule_id).id for rule_id in exclude}
    return tuple(rule for rule in ALL_RULES if rule.id not in excluded)


def lint_workspace(
    workspace: Workspace,
    *,
    rules: Sequence[Rule] = ALL_RULES,
    base: Path | None = None,
    pg_version: int = DEFAULT_PG_VERSION,
    volatility: VolatilityLookup | None = None,
) -> list[Finding]:
    """Findings for every migration of the workspace, in journal order (pg_version, volatility: see lint_sql)."""
    sources = [(display_path(m.sql_path, base), m.text) for m in workspace.migrations]
    return lint_migrations(sources, rules=rules, pg_version=pg_version, volatility=volatility)
