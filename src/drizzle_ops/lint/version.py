"""Which PostgreSQL major the lint judges for.

Some verdicts depend on the server: a non-volatile DEFAULT is instant since 11,
ALTER TYPE … ADD VALUE may run inside a transaction block since 12, SET NOT NULL
trusts a validated CHECK since 12. The lint takes the major as a plain int.
"""

from __future__ import annotations

from drizzle_ops.errors import UserError

DEFAULT_PG_VERSION = 14  # the oldest major drizzle-ops supports; what the lint assumes when told nothing
_LOWEST, _HIGHEST = 9, 99  # 9 stands for 9.x: no rule tells 9.6 from 9.4


def major_version(server_version_num: int | str) -> int:
    """The major of a ``server_version_num``: 160004 -> 16, 110022 -> 11, 90624 -> 9.

    Accepts what ``SHOW server_version_num`` returns (text) and psycopg's
    ``conn.info.server_version`` (int).
    """
    text = str(server_version_num).strip()
    if not text.isdigit() or int(text) < 90000:
        raise UserError(f"{server_version_num!r} is no server_version_num (such as 160004 for PostgreSQL 16.4)")
    return int(text) // 10000  # 9.6.24 is 90624: major 9


def check_pg_version(pg_version: int) -> int:
    """``pg_version`` itself if it is a plausible major (9..99), else bad input saying what is expected."""
    if isinstance(pg_version, bool) or not isinstance(pg_version, int) or not _LOWEST <= pg_version <= _HIGHEST:
        hint = f" (that is a server_version_num: PostgreSQL {major_version(pg_version)})" if _is_num(pg_version) else ""
        raise UserError(f"the PostgreSQL version for lint is a major such as 14 or 16, not {pg_version!r}{hint}")
    return pg_version


def _is_num(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 90000


def assumed(pg_version: int) -> str:
    """The words every version-dependent finding ends with."""
    return f"judged for PostgreSQL {pg_version}"
