"""Is a function volatile? PostgreSQL's catalogue knows; offline, a list of the common ones.

A column added with a volatile DEFAULT has to be computed row by row, so Postgres
rewrites the table; a stable or immutable one is evaluated once and stored in the
catalogue (PostgreSQL 11+). ``pg_proc.provolatile`` says which a function is.

A *volatility lookup* answers for a function name as Postgres reads it from the SQL
(unquoted names folded to lower case), maybe schema-qualified ("gen_random_uuid",
"public.uuid_generate_v4"):
a ``Mapping`` or a callable returning a ``Volatility`` (or "immutable", "stable",
"volatile", or pg_proc's "i", "s", "v"), or None when it does not know the name.
``catalogue_volatility(conn)`` is the lookup that asks a live database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import Any

from psycopg import Connection, sql

from drizzle_ops.errors import UserError


class Volatility(str, Enum):
    IMMUTABLE = "immutable"
    STABLE = "stable"
    VOLATILE = "volatile"

    @classmethod
    def parse(cls, value: object) -> Volatility:
        """A Volatility from itself, its name, or pg_proc.provolatile's letter."""
        if isinstance(value, Volatility):
            return value
        text = str(value).strip().lower()
        for member in cls:
            if text in (member.value, member.value[0]):
                return member
        raise UserError(f"{value!r} is no function volatility (immutable, stable, volatile, or i, s, v)")

    @property
    def rank(self) -> int:
        return ("immutable", "stable", "volatile").index(self.value)


LookupResult = Volatility | str | None
VolatilityLookup = Mapping[str, Volatility | str] | Callable[[str], LookupResult]

# Volatile functions that migrations commonly use as a column default. A function
# that is not here is taken as non-volatile offline; connected, the catalogue decides.
KNOWN_VOLATILE: frozenset[str] = frozenset(
    {
        # random values and identifiers
        "random",
        "random_normal",
        "setseed",
        "gen_random_uuid",
        "uuidv4",
        "uuidv7",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "gen_random_bytes",
        "gen_salt",
        # sequences
        "nextval",
        "currval",
        "lastval",
        "setval",
        # the wall clock, not the transaction's start
        "clock_timestamp",
        "timeofday",
    }
)


def as_lookup(lookup: VolatilityLookup | None) -> Callable[[str], Volatility | None]:
    """One callable for a mapping, a callable or nothing; its answers parsed."""
    if lookup is None:
        return lambda name: None
    if isinstance(lookup, Mapping):
        table = {str(k): Volatility.parse(v) for k, v in lookup.items()}
        return table.get
    ask = lookup

    def answer(name: str) -> Volatility | None:
        found = ask(name)
        return None if found is None else Volatility.parse(found)

    return answer


def offline_volatility(name: str) -> Volatility | None:
    """VOLATILE for a function on the offline list (by its unqualified name), else None: unknown."""
    return Volatility.VOLATILE if name.rsplit(".", 1)[-1] in KNOWN_VOLATILE else None


_QUERY = sql.SQL(
    "SELECT n.nspname, p.proname, p.provolatile, pg_catalog.pg_function_is_visible(p.oid) "
    "FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
    "WHERE p.proname = ANY({names})"
)


def read_volatility(conn: Connection[Any], names: Iterable[str]) -> dict[str, Volatility]:
    """``pg_proc.provolatile`` for each name that the database has, keyed by the name as given.

    An unqualified name means the function the search path finds; "schema.name" the
    one in that schema. Of several overloads the most volatile counts: the lint
    sees no argument types. Names the database lacks are left out.
    """
    wanted = {name: (name.rsplit(".", 1) if "." in name else [None, name]) for name in names}
    if not wanted:
        return {}
    bare = sorted({parts[1] for parts in wanted.values() if parts[1]})
    rows = conn.execute(_QUERY.format(names=sql.Placeholder()), [bare]).fetchall()
    found: dict[str, Volatility] = {}
    for name, (schema, function) in wanted.items():
        for nspname, proname, provolatile, visible in rows:
            if proname != function or (schema is None and not visible) or (schema not in (None, nspname)):
                continue
            volatility = Volatility.parse(provolatile)
            if name not in found or volatility.rank > found[name].rank:
                found[name] = volatility
    return found


def catalogue_volatility(conn: Connection[Any]) -> Callable[[str], Volatility | None]:
    """A volatility lookup that asks ``conn`` once per name; the connection must stay open while linting."""
    cache: dict[str, Volatility | None] = {}

    def lookup(name: str) -> Volatility | None:
        if name not in cache:
            cache[name] = read_volatility(conn, [name]).get(name)
        return cache[name]

    return lookup
