"""Helpers for the rule tests: lint a snippet with one rule, or with all of them."""

from __future__ import annotations

from drizzle_ops.lint import Finding, lint_sql, rule_by_id


def check(rule_id: str, sql: str, *, transactional: bool = True) -> list[Finding]:
    """Findings of one rule only, so a test is about that rule and nothing else."""
    return lint_sql(sql, path="m.sql", migration_is_transactional=transactional, rules=[rule_by_id(rule_id)])


def flagged(rule_id: str, sql: str, *, transactional: bool = True) -> bool:
    return bool(check(rule_id, sql, transactional=transactional))
