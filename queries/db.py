"""Connection pool (one per process) and the one transaction helper every write goes through."""

from __future__ import annotations

import logging
import os
import random
import select
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import psycopg
from psycopg import errors as pgerrors
from psycopg.rows import dict_row
from psycopg.types.string import StrBinaryDumper, StrDumper
from psycopg_pool import ConnectionPool, PoolTimeout

from queries.errors import DatabaseUnavailable, OutcomeUnknown
from stack.outage import Outage, describe

log = logging.getLogger(__name__)
# The pool logs every failed reconnection attempt and every discarded connection; an outage is
# reported once, by database_outage below, instead.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
T = TypeVar("T")

# 40001 serialization failure, 40P01 deadlock; CockroachDB also says 40001 for its restarts.
RETRYABLE = (pgerrors.SerializationFailure, pgerrors.DeadlockDetected)
# The server went away or will not take the connection: 57P01 admin shutdown (a drain, a
# pg_terminate_backend), 57P02 crash shutdown, 57P03 cannot connect now (starting up), 53300 too
# many connections, and class 08 (connection exception). An OperationalError with no SQLSTATE
# at all is the client library's own "server closed the connection" / "connection refused".
# A CockroachDB drain (rolling restart, upgrade) disconnects clients and expects them to retry
# on another node: https://www.cockroachlabs.com/docs/stable/node-shutdown
CONNECTION_LOST_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})
# CockroachDB: "result is ambiguous", the COMMIT may or may not have happened.
# https://www.cockroachlabs.com/docs/stable/transaction-retry-error-reference#result_is_ambiguous
AMBIGUOUS_STATE = "40003"

_lock = threading.Lock()
_pools: dict[str, ConnectionPool] = {}
# This process's view of the database's availability: one log line when it goes away, one
# when it is back, and the seconds clients waited in between.
database_outage = Outage("database", log, first_wait=0.05, max_wait=1.0)


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError(
            "DATABASE_URL is not set. Run `python manage.py up` and "
            '`eval "$(python manage.py env)"`, or point it at your CockroachDB cluster.'
        )
    return url


def reconnect_seconds() -> float:
    """How long one read or write keeps trying to reach the database before it gives up."""
    return float(os.environ.get("STOCKROOM_RECONNECT_SECONDS", "20"))


