"""All SQL that talks to PostgreSQL: connections, bookkeeping, the advisory lock.

Identifiers always go through ``sql.Identifier``. Nothing here prints; errors
carry messages that never contain the password.
"""

from __future__ import annotations

import hashlib
import re
import select
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.errors import error_from_result
from psycopg.pq.abc import PGconn, PGresult

from drizzle_ops.engine.plan import AppliedRow
from drizzle_ops.errors import LockTimeout, OperationFailed, StepFailed, UserError

APPLICATION_NAME = "drizzle-ops"


def redact(text: str, url: str | None) -> str:
    """Remove the password of ``url`` from ``text`` (belt and braces: messages should never hold it)."""
    if not url:
        return text
    try:
        password = str(conninfo_to_dict(url).get("password") or "")
    except psycopg.Error:
        return text
    if not password:
        return text
    if len(password) >= 6:
        return text.replace(password, "***")
    # a short password would also match inside ordinary words: replace only standalone occurrences
    return re.sub(rf"(?<![A-Za-z0-9]){re.escape(password)}(?![A-Za-z0-9])", "***", text)


def check_url(url: str, source: str) -> None:
    """Reject a malformed URL with a message that does not echo it."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise UserError(
            f"the database URL from {source} is not a postgresql:// URL; "
            "expected postgresql://USER:PASSWORD@HOST:PORT/DBNAME"
        )
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error:
        params = {"port": "invalid"}
    ports = str(params.get("port") or "5432").split(",")
    if not all(p.strip().isdigit() for p in ports):
        raise UserError(
            f"the database URL from {source} is malformed; expected postgresql://USER:PASSWORD@HOST:PORT/DBNAME "
            "(percent-encode special characters in the password)"
        ) from None


def describe(conn: psycopg.Connection) -> str:
    """user@host:port/db, for logs: built from the live connection, never from the URL."""
    info = conn.info
    return f"{info.user}@{info.host}:{info.port}/{info.dbname}"


def connect(url: str, *, source: str = "--url", connect_timeout: int = 10) -> psycopg.Connection:
    check_url(url, source)
    options: dict[str, Any] = {"application_name": APPLICATION_NAME}
    if "connect_timeout" not in conninfo_to_dict(url):  # the URL's own setting wins
        options["connect_timeout"] = connect_timeout
    try:
        return psycopg.connect(url, autocommit=True, **options)
    except psycopg.OperationalError as exc:
        params = conninfo_to_dict(url)
        where = f"{params.get('host', 'localhost')}:{params.get('port', 5432)}/{params.get('dbname', '')}"
        raise OperationFailed(
            f"cannot connect to {where} (URL from {source}): {redact(connect_reason(exc), url)}; "
            "check that the server is up and the URL is right"
        ) from None


def connect_reason(exc: Exception) -> str:
    """The useful part of libpq's message: 'Connection refused', 'password authentication failed ...'."""
    first = " ".join(str(exc).split("\n")[0].split())
    reason = first.rsplit("failed: ", 1)[-1] if "failed: " in first else first
    return reason.removeprefix("FATAL: ").strip() or "unknown error"


@contextmanager
def step(conn: psycopg.Connection, description: str, *, command: str = "migrate") -> Iterator[None]:
    """Name the failed work outside any migration (creating the table, the lock, reading rows), with its SQLSTATE."""
    try:
        yield
    except psycopg.Error as exc:
        raise StepFailed(
            description,
            sqlstate=exc.diag.sqlstate,
            server_message=exc.diag.message_primary or connect_reason(exc),
            command=command,
            role=conn.info.user,
            connection_lost=conn.broken,
        ) from None


# -- bookkeeping -------------------------------------------------------------------------------


