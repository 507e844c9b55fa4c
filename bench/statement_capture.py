"""Which SQL statements code sends, with their parameters and client-side time, and running
the same statements again directly, for benchmarks.

    with StatementCapture() as captured:
        render_the_page()
    replay = replay_statements(url, captured.statements, rounds=20)

While a capture is open, psycopg's Cursor.execute and executemany (every client-side cursor,
hence the pool's connections and `conn.execute`) are wrapped: each call is recorded with the
query object, its parameters, the thread that sent it and how long the call took (round trip,
server time and receiving the rows). Nothing is changed in the application's code; the hook is
removed when the last capture closes. Not recorded: COPY, server-side (named) cursors, and the
BEGIN/COMMIT psycopg sends itself.

Threads named "stockroom-…" are the application's background workers (the rollup refresher,
the change tail): their statements are counted apart (`background`), not as the page's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

BACKGROUND_PREFIX = "stockroom-"


@dataclass
class Statement:
    query: Any          # str, bytes or a psycopg.sql.Composable, as the code passed it
    params: Any         # its parameters (for executemany, the sequence of parameter sets)
    seconds: float      # the execute call's duration in the application
    thread: str
    many: bool = False
    text: str = ""      # the SQL as text, for labels
    read_only: bool = False  # sent in a READ ONLY transaction (queries.db.read)

    def label(self, width: int = 70) -> str:
        words = " ".join(self.text.split())
        return words if len(words) <= width else words[:width - 1] + "…"


@dataclass
class StatementCapture:
    """Records the statements sent while it is open (see the module's docstring)."""

    statements: list[Statement] = field(default_factory=list)
    background: list[Statement] = field(default_factory=list)

    def __enter__(self) -> StatementCapture:
        _install(self)
        return self

    def __exit__(self, *exc) -> None:
        _uninstall(self)

    def record(self, statement: Statement) -> None:
        with _lock:
            if statement.thread.startswith(BACKGROUND_PREFIX):
                self.background.append(statement)
            else:
                self.statements.append(statement)

    @property
    def seconds(self) -> float:
        """The client-side time of the recorded statements, summed."""
        return sum(s.seconds for s in self.statements)


_lock = threading.Lock()
_active: list[StatementCapture] = []
_originals: dict[str, Callable] = {}


def _text(cursor, query) -> str:
    if isinstance(query, str):
        return query
    if isinstance(query, bytes):
        return query.decode(errors="replace")
    try:
        return query.as_string(cursor)
    except Exception:  # noqa: BLE001 - a label only
        return repr(query)


def _wrap(name: str, many: bool) -> Callable:
    original = _originals[name]

    def hooked(self, query, params=None, *args, **kwargs):
        if not _active:
            return original(self, query, params, *args, **kwargs)
        started = time.perf_counter()
        try:
            return original(self, query, params, *args, **kwargs)
        finally:
            statement = Statement(query, list(params) if many and params is not None else params,
                                  time.perf_counter() - started, threading.current_thread().name,
                                  many, _text(self, query), bool(self.connection.read_only))
            for capture in list(_active):
                capture.record(statement)

    hooked.__wrapped__ = original
    return hooked


def _install(capture: StatementCapture) -> None:
    with _lock:
        if not _originals:
            for name, many in (("execute", False), ("executemany", True)):
                _originals[name] = getattr(psycopg.Cursor, name)
                setattr(psycopg.Cursor, name, _wrap(name, many))
        _active.append(capture)


def _uninstall(capture: StatementCapture) -> None:
    with _lock:
        _active.remove(capture)
        if not _active:
            for name, original in _originals.items():
                setattr(psycopg.Cursor, name, original)
            _originals.clear()


# ---------------------------------------------------------------------------------- replay


@dataclass
class Replay:
    statements: list[Statement]              # those that ran (in order)
    rounds: list[float]                      # seconds per round: every statement once
    per_statement: list[list[float]]         # seconds of each statement, per round
    failed: list[tuple[Statement, str]]      # statements that failed when run directly


def replay_statements(url: str, statements: list[Statement], rounds: int) -> Replay:
    """Run `statements` again, in order, through one psycopg connection, `rounds` times.

    The connection is set up as the application's pool sets up its own (dict rows,
    SERIALIZABLE); every result is fetched. Each round is one transaction, rolled back, so a
    statement that writes changes nothing; READ ONLY, as the application reads, when every
    statement was sent read-only (a serializable read-only transaction takes no predicate
    locks, so it is cheaper). A statement that fails when run directly (found in a first,
    untimed round with a savepoint around each) is left out and reported."""
    with psycopg.connect(url, row_factory=dict_row, application_name="stockroom-bench") as conn:
        conn.execute("SET default_transaction_isolation = 'serializable'")
        conn.commit()
        conn.read_only = bool(statements) and all(s.read_only for s in statements)
        runnable, failed = [], []
        with conn.cursor() as cur:
            with conn.transaction(force_rollback=True):
                for statement in statements:
                    try:
                        with conn.transaction():  # a savepoint
                            _run(cur, statement)
                        runnable.append(statement)
                    except psycopg.Error as exc:
                        failed.append((statement, f"{type(exc).__name__}: {exc}".strip()))
            totals: list[float] = []
            per_statement: list[list[float]] = [[] for _ in runnable]
            for _ in range(rounds):
                started = time.perf_counter()
                for index, statement in enumerate(runnable):
                    before = time.perf_counter()
                    _run(cur, statement)
                    per_statement[index].append(time.perf_counter() - before)
                conn.rollback()
                totals.append(time.perf_counter() - started)
    return Replay(runnable, totals, per_statement, failed)


def _run(cur: psycopg.Cursor, statement: Statement) -> None:
    if statement.many:
        cur.executemany(statement.query, statement.params)
        return
    cur.execute(statement.query, statement.params)
    if cur.description is not None:
        cur.fetchall()
