"""What a check is, and how the checks of a database are found (``checks/*.py``).

A check module defines ``CHECKS``, a list of :class:`Check`::

    from drizzle_ops.checks_api import Check

    CHECKS = [
        Check(
            id="wishlist.table",
            description="the wishlist_items table exists",
            sql="select to_regclass('public.wishlist_items') is not null",
            expect=True,
            migration="0007_wishlist_items",
        ),
    ]

``migration`` names the migration (its journal tag) that creates what the
check reads. ``inv verify`` runs the check only when that migration is applied
in the target database, and otherwise shows it as skipped ("skipped
(0007_wishlist_items not applied)"), which does not fail the run. A tag the
workspace does not have is an error in the check, reported before connecting.
Leave it out for a check that holds at every point of the history.

``expect`` is one of:

- a single value: the query must return one row of one column equal to it;
- a list: the rows, in order; each item is a tuple (one row) or a single value
  (a one-column row). A Python list inside a row is an array value;
- a function of the rows returning None (pass) or a message saying what is wrong.

Checks run in a read-only transaction, one statement each; types psycopg does
not know (enums, arrays of enums) come back as text, so cast them (``::text``,
``::text[]``).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from drizzle_ops.engine.states import Entry, MigrationState
from drizzle_ops.errors import UserError
from drizzle_ops.paths import display_path

Rows = list[tuple[Any, ...]]
RESERVED_IDS = {"snapshot-conformance"}
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


@dataclass(frozen=True)
class Check:
    id: str
    description: str
    sql: str
    expect: Any
    optional: bool = False  # runs only when named with --only (e.g. it needs seed data)
    source: str = ""  # the module it came from; set by the loader
    migration: str | None = None  # the tag that creates what it reads; skipped until that is applied

    def evaluate(self, rows: Rows) -> str | None:
        """None when the rows meet the expectation, else what is wrong, in one line."""
        if callable(self.expect):
            verdict = self.expect(rows)
            if verdict is None or verdict is True:
                return None
            return str(verdict) if verdict is not False else f"unexpected result {_show(rows)}"
        if isinstance(self.expect, list):
            return _compare_rows(rows, [e if isinstance(e, tuple) else (e,) for e in self.expect])
        if len(rows) != 1 or len(rows[0]) != 1:
            return f"expected one value, the query returned {len(rows)} row(s) {_show(rows)}"
        got = rows[0][0]
        return None if got == self.expect else f"got {got!r}, expected {self.expect!r}"


def _show(rows: Rows, limit: int = 3) -> str:
    shown = ", ".join(repr(r if len(r) != 1 else r[0]) for r in rows[:limit])
    return f"[{shown}{', …' if len(rows) > limit else ''}]"


def _compare_rows(rows: Rows, expected: list[tuple[Any, ...]]) -> str | None:
    got = [tuple(r) for r in rows]
    if got == expected:
        return None
    for number, (have, want) in enumerate(zip(got, expected, strict=False), start=1):
        if have != want:
            return f"row {number}: got {have!r}, expected {want!r}"
    if len(got) < len(expected):
        return f"got {len(got)} row(s), expected {len(expected)}: missing {expected[len(got)]!r}"
    return f"got {len(got)} row(s), expected {len(expected)}: unexpected {got[len(expected)]!r}"


def _load_module(path: Path, shown: str) -> Sequence[Any]:
    name = "drizzle_ops_checks_" + re.sub(r"\W", "_", path.stem)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"{shown}: cannot be loaded as a Python module; check the file name")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # any error in the user's module is bad input, reported on one line
        raise UserError(f"{shown}: loading it failed ({type(exc).__name__}: {exc}); fix the module") from None
    finally:
        sys.modules.pop(name, None)
    checks = getattr(module, "CHECKS", None)
    if not isinstance(checks, (list, tuple)) or not all(isinstance(c, Check) for c in checks):
        raise UserError(f"{shown}: define CHECKS as a list of drizzle_ops.checks_api.Check")
    return checks


def load_checks(checks_dir: Path, base: Path | None = None) -> list[Check]:
    """Every check of every ``*.py`` module in ``checks_dir`` (sorted by file name); none if the folder is absent."""
    if not checks_dir.is_dir():
        return []
    found: list[Check] = []
    seen: dict[str, str] = {}
    for path in sorted(checks_dir.glob("*.py")):
        if path.name.startswith("_"):
            continue
        shown = display_path(path, base)
        for check in _load_module(path, shown):
            if not _ID.match(check.id) or check.id in RESERVED_IDS:
                raise UserError(
                    f"{shown}: check id {check.id!r} is not allowed; use lowercase letters, digits, '.', '_' and '-'"
                    + (" (snapshot-conformance is built in)" if check.id in RESERVED_IDS else "")
                )
            if check.id in seen:
                raise UserError(f"check id {check.id} is defined twice ({seen[check.id]} and {shown}); rename one")
            if not check.sql.strip() or not check.description.strip():
                raise UserError(f"{shown}: check {check.id} needs a description and its SQL")
            if check.migration is not None and (not isinstance(check.migration, str) or not check.migration):
                raise UserError(
                    f"{shown}: check {check.id}: migration={check.migration!r} must be a migration tag "
                    "such as '0007_wishlist_items'"
                )
            seen[check.id] = shown
            found.append(_with_source(check, shown))
    return found


def _with_source(check: Check, source: str) -> Check:
    return replace(check, source=source)


def select(checks: Sequence[Check], only: Sequence[str], builtin: Sequence[str]) -> tuple[list[Check], list[str]]:
    """The checks to run and which built-in ones; ``only`` names ids, and unknown ids are bad input."""
    if not only:
        return [c for c in checks if not c.optional], list(builtin)
    known = {c.id for c in checks} | set(builtin)
    unknown = [i for i in only if i not in known]
    if unknown:
        listing = ", ".join(sorted(known)) or "none"
        raise UserError(f"--only: no check named {', '.join(unknown)} (known: {listing})")
    return [c for c in checks if c.id in only], [b for b in builtin if b in only]


# -- checks tied to migrations ---------------------------------------------------------------------


def check_migrations(checks: Iterable[Check], tags: Sequence[str]) -> None:
    """Refuse a check that names a migration the workspace does not have (offline, before connecting)."""
    known = set(tags)
    for check in checks:
        if check.migration is not None and check.migration not in known:
            latest = ", ".join(tags[-3:]) or "none"
            raise UserError(
                f"{check.source or 'a check module'}: check {check.id} names migration {check.migration}, "
                f"which this workspace does not have (latest: {latest}); fix its migration= "
                "or pass --checks-dir with this workspace's checks"
            )


def applied_tags(entries: Iterable[Entry]) -> set[str]:
    """The tags whose migrations the database holds: recorded, edited since or not (what a check may rely on)."""
    return {e.tag for e in entries if e.tag and e.state in (MigrationState.APPLIED, MigrationState.MODIFIED)}


def skip_reason(check: Check, applied: Collection[str]) -> str | None:
    """Why ``check`` cannot run on this database (its migration is not applied), or None when it can."""
    if check.migration is None or check.migration in applied:
        return None
    return f"{check.migration} not applied"