def _table(schema: str, table: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


def ensure_bookkeeping(conn: psycopg.Connection, schema: str, table: str, *, with_names: bool = False) -> None:
    """Create the schema and table exactly as drizzle-orm does, so either tool can take over.

    ``with_names``: drizzle-kit v1's table, which adds `name` and `applied_at`.
    An existing 0.31 table is not upgraded here: v1's own migrate does that,
    matching rows to folders, and we refuse rather than guess.
    """
    check_bookkeeping_shape(schema, table, bookkeeping_columns(conn, schema, table))  # before any write
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    columns = "id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint"
    if with_names:
        columns += ", name text, applied_at timestamp with time zone DEFAULT now()"
    conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (" + columns + ")").format(_table(schema, table)))
    if with_names and "name" not in bookkeeping_columns(conn, schema, table):
        raise UserError(
            f"{schema}.{table} is in the drizzle-kit 0.31 format (no `name` column) but the workspace uses the v1 "
            "layout; run drizzle-kit v1's `migrate` once, which upgrades the table, then use drizzle-ops again"
        )


# what drizzle-kit 0.31 writes; v1 adds name and applied_at (checked separately: an old table there is upgradable)
DRIZZLE_COLUMNS = ("id", "hash", "created_at")


def check_bookkeeping_shape(schema: str, table: str, columns: list[str]) -> None:
    """A table at the bookkeeping name that drizzle did not create (another tool's): refuse, touch nothing."""
    if not columns or all(c in columns for c in DRIZZLE_COLUMNS):
        return
    raise UserError(
        f"{schema}.{table} exists but is not a Drizzle bookkeeping table (its columns: {', '.join(columns)}; "
        f"drizzle-kit writes {', '.join(DRIZZLE_COLUMNS)}); set migrations.table or migrations.schema in "
        "drizzle.config.ts to another name"
    )


def bookkeeping_columns(conn: psycopg.Connection, schema: str, table: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            """
            select a.attname from pg_attribute a
            join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped
            order by a.attnum
            """,
            [schema, table],
        ).fetchall()
    ]


def read_applied(conn: psycopg.Connection, schema: str, table: str) -> list[AppliedRow]:
    """Rows of the bookkeeping table; none when it does not exist yet (this never creates it)."""
    columns = bookkeeping_columns(conn, schema, table)
    if not columns:
        return []
    check_bookkeeping_shape(schema, table, columns)
    name = sql.SQL(", name") if "name" in columns else sql.SQL(", null")
    rows = conn.execute(
        sql.SQL("select id, hash, created_at{} from {} order by id").format(name, _table(schema, table))
    ).fetchall()
    return [AppliedRow(id=r[0], hash=r[1], created_at=int(r[2]) if r[2] is not None else None, name=r[3]) for r in rows]


def insert_applied(
    conn: psycopg.Connection, schema: str, table: str, hash_: str, created_at: int, name: str | None = None
) -> None:
    """The row drizzle writes: (hash, created_at), plus the name for v1 (applied_at takes its default)."""
    RowInsert(conn, schema, table, with_names=name is not None).execute(conn, hash_, created_at, name)


class RowInsert:
    """The bookkeeping insert of :func:`insert_applied`, composed once per run (the identifiers are quoted once).

    ``execute`` sends it with parameters; ``literal`` renders it as plain SQL to travel in one
    simple query with a migration's statements. Both store the same values, so the rows stay
    identical to drizzle's.
    """

    def __init__(self, conn: psycopg.Connection, schema: str, table: str, *, with_names: bool) -> None:
        columns = '"hash", "created_at", "name"' if with_names else '"hash", "created_at"'
        head = sql.SQL("insert into {} (" + columns + ") values (").format(_table(schema, table))
        self.with_names = with_names
        self._query = sql.Composed([head, sql.SQL("%s, %s, %s)" if with_names else "%s, %s)")])
        self._prefix = head.as_string(conn)

    def params(self, hash_: str, created_at: int, name: str | None) -> list[Any]:
        return [hash_, created_at, name] if self.with_names else [hash_, created_at]

    def execute(self, conn: psycopg.Connection, hash_: str, created_at: int, name: str | None = None) -> None:
        conn.execute(self._query, self.params(hash_, created_at, name))

    def literal(self, conn: psycopg.Connection, hash_: str, created_at: int, name: str | None = None) -> str:
        values = ", ".join(sql.Literal(v).as_string(conn) for v in self.params(hash_, created_at, name))
        return f"{self._prefix}{values})"


def delete_applied(conn: psycopg.Connection, schema: str, table: str, row_id: int) -> None:
    """Forget one applied migration (a rollback step); exactly one row must go."""
    cursor = conn.execute(sql.SQL("delete from {} where id = %s").format(_table(schema, table)), [row_id])
    if cursor.rowcount != 1:
        raise OperationFailed(
            f"bookkeeping row {row_id} of {schema}.{table} was not found; run `inv status` and try again"
        )


def update_applied_hash(
    conn: psycopg.Connection, schema: str, table: str, row_id: int, old_hash: str, new_hash: str
) -> None:
    """Record a new hash for one applied migration (a repair); the row must still hold ``old_hash``."""
    cursor = conn.execute(
        sql.SQL("update {} set hash = %s where id = %s and hash = %s").format(_table(schema, table)),
        [new_hash, row_id, old_hash],
    )
    if cursor.rowcount != 1:
        raise OperationFailed(
            f"bookkeeping row {row_id} of {schema}.{table} no longer holds hash {old_hash[:12]} "
            "(changed meanwhile?); run `inv status` and try again"
        )