def is_connection_lost(exc: BaseException) -> bool:
    """The connection broke or could not be made, as opposed to the statement failing."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    return state is None or state.startswith("08") or state in CONNECTION_LOST_STATES


def _configure(conn: psycopg.Connection) -> None:
    if conn.info.parameter_status("crdb_version"):
        use_cockroach_adapters(conn)
    conn.execute("SET default_transaction_isolation = 'serializable'")
    conn.commit()


def use_cockroach_adapters(conn: psycopg.Connection) -> None:
    """Send Python strings typed as text, as psycopg's own CockroachDB connections do
    (psycopg.crdb: "Dump strings with text oid instead of unknown"), instead of PostgreSQL's
    untyped 'unknown': CockroachDB's type inference cannot always resolve an unknown
    parameter (`lower(%s) || %s` is ambiguous there) and casts text to what a column needs
    (https://www.psycopg.org/psycopg3/docs/api/crdb.html). PostgreSQL keeps 'unknown', which
    it resolves from context (a text parameter would not turn into a timestamptz by itself)."""
    conn.adapters.register_dumper(str, StrDumper)
    conn.adapters.register_dumper(str, StrBinaryDumper)


def _looks_alive(conn: psycopg.Connection) -> bool:
    """Whether an idle pooled connection can be used, at no cost in the common case.

    An idle connection has nothing to read. When the server ends it (a drain, a restart,
    pg_terminate_backend) it sends its last words or closes the socket, and the socket turns
    readable: only then is the connection probed with a round trip. A healthy connection costs
    no round trip, which on CockroachDB may cross a region. A peer that vanished without a word
    is caught by the retry in run_transaction instead.
    """
    if conn.closed:
        return False
    readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
    if not readable:
        return True
    try:
        ConnectionPool.check_connection(conn)
    except psycopg.Error:
        return False
    return True


@contextmanager
def _live_connection(pool: ConnectionPool, timeout: float) -> Iterator[psycopg.Connection]:
    """A connection from the pool that is not known to be dead. A dead one is closed, which
    makes the pool replace it, and the next one is tried at once: after a restart every idle
    connection is dead, and none of them is handed to a caller."""
    for _ in range(pool.max_size):
        with pool.connection(timeout=timeout) as conn:
            if _looks_alive(conn):
                yield conn
                return
            conn.close()
    with pool.connection(timeout=timeout) as conn:  # all were dead: this one is new
        yield conn


def get_pool(url: str | None = None) -> ConnectionPool:
    url = url or database_url()
    with _lock:
        pool = _pools.get(url)
        if pool is None:
            pool = ConnectionPool(
                url,
                min_size=1,
                max_size=int(os.environ.get("STOCKROOM_POOL_SIZE", "16")),
                kwargs={"row_factory": dict_row, "application_name": "stockroom"},
                configure=_configure,
                # The pool's own reconnection backs off 1, 2, 4, 8 … s and would keep a client
                # waiting long after the database is back. Giving up early costs nothing: the
                # next request starts a fresh attempt at once.
                reconnect_timeout=3.0,
                open=True,
                name="stockroom",
            )
            _pools[url] = pool
        return pool


def close_pools() -> None:
    with _lock:
        for pool in _pools.values():
            pool.close()
        _pools.clear()


@dataclass
class RetryStats:
    """Counts retries across the process, so tests, benchmarks and the soak can report them."""

    transactions: int = 0
    retries: int = 0
    connection_losses: int = 0      # attempts that lost (or could not get) their connection
    ambiguous_commits: int = 0      # COMMITs whose outcome was unknown (retried by key)

    def reset(self) -> None:
        self.transactions = 0
        self.retries = 0
        self.connection_losses = 0
        self.ambiguous_commits = 0

    @property
    def unavailable_seconds(self) -> float:
        """Seconds this process's clients could not reach the database (outages included)."""
        return database_outage.unavailable_seconds()


retry_stats = RetryStats()
_stats_lock = threading.Lock()


def backoff_seconds(attempt: int, base: float = 0.01, cap: float = 1.0) -> float:
    """Capped exponential backoff with full jitter."""
    return random.uniform(0, min(cap, base * (2**attempt)))


def _count(**increments: int) -> None:
    with _stats_lock:
        for name, n in increments.items():
            setattr(retry_stats, name, getattr(retry_stats, name) + n)


def run_transaction(
    body: Callable[[psycopg.Cursor], T],
    *,
    max_attempts: int = 12,
    retry_ambiguous: bool = False,
    url: str | None = None,
    read_only: bool = False,
) -> T:
    """Run body(cursor) in one SERIALIZABLE transaction, retrying what is safe to retry.

    This is the one place that decides what a failure means (DESIGN.md §3):
    * 40001 / 40P01: retried, up to max_attempts.
    * The connection lost before COMMIT was sent (or never made): nothing was written, so it
      is retried on a fresh connection, for up to reconnect_seconds(); then DatabaseUnavailable.
    * The connection lost while COMMIT was on its way, or CockroachDB's 40003: the outcome is
      unknown. A read-only body is simply retried; a write only with retry_ambiguous (its
      idempotency key makes the re-run find its own earlier result); otherwise OutcomeUnknown.
    The retry loop sits outside conn.transaction() so that a failure raised at COMMIT is
    retried as well. The body must be safe to run again from the start.
    """
    pool = get_pool(url)
    conflicts = losses = 0
    give_up_at: float | None = None
    while True:
        committing = False
        started = time.monotonic()
        try:
            with _live_connection(pool, _connect_timeout(give_up_at)) as conn:
                if read_only:
                    conn.read_only = True
                try:
                    with conn.transaction():
                        with conn.cursor() as cur:
                            result = body(cur)
                        committing = True
                finally:
                    if read_only and not conn.closed:
                        conn.read_only = False
            _count(transactions=1)
            database_outage.recovered()
            return result
        except RETRYABLE as exc:
            conflicts += 1
            if conflicts >= max_attempts:
                raise
            _count(retries=1)
            log.debug("retrying after %s (attempt %d)", type(exc).__name__, conflicts)
            time.sleep(backoff_seconds(conflicts - 1))
            continue
        except psycopg.OperationalError as exc:
            ambiguous = exc.sqlstate == AMBIGUOUS_STATE or (committing and is_connection_lost(exc))
            if not ambiguous and not is_connection_lost(exc):
                raise
            if ambiguous and not read_only:
                _count(ambiguous_commits=1)
                if not retry_ambiguous:
                    raise OutcomeUnknown(
                        "The connection to the database was lost while this change was being "
                        "saved, so it is not known whether it was applied. Reload the page and "
                        "check before you try again."
                    ) from exc
            losses += 1
            now = time.monotonic()
            give_up_at = give_up_at or now + reconnect_seconds()
            database_outage.failed(exc, since=started)
            if now >= give_up_at:
                raise DatabaseUnavailable(
                    f"The database cannot be reached right now ({describe(exc)}). "
                    + ("Nothing was read" if read_only else "Nothing was saved")
                    + "; try again in a moment. If this lasts, check the database's health "
                    "(python manage.py status, or your cluster's console)."
                ) from exc
            _count(retries=1, connection_losses=1)
            log.debug("retrying on a fresh connection after %s", describe(exc))
            # The first retry goes at once: the pool has just replaced the broken connection.
            if losses > 1:
                time.sleep(min(backoff_seconds(losses, base=0.05, cap=1.0), give_up_at - now))


def _connect_timeout(give_up_at: float | None) -> float:
    """How long one attempt waits for a pooled connection. The first waits as a busy pool
    would make it; while riding through an outage each attempt waits briefly, because a new
    request is what makes the pool try to connect again once its own attempts gave up."""
    if give_up_at is None:
        return min(3.0, reconnect_seconds())
    return max(0.1, min(1.0, give_up_at - time.monotonic()))


def read(body: Callable[[psycopg.Cursor], T], *, url: str | None = None) -> T:
    """Run a read-only body; reads retry like writes (serializable reads can fail too)."""
    return run_transaction(body, url=url, read_only=True)


def fetch_all(sql: str, params: tuple | dict = (), *, url: str | None = None) -> list[dict]:
    return read(lambda cur: cur.execute(sql, params).fetchall(), url=url)


def fetch_one(sql: str, params: tuple | dict = (), *, url: str | None = None) -> dict | None:
    return read(lambda cur: cur.execute(sql, params).fetchone(), url=url)
