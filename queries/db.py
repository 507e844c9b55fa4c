"""Connection pool (one per process) and the one transaction helper every write goes through."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import psycopg
from psycopg import errors as pgerrors
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)
T = TypeVar("T")

# 40001 serialization failure, 40P01 deadlock; CockroachDB also says 40001 for its restarts.
RETRYABLE = (pgerrors.SerializationFailure, pgerrors.DeadlockDetected)
# The outcome of COMMIT is unknown (CockroachDB 40003, or the connection dropped). Only
# retried for bodies that are idempotent by key, which find their key on the re-run.
AMBIGUOUS = (psycopg.OperationalError,)

_lock = threading.Lock()
_pools: dict[str, ConnectionPool] = {}


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError(
            "DATABASE_URL is not set. Run `python manage.py up` and "
            '`eval "$(python manage.py env)"`, or point it at your CockroachDB cluster.'
        )
    return url


def _configure(conn: psycopg.Connection) -> None:
    conn.execute("SET default_transaction_isolation = 'serializable'")
    conn.commit()


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
    """Counts retries across the process, so tests and benchmarks can report them."""

    transactions: int = 0
    retries: int = 0

    def reset(self) -> None:
        self.transactions = 0
        self.retries = 0


retry_stats = RetryStats()
_stats_lock = threading.Lock()


def backoff_seconds(attempt: int, base: float = 0.01, cap: float = 1.0) -> float:
    """Capped exponential backoff with full jitter."""
    return random.uniform(0, min(cap, base * (2**attempt)))


def run_transaction(
    body: Callable[[psycopg.Cursor], T],
    *,
    max_attempts: int = 12,
    retry_ambiguous: bool = False,
    url: str | None = None,
    read_only: bool = False,
) -> T:
    """Run body(cursor) in one SERIALIZABLE transaction, retrying 40001/40P01.

    The retry loop sits outside conn.transaction() so that a failure raised at COMMIT is
    retried as well. The body must be safe to run again from the start.
    """
    pool = get_pool(url)
    for attempt in range(max_attempts):
        try:
            with pool.connection() as conn:
                if read_only:
                    conn.read_only = True
                try:
                    with conn.transaction():
                        with conn.cursor() as cur:
                            result = body(cur)
                finally:
                    if read_only and not conn.closed:
                        conn.read_only = False
            with _stats_lock:
                retry_stats.transactions += 1
            return result
        except RETRYABLE as exc:
            last = exc
        except AMBIGUOUS as exc:
            if not retry_ambiguous:
                raise
            last = exc
        with _stats_lock:
            retry_stats.retries += 1
        log.debug("retrying transaction after %s (attempt %d)", type(last).__name__, attempt + 1)
        time.sleep(backoff_seconds(attempt))
    raise last


def read(body: Callable[[psycopg.Cursor], T], *, url: str | None = None) -> T:
    """Run a read-only body; reads retry like writes (serializable reads can fail too)."""
    return run_transaction(body, url=url, read_only=True)


def fetch_all(sql: str, params: tuple | dict = (), *, url: str | None = None) -> list[dict]:
    return read(lambda cur: cur.execute(sql, params).fetchall(), url=url)


def fetch_one(sql: str, params: tuple | dict = (), *, url: str | None = None) -> dict | None:
    return read(lambda cur: cur.execute(sql, params).fetchone(), url=url)
