"""The values of flags, read once at the edge: one parser per kind of value.

Each parser returns None for a flag that was not given, the value in its own type when it reads, and
otherwise raises one line of bad input (exit 2) that names the flag, repeats the value and says what the
flag takes. Tasks call them before anything else runs, so no bad value reaches a database.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, NoReturn

from drizzle_ops.errors import UserError

if TYPE_CHECKING:  # imported when a shard is given: tasks.py loads this module for every task
    from drizzle_ops.context.fleet.build import Shard

# not int() and float(): they also take "1_000", non-ASCII digits, "1e3", "inf" and "nan"
_WHOLE = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
# the majors a flag may name, as lint's check_pg_version (9 stands for 9.x); not imported: lint loads the parser
LOWEST_MAJOR, HIGHEST_MAJOR = 9, 99


def refuse(flag: str, value: object, accepted: str) -> NoReturn:
    raise UserError(f"{flag} {value!r}: {accepted}")


def whole_number(flag: str, value: str | int | None, *, least: int, of: str) -> int | None:
    """A count: ``--steps 2``, ``--large-rows 100000``."""
    if value is None:
        return None
    text = str(value).strip()
    if not _WHOLE.fullmatch(text) or int(text) < least:
        refuse(flag, value, f"give a whole number of {of}, {least} or more")
    return int(text)


def seconds(flag: str, value: str | float | None) -> float | None:
    """A wait: ``--lock-wait 30``, ``--lock-wait 2.5``."""
    if value is None:
        return None
    text = str(value).strip()
    if not _DECIMAL.fullmatch(text) or float(text) < 0:
        refuse(flag, value, "give a number of seconds, 0 or more, such as 30 or 2.5")
    return float(text)


def choice(flag: str, value: str | None, choices: Sequence[str]) -> str | None:
    """One of a fixed list: ``--format markdown``."""
    if value is None:
        return None
    if value not in choices:
        refuse(flag, value, f"choose one of {', '.join(choices)}")
    return value


def environment(value: str | None, declared: Collection[str], flag: str = "--env") -> str | None:
    """An environment invoke.yaml declares: ``--env staging``."""
    if value is None or value in declared:
        return value
    refuse(flag, value, f"choose an environment invoke.yaml declares: {', '.join(sorted(declared)) or 'none yet'}")


def pg_major(flag: str, value: str | int | None) -> int | None:
    """A PostgreSQL major version: ``--pg-version 16`` (not 16.4, not 160004)."""
    if value is None:
        return None
    text = str(value).strip()
    if not _WHOLE.fullmatch(text) or not LOWEST_MAJOR <= int(text) <= HIGHEST_MAJOR:
        refuse(flag, value, f"give a PostgreSQL major version such as 16 ({LOWEST_MAJOR} to {HIGHEST_MAJOR})")
    return int(text)


def shard(value: str | None, flag: str = "--shard") -> Shard | None:
    """``K/N`` with 1 ≤ K ≤ N: the K-th of N shards of a fleet."""
    if value is None:
        return None
    from drizzle_ops.context.fleet.build import Shard

    parts = value.strip().split("/")
    numbers = [int(part) for part in parts if part.strip().isascii() and part.strip().isdigit()]
    if len(parts) != 2 or len(numbers) != 2 or not 1 <= numbers[0] <= numbers[1]:
        refuse(flag, value, "give K/N with 1 ≤ K ≤ N, such as 2/4 (the second of four shards)")
    return Shard(numbers[0], numbers[1])


def lock_mode(flag: str, value: str | None) -> str | None:
    """A table lock mode in any spelling PostgreSQL uses: ``SHARE``, ``ShareLock``, ``share row exclusive``."""
    if value is None:
        return None
    from drizzle_ops.analysis import lockmodes

    mode = lockmodes.parse_mode(value)
    if mode is None:
        modes = ", ".join(f"{m} ({lockmodes.LOCK_MODES[m].pg_locks})" for m in lockmodes.MODES)
        refuse(flag, value, f"choose a table lock mode: {modes}")
    return mode


def rule_ids(flag: str, value: str | None) -> tuple[str, ...]:
    """Lint rule ids, comma-separated: ``--exclude renaming-column,ban-drop-column``."""
    if value is None:
        return ()
    from drizzle_ops.lint import ALL_RULES

    given = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    unknown = [rule_id for rule_id in given if rule_id not in {rule.id for rule in ALL_RULES}]
    if unknown:
        refuse(
            flag, value, f"no rule {', '.join(unknown)}; give rule ids, comma-separated, as `lint --rules` lists them"
        )
    return given


def comma_list(values: Sequence[str] | str | None) -> tuple[str, ...]:
    """A flag that may be repeated and may hold comma-separated items (--only): each item once, in the order given."""
    if not values:
        return ()
    given = [values] if isinstance(values, str) else list(values)
    return tuple(dict.fromkeys(part.strip() for value in given for part in value.split(",") if part.strip()))