def set_local_timeouts(conn: psycopg.Connection, *, lock_timeout: str | None, statement_timeout: str | None) -> None:
    """Limits for the current transaction only (set_config(..., true) is SET LOCAL)."""
    for name, value in (("lock_timeout", lock_timeout), ("statement_timeout", statement_timeout)):
        if value:
            conn.execute("select set_config(%s, %s, true)", [name, str(value)])


def local_timeouts_sql(
    conn: psycopg.Connection, *, lock_timeout: str | None, statement_timeout: str | None
) -> list[str]:
    """:func:`set_local_timeouts` as literal statements, to travel inside one simple query."""
    return [
        sql.SQL("select set_config({}, {}, true)").format(sql.Literal(name), sql.Literal(str(value))).as_string(conn)
        for name, value in (("lock_timeout", lock_timeout), ("statement_timeout", statement_timeout))
        if value
    ]


def set_session_timeouts(conn: psycopg.Connection, *, lock_timeout: str | None, statement_timeout: str | None) -> None:
    """For statements run outside a transaction; "0" turns a limit off again."""
    for name, value in (("lock_timeout", lock_timeout), ("statement_timeout", statement_timeout)):
        if value:
            conn.execute("select set_config(%s, %s, false)", [name, str(value)])


def session_timeouts(conn: psycopg.Connection) -> dict[str, str | None]:
    row = conn.execute("select current_setting('lock_timeout'), current_setting('statement_timeout')").fetchone()
    return {"lock_timeout": row[0] if row else None, "statement_timeout": row[1] if row else None}


def index_is_invalid(conn: psycopg.Connection, schema: str | None, name: str) -> bool:
    row = conn.execute(
        """
        select not i.indisvalid
        from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
        where c.relname = %s and n.nspname = coalesce(%s, current_schema())
        """,
        [name, schema],
    ).fetchone()
    return bool(row and row[0])


def drop_index_concurrently(conn: psycopg.Connection, schema: str | None, name: str) -> None:
    target = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name)) if schema else sql.Identifier(name)
    conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(target))


def likely_blocker(conn: psycopg.Connection) -> str | None:
    """After a lock timeout: the oldest other transaction holding table locks in this database.

    The waiter is gone by now, so pg_blocking_pids() can't say; the oldest
    lock-holding transaction is almost always the culprit.
    """
    row = conn.execute(
        r"""
        select a.pid, coalesce(nullif(a.application_name, ''), a.usename::text), a.state,
               left(regexp_replace(a.query, '\s+', ' ', 'g'), 120)
        from pg_stat_activity a
        where a.pid <> pg_backend_pid() and a.datname = current_database() and a.xact_start is not null
          and exists (select 1 from pg_locks l where l.pid = a.pid and l.granted and l.locktype = 'relation')
        order by a.xact_start
        limit 1
        """
    ).fetchone()
    if row is None:
        return None
    pid, who, state, query = row
    return f"pid {pid} ({who}, {state}): {query}"


# -- several statements in one round trip -----------------------------------------------------------
#
# A chunk of a migration is sent today as one simple query. Several chunks can travel as ONE
# simple query, joined by "\n;\n", when that cannot change what the server runs: each chunk
# must end outside any quote or comment, and we must know how many statements (so how many
# results) each chunk gives, to name the one that failed. ``simple_query_statements`` answers
# that, or None when it is not sure; None sends the chunks one by one, as before.

# statements that end or start transactions, or switch the protocol: never sent together
_UNBATCHABLE = frozenset(
    {"begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release", "prepare", "copy"}
)
# ';' inside one statement: a rule's action list, a BEGIN ATOMIC function body
_INNER_SEMICOLONS = re.compile(r"\b(?:rule|atomic)\b")
# ordinary text with double-quoted names and single-quoted strings that have no backslash:
# it stops at ';', '$', a comment, a backslash, or a quote it cannot close
_PLAIN = re.compile(r"""(?:[^'"$;/\\-]+|/(?!\*)|-(?!-)|"[^"]*"|'[^'\\]*')*""")
_SPACE = re.compile(r"[ \t\n\r\f\v]*")  # PostgreSQL's whitespace (a no-break space is an identifier character)
_WORD = re.compile(r"[A-Za-z_]+")
_BLOCK_COMMENT = re.compile(r"/\*|\*/")
_PARAMETER = re.compile(r"\$[0-9]+")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$")


def _identifier_char(c: str) -> bool:
    return not c.isascii() or c.isalnum() or c in "_$"


