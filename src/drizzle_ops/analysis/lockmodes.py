"""PostgreSQL's eight table lock modes, as data: which conflict with which, what takes each, what each blocks.

Written from the PostgreSQL documentation, "Explicit Locking" → "Table-Level Locks" (table 13.2,
"Conflicting Lock Modes"), which has not changed from PostgreSQL 9 to 18. Everything in this package
that asks what a lock blocks asks this module: ``lockinfo`` (the static prediction), the deploy plan,
and the trace.
"""

from __future__ import annotations

from dataclasses import dataclass

ACCESS_SHARE = "ACCESS SHARE"
ROW_SHARE = "ROW SHARE"
ROW_EXCLUSIVE = "ROW EXCLUSIVE"
SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"
SHARE = "SHARE"
SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
EXCLUSIVE = "EXCLUSIVE"
ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"

# weakest first: PostgreSQL's own numbering (AccessShareLock = 1 … AccessExclusiveLock = 8)
MODES: tuple[str, ...] = (
    ACCESS_SHARE,
    ROW_SHARE,
    ROW_EXCLUSIVE,
    SHARE_UPDATE_EXCLUSIVE,
    SHARE,
    SHARE_ROW_EXCLUSIVE,
    EXCLUSIVE,
    ACCESS_EXCLUSIVE,
)


@dataclass(frozen=True)
class LockMode:
    name: str  # as SQL spells it: LOCK TABLE t IN <name> MODE
    pg_locks: str  # as pg_locks.mode spells it
    conflicts: frozenset[str]  # the modes another transaction cannot hold at the same time
    taken_by: tuple[str, ...]  # the common statements that take it

    @property
    def level(self) -> int:
        """1 (ACCESS SHARE) … 8 (ACCESS EXCLUSIVE)."""
        return MODES.index(self.name) + 1

    def conflicts_with(self, other: str) -> bool:
        return other in self.conflicts


def _mode(name: str, conflicts: tuple[str, ...], taken_by: tuple[str, ...]) -> LockMode:
    pg_locks = "".join(word.capitalize() for word in name.split()) + "Lock"
    return LockMode(name, pg_locks, frozenset(conflicts), taken_by)


LOCK_MODES: dict[str, LockMode] = {
    mode.name: mode
    for mode in (
        _mode(ACCESS_SHARE, (ACCESS_EXCLUSIVE,), ("SELECT", "any query that only reads the table")),
        _mode(ROW_SHARE, (EXCLUSIVE, ACCESS_EXCLUSIVE), ("SELECT … FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE",)),
        _mode(
            ROW_EXCLUSIVE,
            (SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE),
            ("INSERT", "UPDATE", "DELETE", "MERGE"),
        ),
        _mode(
            SHARE_UPDATE_EXCLUSIVE,
            (SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE),
            (
                "VACUUM (without FULL)",
                "ANALYZE",
                "CREATE INDEX CONCURRENTLY",
                "REINDEX CONCURRENTLY",
                "CREATE STATISTICS",
                "ALTER TABLE … VALIDATE CONSTRAINT",
                "ALTER TABLE … SET STATISTICS / SET (storage parameters)",
            ),
        ),
        _mode(
            SHARE,
            (ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE),
            ("CREATE INDEX (without CONCURRENTLY)",),
        ),
        _mode(
            SHARE_ROW_EXCLUSIVE,
            (ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE),
            ("CREATE TRIGGER", "ALTER TABLE … ADD FOREIGN KEY (both tables)"),
        ),
        _mode(
            EXCLUSIVE,
            (ROW_SHARE, ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE),
            ("REFRESH MATERIALIZED VIEW CONCURRENTLY",),
        ),
        _mode(
            ACCESS_EXCLUSIVE,
            MODES,
            (
                "most ALTER TABLE forms (ADD/DROP COLUMN, SET DATA TYPE, SET NOT NULL, ADD CHECK/UNIQUE/PRIMARY KEY)",
                "DROP TABLE",
                "TRUNCATE",
                "DROP INDEX (without CONCURRENTLY, on its table)",
                "REINDEX",
                "CLUSTER",
                "VACUUM FULL",
                "REFRESH MATERIALIZED VIEW",
                "LOCK TABLE (its default mode)",
            ),
        ),
    )
}

