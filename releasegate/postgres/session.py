"""A read-only Postgres session that is safe to point at production, also behind PgBouncer.

Every query runs in its own transaction::

    BEGIN READ ONLY; SET LOCAL statement_timeout …; SET LOCAL lock_timeout …;
    SET LOCAL idle_in_transaction_session_timeout …; SET LOCAL application_name …   (one round trip)
    <the query>
    ROLLBACK

Nothing is set for the session itself: PgBouncer refuses the ``options`` startup parameter
(``FATAL: unsupported startup parameter: options``) or, with ``ignore_startup_parameters``,
drops it silently; and in transaction pooling a session ``SET`` reaches whichever client gets
the server connection next. ``SET LOCAL`` ends with the transaction, on the same server
connection the query ran on. Prepared statements are off for the same reason (PgBouncer before
1.21 cannot route them in transaction mode).

Read-only is a guard, not a boundary: a role that holds write privileges could undo it. So
``write_privileges()`` reads the role's privileges from the catalogs — superuser and role
attributes, pg_write_all_data, INSERT/UPDATE/DELETE/TRUNCATE grants, ownership, CREATE on the
database or a schema, default privileges — and never tries a write to find out.

A query never raises: the result carries the database's one-line message (a missing table, a
statement timeout, a lost connection) so that one check fails and the others still run. A broken
connection is reopened for the next query. Each query also has a client-side deadline: a server
(or a proxy in front of it) that stops answering is cut off by shutting the socket down, since
statement_timeout only helps when the server itself is alive.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from releasegate.postgres.privileges import WRITE_PRIVILEGES

if TYPE_CHECKING:
    import psycopg

APPLICATION_NAME = "releasegate"


def _psycopg() -> Any:
    """psycopg, imported on first use: every suite's collection imports this module for its SQL,
    and a run without data checks should not pay for the driver."""
    import psycopg

    return psycopg

ROW_LIMIT = 1000  # rows kept from one query; a check never needs more, a hostile table has more


@dataclass(frozen=True)
class PgLimits:
    """Seconds: connect, statement_timeout, lock_timeout; the client deadline is derived."""

    connect_s: float = 3.0
    statement_s: float = 5.0
    lock_s: float = 1.0

    @property
    def deadline_s(self) -> float:
        """How long one transaction may take on the client side before the socket is cut."""
        return self.statement_s + max(2.0, self.statement_s * 0.5)

    @property
    def idle_s(self) -> float:
        return self.deadline_s + 5.0


@dataclass
class QueryResult:
    """One query's answer, or why there was none (never an exception)."""

    sql: str
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    latency_ms: float = 0.0
    error: str | None = None  # the database's (or the network's) message, one line
    sqlstate: str | None = None
    unreachable: bool = False  # no session could be opened at all
    truncated: bool = False  # more rows than the limit; only the first ones are kept
    cut_off: bool = False  # the client deadline passed and the connection was cut
    rendered: str = ""  # the SQL with its parameters filled in, for evidence and reproducing

    @property
    def ok(self) -> bool:
        return self.error is None

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=False)) for row in self.rows]

    def first(self, column: str | None = None) -> Any:
        """The first row's value of ``column`` (default the first column); None when no rows."""
        if not self.rows:
            return None
        index = self.columns.index(column) if column is not None else 0
        return self.rows[0][index]


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def db_message(exc: BaseException) -> str:
    """The server's primary message (``relation "x" does not exist``), else the first line."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    if primary:
        return one_line(primary)
    text = str(exc).strip()
    return one_line(text.splitlines()[0]) if text else type(exc).__name__


def endpoint_of(dsn: str) -> str:
    """"host:port" of a DSN (URL or key=value), for evidence and for grouping failures."""
    pg = _psycopg()
    try:
        params = pg.conninfo.conninfo_to_dict(dsn)
    except pg.ProgrammingError:
        return "?"
    host = str(params.get("host") or params.get("hostaddr") or "localhost").split(",")[0]
    port = str(params.get("port") or "5432").split(",")[0]
    return f"{host}:{port}"


class Watchdog:
    """One thread per process that shuts a socket down when its deadline passes first.

    libpq does its own socket I/O, so a hard deadline cannot be put on its reads; shutting the
    socket down makes the blocked read return at once. The thread looks every ``TICK_S`` at
    what is armed: arming and disarming a transaction is a lock and a dict entry — no thread
    started or woken per query (a deadline of seconds does not need more precision).
    """

    TICK_S = 0.1
    _shared: Watchdog | None = None
    _shared_lock = threading.Lock()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[int, tuple[int, float, threading.Event]] = {}  # id -> fd, deadline, fired
        threading.Thread(target=self._run, daemon=True, name="releasegate-pg-watchdog").start()

    @classmethod
    def shared(cls) -> Watchdog:
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    @contextlib.contextmanager
    def armed(self, fd: int, seconds: float) -> Iterator[threading.Event]:
        fired = threading.Event()
        with self._lock:
            self._jobs[id(fired)] = (fd, time.monotonic() + seconds, fired)
        try:
            yield fired
        finally:
            with self._lock:
                self._jobs.pop(id(fired), None)

    def _run(self) -> None:
        while True:
            time.sleep(self.TICK_S)
            now = time.monotonic()
            with self._lock:
                due = [k for k, (_, until, _) in self._jobs.items() if until <= now]
                for key in due:
                    fd, _, fired = self._jobs.pop(key)
                    fired.set()
                    with contextlib.suppress(OSError):
                        dup = socket.socket(fileno=socket.dup(fd))
                        try:
                            dup.shutdown(socket.SHUT_RDWR)
                        finally:
                            dup.close()


class PgSession:
    """One read-only connection for a whole run; each query in its own read-only transaction."""

    def __init__(self, dsn: str, limits: PgLimits = PgLimits(), row_limit: int = ROW_LIMIT) -> None:
        self.dsn = dsn
        self.limits = limits
        self.row_limit = row_limit
        self.host = endpoint_of(dsn)
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, Any], QueryResult] = {}
        self._dead: QueryResult | None = None  # the answer after which nothing more is asked
        ms = lambda s: round(s * 1000)  # noqa: E731
        # One simple-protocol round trip; SET LOCAL ends with the transaction (see module doc).
        self._begin = (
            "BEGIN READ ONLY; "
            f"SET LOCAL statement_timeout = {ms(limits.statement_s)}; "
            f"SET LOCAL lock_timeout = {ms(limits.lock_s)}; "
            f"SET LOCAL idle_in_transaction_session_timeout = {ms(limits.idle_s)}; "
            f"SET LOCAL application_name = '{APPLICATION_NAME}'")

    # -- connection -------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._discard()
            self._conn = _psycopg().connect(
                self.dsn, autocommit=True, prepare_threshold=None,
                connect_timeout=max(1, round(self.limits.connect_s)),
                application_name=APPLICATION_NAME)
        return self._conn

    def _discard(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None

    def close(self) -> None:
        with self._lock:
            self._discard()

    @contextlib.contextmanager
    def _deadline(self, conn: psycopg.Connection[Any]) -> Iterator[threading.Event]:
        """Cut the connection's socket if the transaction outlives the client deadline."""
        with Watchdog.shared().armed(conn.pgconn.socket, self.limits.deadline_s) as fired:
            yield fired

    # -- queries ----------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None, *,
              cache: bool = True, cursor_name: str | None = None) -> QueryResult:
        """Run ``sql`` in its own read-only transaction; the result, or why there is none.

        ``cursor_name`` fetches through a server-side cursor (only SELECT/VALUES can be
        declared, and at most row_limit + 1 rows travel): for SQL written in a profile.
        """
        key = (sql, repr(params) + (cursor_name or ""))
        if cache and key in self._cache:
            return self._cache[key]
        with self._lock:
            if self._dead is not None:  # fail fast: one timeout per run, not one per check
                return QueryResult(sql, error=self._dead.error, unreachable=self._dead.unreachable,
                                   cut_off=self._dead.cut_off)
            result = self._run(sql, params, cursor_name)
        if result.unreachable or result.cut_off:  # nothing more to ask a server that went silent
            self._dead = result
        if cache:  # errors too: the checks sharing a query share its answer
            self._cache[key] = result
        return result

    def _run(self, sql: str, params: Any, cursor_name: str | None) -> QueryResult:
        psycopg = _psycopg()
        started = time.perf_counter()
        result = QueryResult(sql)
        try:
            conn = self._connect()
        except psycopg.Error as exc:
            result.error, result.unreachable = _connect_message(exc, self.host), True
            result.latency_ms = _ms(started)
            return result
        result.rendered = _render(psycopg, conn, sql, params)
        started = time.perf_counter()
        with self._deadline(conn) as fired:
            try:
                conn.execute(self._begin)
                if cursor_name:
                    with conn.cursor(name=cursor_name) as cur:
                        cur.execute(sql, params)
                        rows = cur.fetchmany(self.row_limit + 1)
                        columns = [d.name for d in cur.description or ()]
                else:
                    cur = conn.execute(sql, params)
                    columns = [d.name for d in cur.description or ()]
                    rows = cur.fetchmany(self.row_limit + 1) if cur.description else []
                result.columns = columns
                result.truncated = len(rows) > self.row_limit
                result.rows = [tuple(r) for r in rows[: self.row_limit]]
            except psycopg.Error as exc:
                result.sqlstate = getattr(exc, "sqlstate", None)
                result.cut_off = fired.is_set()
                result.error = (f"{self.host} gave no answer within {self.limits.deadline_s:g}s "
                                "(client deadline; connection cut)") if fired.is_set() else db_message(exc)
            finally:
                self._end(conn)
        result.latency_ms = _ms(started)
        return result

    def _end(self, conn: psycopg.Connection[Any]) -> None:
        """ROLLBACK (never COMMIT: nothing is meant to be kept); drop a broken connection."""
        if conn.broken or conn.closed:
            self._discard()
            return
        try:
            conn.execute("ROLLBACK")
        except _psycopg().Error:
            self._discard()

    # -- what the session can do ------------------------------------------------------------

    def session_facts(self) -> QueryResult:
        """What the transaction looks like from inside: read-only, limits, role, server clock."""
        return self.query(SESSION_FACTS)

    def write_privileges(self) -> QueryResult:
        """Every way the role could write (see WRITE_PRIVILEGES); no rows = none found."""
        return self.query(WRITE_PRIVILEGES)

    def clock_offset(self) -> timedelta:
        """Database clock minus local clock, so ages are judged on the database's clock."""
        facts = self.session_facts()
        if not facts.ok or not facts.rows:
            return timedelta(0)
        db_clock = facts.first("db_clock")
        local_mid = time.time() - facts.latency_ms / 2000
        return timedelta(seconds=float(db_clock) - local_mid) if db_clock is not None else timedelta(0)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.clock_offset()


def _render(psycopg: Any, conn: Any, sql: str, params: Any) -> str:
    """``sql`` with ``params`` quoted in, client-side (no round trip), for a pasteable command."""
    if not params:
        return sql
    try:
        return str(psycopg.ClientCursor(conn).mogrify(sql, params))
    except (psycopg.Error, TypeError, ValueError):
        return sql


def _connect_message(exc: psycopg.Error, host: str) -> str:
    text = db_message(exc)
    if isinstance(exc, _psycopg().errors.ConnectionTimeout) or "timeout expired" in text:
        return f"cannot connect to {host}: no answer within the connect timeout"
    text = text.removeprefix("connection failed: ")
    return text if host in text or "server at" in text else f"cannot connect to {host}: {text}"


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


SESSION_FACTS = """\
SELECT current_setting('transaction_read_only') AS transaction_read_only,
       current_setting('statement_timeout') AS statement_timeout,
       current_setting('lock_timeout') AS lock_timeout,
       current_setting('application_name') AS application_name,
       current_user AS role, current_database() AS database,
       current_setting('server_version') AS server_version,
       has_database_privilege(current_database(), 'TEMP') AS temp_allowed,
       extract(epoch FROM clock_timestamp())::float8 AS db_clock"""