def _skip_comment(text: str, i: int) -> int:
    """The index after the comment starting at ``i`` ('--' or a nested '/*'), or -1 when it never ends."""
    if text.startswith("--", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end + 1
    depth, i = 1, i + 2
    while depth:
        found = _BLOCK_COMMENT.search(text, i)
        if found is None:
            return -1
        depth += 1 if found.group() == "/*" else -1
        i = found.end()
    return i


def _skip_dollar(text: str, i: int) -> int:
    """At a '$' outside quotes: the index to go on from, or -1 when unsure how PostgreSQL reads it."""
    start = i
    while start > 0 and _identifier_char(text[start - 1]):
        start -= 1
    if start < i:  # right after a name: part of it (PostgreSQL allows '$' in names); after a number: unsure
        first = text[start]
        return i + 1 if first.isalpha() or first == "_" or not first.isascii() else -1
    parameter = _PARAMETER.match(text, i)
    if parameter is not None:
        end = parameter.end()
    else:
        tag = _DOLLAR_TAG.match(text, i)
        if tag is None:
            return -1
        close = text.find(tag.group(), tag.end())
        if close < 0:
            return -1
        end = close + len(tag.group())
    # a quote or parameter that ends where a name would go on: unusual enough not to guess
    return -1 if end < len(text) and _identifier_char(text[end]) else end


def simple_query_statements(text: str) -> int | None:
    """How many statements (so results) the server runs when ``text`` is sent as a simple query.

    None when unsure: a quote or comment left open (text joined after it would be read
    differently), a backslash in a string (its meaning depends on settings), an unusual
    '$', transaction control or COPY, or ';' that may belong inside one statement. Only
    text with a definite answer is ever joined with other text.
    """
    lowered = text.lower()
    if ("rule" in lowered or "atomic" in lowered) and _INNER_SEMICOLONS.search(lowered):
        return None
    n, i, count, starting = len(text), 0, 0, True
    while i < n:
        if starting:
            i = _SPACE.match(text, i).end()  # type: ignore[union-attr]
            if i >= n:
                break
            if text.startswith(("--", "/*"), i):
                i = _skip_comment(text, i)
                if i < 0:
                    return None
                continue
            if text[i] == ";":  # an empty statement gives no result
                i += 1
                continue
            word = _WORD.match(text, i)
            if word and word.group().lower() in _UNBATCHABLE:
                return None
            count += 1
            starting = False
        i = _PLAIN.match(text, i).end()  # type: ignore[union-attr]
        if i >= n:
            break
        if text[i] == ";":
            starting = True
            i += 1
        elif text.startswith(("--", "/*"), i):
            i = _skip_comment(text, i)
        elif text[i] == "$":
            i = _skip_dollar(text, i)
        else:  # a backslash, or a quote that does not close
            return None
        if i < 0:
            return None
    return count


@dataclass
class Exchange:
    """What came back for one simple query: a result per statement the server ran, up to the failed one."""

    results: list[PGresult]
    lost: psycopg.OperationalError | None = None  # the connection broke before the server was done

    def failed_at(self) -> int | None:
        """Index of the failed statement's result; with a lost connection and no error, the first unanswered one."""
        for index, result in enumerate(self.results):
            if result.status == pq.ExecStatus.FATAL_ERROR:
                return index
        return len(self.results) if self.lost is not None else None

    def error(self, conn: psycopg.Connection) -> psycopg.Error | None:
        """The failure as psycopg raises it from ``conn.execute``."""
        for result in self.results:
            if result.status == pq.ExecStatus.FATAL_ERROR:
                return error_from_result(result, encoding=conn.info.encoding)
        return self.lost


def exchange(conn: psycopg.Connection, query: bytes) -> Exchange:
    """Send ``query`` (any number of statements) as ONE simple-protocol message; keep every result.

    ``conn.execute`` would raise at an error and drop the results before it; their count is what
    names the failed statement. Like psycopg, a Ctrl-C cancels the query in the server first.
    """
    pgconn = conn.pgconn
    results: list[PGresult] = []
    try:
        pgconn.send_query(query)
        while pgconn.flush():  # non-blocking: the rest goes out as the socket takes it
            if _wait(pgconn.socket, write=True):
                pgconn.consume_input()
        _collect(pgconn, results)
    except psycopg.OperationalError as exc:
        return Exchange(results, exc)
    except KeyboardInterrupt:
        with suppress(psycopg.Error, OSError):
            conn.cancel()
            _collect(pgconn, results)
        raise
    return Exchange(results)


def command(conn: psycopg.Connection, query: str) -> None:
    """A plain command (COMMIT, ROLLBACK) in one round trip, never prepared; its error raised as psycopg raises it."""
    error = exchange(conn, query.encode()).error(conn)
    if error is not None:
        raise error


def _wait(fd: int, *, write: bool = False) -> bool:
    """Block until the socket can be read (or, with ``write``, written); True when it can be read.

    poll where there is one: select() refuses descriptors above 1023, which a fleet run's process may hold.
    """
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | (select.POLLOUT if write else 0))
        events = poller.poll()
        return any(event & (select.POLLIN | select.POLLERR | select.POLLHUP) for _, event in events)
    readable, _, _ = select.select([fd], [fd] if write else [], [])
    return bool(readable)


