"""Where work that needs a session runs: the target's own connection, or the direct URL's.

A migration that cannot run in one transaction (CREATE INDEX CONCURRENTLY, a file with its own
COMMITs, a down file outside a transaction) and drizzle-kit's own migrate need a session: a lock
held across transactions, settings that last from one statement to the next. A transaction-mode
pooler gives none, so that work goes to the direct URL when one is configured, and is refused
on a pooled URL without one, before anything changes. The decision is the context's
(context/target.py); this only carries it out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from drizzle_ops.engine.connection import NoSession
from drizzle_ops.errors import UserError

# what identifies one database of one running server, as seen from either URL
IDENTITY = (
    "select current_database(), (select oid from pg_database where datname = current_database()), "
    "pg_postmaster_start_time()"
)


@dataclass
class Sessions:
    """The connection for session work, given the target's connection ``main``.

    ``pooled``: why ``main`` is taken for a transaction-mode pooler's (None: nothing says so).
    ``open_direct``: opens the direct URL's connection, when one is configured; ``direct_hint``
    says how to configure one, for the refusal. ``open_own``: opens a second connection to the
    target's own URL that proves it has a session (engine/connection.py's session probe): no mark
    on a URL tells every pooler apart, so one is asked. Neither given: ``main`` itself (a caller
    that knows its connection keeps its session, e.g. declared ``pooler: session``).
    """

    main: psycopg.Connection
    pooled: str | None = None
    open_direct: Callable[[], psycopg.Connection] | None = None
    open_own: Callable[[], psycopg.Connection] | None = None
    direct_source: str | None = None  # where the direct URL came from, for messages ("$DIRECT_URL")
    direct_hint: str = "set DIRECT_URL (or direct_url_env in invoke.yaml) to the database's direct URL"
    _direct: psycopg.Connection | None = field(default=None, init=False, repr=False)

    def require(self, what: str) -> None:
        """Refuse now (exit 2) if ``what`` would need a session that cannot be had; nothing has changed yet."""
        if self.open_direct is None and self.pooled is not None:
            raise UserError(
                f"{what} needs a database session (it cannot run inside one transaction), and the database URL goes "
                f"through a transaction-mode pooler ({self.pooled}), which keeps none; {self.direct_hint}, "
                "or pass the direct URL with --url"
            )

    def connection(self, what: str) -> psycopg.Connection:
        """The connection ``what`` runs on, opened (and checked) once: the direct one, a probed one of the
        target's URL, or ``main``. Refused (exit 2) when no session can be had."""
        self.require(what)
        if self._direct is not None:
            return self._direct
        if self.open_direct is not None:
            opened, source = self.open_direct(), self.direct_source or "the direct URL"
        elif self.open_own is not None:
            try:
                opened, source = self.open_own(), "the second connection"
            except NoSession as refused:
                raise UserError(
                    f"{what} needs a database session (it cannot run inside one transaction), and the database URL "
                    f"from {refused.source} goes through a connection pooler that keeps none ({refused.how}); "
                    f"{self.direct_hint}, or pass the direct URL with --url"
                ) from None
        else:
            return self.main
        try:
            _same_database(self.main, opened, source)
        except BaseException:
            opened.close()
            raise
        self._direct = opened
        return opened

    def used(self) -> list[psycopg.Connection]:
        """Every connection work ran on (to check that none is left inside a transaction)."""
        return [self.main] if self._direct is None else [self.main, self._direct]

    def close(self) -> None:
        if self._direct is not None:
            self._direct.close()
            self._direct = None


def _same_database(main: psycopg.Connection, direct: psycopg.Connection, source: str) -> None:
    """The direct URL must reach the very database the target's URL reaches (not a namesake elsewhere)."""
    ours = main.execute(IDENTITY).fetchone()
    theirs = direct.execute(IDENTITY).fetchone()
    if ours != theirs:
        name = ours[0] if ours else "?"
        raise UserError(
            f"the direct URL from {source} does not reach the target's database {name} on the same server; "
            "set it to that database's direct URL"
        )