# what people run against a table, by the mode it takes: what a held lock makes wait
COMMON_QUERIES: tuple[tuple[str, str], ...] = (
    ("SELECT", ACCESS_SHARE),
    ("SELECT … FOR UPDATE / FOR SHARE", ROW_SHARE),
    ("INSERT / UPDATE / DELETE / MERGE", ROW_EXCLUSIVE),
    ("VACUUM / ANALYZE / CREATE INDEX CONCURRENTLY", SHARE_UPDATE_EXCLUSIVE),
    ("CREATE INDEX", SHARE),
    ("CREATE TRIGGER / ADD FOREIGN KEY", SHARE_ROW_EXCLUSIVE),
    ("REFRESH MATERIALIZED VIEW CONCURRENTLY", EXCLUSIVE),
    ("ALTER TABLE / DROP TABLE / TRUNCATE", ACCESS_EXCLUSIVE),
)

READS_AND_WRITES = "reads and writes"
WRITES = "writes"
NOTHING = "nothing"


def level(mode: str) -> int:
    return LOCK_MODES[mode].level


def strongest(modes: list[str] | set[str] | tuple[str, ...]) -> str | None:
    return max(modes, key=level) if modes else None


def conflicts(held: str, requested: str) -> bool:
    return LOCK_MODES[held].conflicts_with(requested)


def blocks(mode: str) -> str:
    """What a held ``mode`` makes ordinary traffic wait for: "reads and writes", "writes" or "nothing"."""
    if conflicts(mode, ACCESS_SHARE):
        return READS_AND_WRITES
    return WRITES if conflicts(mode, ROW_EXCLUSIVE) else NOTHING


def blocked_queries(mode: str) -> list[str]:
    return [query for query, taken in COMMON_QUERIES if conflicts(mode, taken)]


BLOCKS_READS = frozenset(m for m in MODES if blocks(m) == READS_AND_WRITES)
BLOCKS_WRITES = frozenset(m for m in MODES if blocks(m) != NOTHING)


def parse_mode(text: str) -> str | None:
    """ShareLock, SHARE, share, "share update exclusive", ShareUpdateExclusive → the SQL spelling; None if unknown."""
    squashed = "".join(text.split()).replace("_", "").replace("-", "").lower()
    squashed = squashed.removesuffix("mode").removesuffix("lock")
    for mode in MODES:
        if mode.replace(" ", "").lower() == squashed:
            return mode
    return None


def from_pg_locks(mode: str) -> str | None:
    """pg_locks.mode (AccessExclusiveLock) → ACCESS EXCLUSIVE; None for modes that are not table modes."""
    for value in LOCK_MODES.values():
        if value.pg_locks == mode:
            return value.name
    return None


def explain(mode: str) -> list[str]:
    """Lines a person reads: what the mode is, what takes it, what it conflicts with and blocks."""
    info = LOCK_MODES[mode]
    blocked = blocked_queries(mode)
    conflicting = [m for m in MODES if m in info.conflicts]
    return [
        f"{info.name} (pg_locks: {info.pg_locks}), level {info.level} of {len(MODES)}",
        f"taken by: {'; '.join(info.taken_by)}",
        f"conflicts with: {', '.join(conflicting)}",
        f"blocks: {blocks(mode)}" + (f" — while held, these wait: {'; '.join(blocked)}" if blocked else ""),
        f"does not block: {'; '.join(q for q, _ in COMMON_QUERIES if q not in blocked) or 'anything'}",
    ]
