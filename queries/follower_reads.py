"""Follower reads where the cluster allows them, plain reads where it does not.

Headquarters' reads, the rollup refresh and the invariant checker read a few seconds in the past
on CockroachDB (AS OF SYSTEM TIME follower_read_timestamp()): no locks, no restarts of writers,
served by the nearest replica. Follower reads are an Enterprise feature: before v24.3 a cluster
without a license rejects them, and since then a cluster needs a license key (possibly the free
one) once its grace period ends (https://www.cockroachlabs.com/docs/stable/follower-reads,
https://www.cockroachlabs.com/docs/stable/licensing-faqs). The rejection comes as SQLSTATE
XXC01 (a CCL binary is required) or XXC02 (a valid license is required).

An unlicensed cluster must not take the Overview down: the first rejection is remembered for
this process, logged once, shown on the Operations page, and from then on the same reads run
as plain (current, leaseholder) reads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

import psycopg

from queries.db import read
from queries.dialect import dialect_of

log = logging.getLogger(__name__)
T = TypeVar("T")

LICENSE_SQLSTATES = frozenset({"XXC01", "XXC02"})

_lock = threading.Lock()
_unavailable: str | None = None


def is_license_error(exc: BaseException) -> bool:
    return isinstance(exc, psycopg.Error) and getattr(exc, "sqlstate", None) in LICENSE_SQLSTATES


def unavailable_reason() -> str | None:
    """Why follower reads are off in this process (None: on, or not CockroachDB)."""
    return _unavailable


def mark_unavailable(exc: BaseException) -> None:
    global _unavailable
    with _lock:
        if _unavailable is not None:
            return
        _unavailable = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    log.warning("follower reads are not available on this cluster (%s); headquarters' reads, "
                "rollups and checks read current data instead", _unavailable)


def reset() -> None:
    """Forget a remembered rejection (a license was added; tests)."""
    global _unavailable
    with _lock:
        _unavailable = None


def historical_read(body: Callable[[psycopg.Cursor], T], *, url: str | None = None,
                    statement: str | None = None) -> T:
    """read(body), on CockroachDB as a follower read when the cluster allows it.

    `statement` replaces the dialect's SET TRANSACTION (tests use it to make a real server
    reject the first statement the way an unlicensed cluster does)."""
    def follower(cur):
        first = statement or dialect_of(cur.connection).follower_read_transaction()
        if first:
            cur.execute(first)
        return body(cur)

    if _unavailable is None:
        try:
            return read(follower, url=url)
        except psycopg.Error as exc:
            if not is_license_error(exc):
                raise
            mark_unavailable(exc)
    return read(body, url=url)