def _collect(pgconn: PGconn, results: list[PGresult]) -> None:
    while True:
        while pgconn.is_busy():
            _wait(pgconn.socket)
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:
            return
        results.append(result)


# -- advisory lock -------------------------------------------------------------------------------


def lock_key(schema: str, table: str) -> int:
    """A stable signed 64-bit key per bookkeeping table, so two workspaces don't block each other."""
    digest = hashlib.sha256(f"drizzle-ops:{schema}.{table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True)
class LockHolder:
    pid: int
    application_name: str
    client: str | None
    backend_start: str | None
    state: str | None

    def __str__(self) -> str:
        who = f"pid {self.pid}"
        if self.application_name:
            who += f" ({self.application_name})"
        if self.client:
            who += f" from {self.client}"
        return who


def lock_holder(conn: psycopg.Connection, key: int) -> LockHolder | None:
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    row = conn.execute(
        """
        select a.pid, coalesce(a.application_name, ''), host(a.client_addr),
               to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS'), a.state
        from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and l.objsubid = 1
          and l.classid = %s::oid and l.objid = %s::oid
          and l.database = (select oid from pg_database where datname = current_database())
        limit 1
        """,
        [unsigned >> 32, unsigned & 0xFFFFFFFF],
    ).fetchone()
    return LockHolder(*row) if row else None


def acquire_lock(
    conn: psycopg.Connection,
    key: int,
    *,
    timeout: float,
    on_wait: Callable[[LockHolder | None], None] | None = None,
    poll_interval: float = 0.1,
) -> float:
    """Spin on pg_try_advisory_lock until it is ours or ``timeout`` seconds pass.

    A blocking pg_advisory_lock would hold a lock queue entry that CREATE INDEX
    CONCURRENTLY waits on, so we never block inside the server. Returns the
    seconds spent waiting.
    """
    started = time.monotonic()
    announced = False
    while True:
        row = conn.execute("select pg_try_advisory_lock(%s)", [key]).fetchone()
        if row and row[0]:
            return time.monotonic() - started
        waited = time.monotonic() - started
        if not announced and on_wait is not None:
            on_wait(lock_holder(conn, key))
            announced = True
        if waited >= timeout:
            holder = lock_holder(conn, key)
            raise LockTimeout(
                f"another migration holds the lock ({holder or 'holder gone'}) and {timeout:g}s passed; "
                "wait for it to finish, or raise --lock-wait"
            )
        time.sleep(min(poll_interval, max(0.0, timeout - waited)))


def release_lock(conn: psycopg.Connection, key: int) -> None:
    if not conn.closed:
        conn.execute("select pg_advisory_unlock(%s)", [key])


# -- table statistics for plans ------------------------------------------------------------------


@dataclass(frozen=True)
class TableStats:
    rows: int  # the planner's estimate, or an exact count when the table was never analysed
    bytes: int  # table, indexes and TOAST
    exact: bool


def table_stats(conn: psycopg.Connection, schema: str, table: str) -> TableStats | None:
    """None when the table does not exist (yet)."""
    row = conn.execute(
        """
        select c.reltuples::bigint, pg_total_relation_size(c.oid), pg_relation_size(c.oid)
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and c.relname = %s and c.relkind in ('r', 'p')
        """,
        [schema, table],
    ).fetchone()
    if row is None:
        return None
    estimate, total, heap = row
    if estimate >= 0 and not (estimate == 0 and heap > 0):
        return TableStats(int(estimate), int(total), exact=False)
    # never analysed (reltuples -1, or 0 with pages): count, unless that would be slow itself
    if heap > 1 << 30:
        return TableStats(-1, int(total), exact=False)
    counted = conn.execute(sql.SQL("select count(*) from {}").format(_table(schema, table))).fetchone()
    return TableStats(int(counted[0]) if counted else 0, int(total), exact=True)
