"""Recognising a transaction-mode pooler from its URL.

Through a transaction-mode pooler (PgBouncer with ``pool_mode = transaction``, Supabase's
Supavisor on port 6543, Neon's ``-pooler`` endpoints) each transaction may run on another
server connection, so nothing that lives in a session can be trusted: a session advisory lock,
a session ``SET``, a prepared statement. drizzle-ops does everything it can inside single
transactions; the rest needs a session, which only a direct URL gives. The URL says which it is,
by these marks, unless the environment says so itself (``pooler:`` in invoke.yaml).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

# Prisma's mark on a PgBouncer URL; libpq rejects it as an unknown parameter, so it is also removed
PGBOUNCER_PARAMETER = "pgbouncer"
SUPAVISOR_TRANSACTION_PORT = 6543


def transaction_pooler(url: str) -> str | None:
    """Why ``url`` is taken for a transaction-mode pooler's, or None (a direct connection, as far as it shows)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None  # a malformed URL is reported when connecting, with its own message
    query = dict(parse_qsl(parts.query))
    if query.get(PGBOUNCER_PARAMETER, "").lower() in ("true", "1", "yes"):
        return f"{PGBOUNCER_PARAMETER}=true in the URL"
    if port == SUPAVISOR_TRANSACTION_PORT:
        return f"port {SUPAVISOR_TRANSACTION_PORT}, Supabase's transaction pooler"
    host = (parts.hostname or "").split(".", 1)[0]
    if host.endswith("-pooler"):
        return f"host {host}, a Neon pooled endpoint"
    return None


def without_pooler_parameters(url: str) -> str:
    """``url`` without the ``pgbouncer`` mark, which libpq would refuse; unchanged when it has none.

    The other parameters are kept exactly as written: decoded and encoded again, a space (``%20``)
    would come back as ``+``, which libpq does not read as a space.
    """
    if PGBOUNCER_PARAMETER not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url  # a malformed URL is reported when connecting, with its own message
    kept = [item for item in parts.query.split("&") if item and unquote(item.split("=", 1)[0]) != PGBOUNCER_PARAMETER]
    return urlunsplit(parts._replace(query="&".join(kept)))
