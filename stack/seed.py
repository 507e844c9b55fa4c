"""`manage.py seed`: deterministic demo data, loaded with COPY (PostgreSQL) or batched INSERTs
(CockroachDB).

The same --seed (and the same moment `now`) gives the same rows. stack/seed_rows.py
generates them in streaming batches as COPY text; here a background thread loads each batch
on a connection of its own, so Python builds the next batch while the server loads the
previous one. On PostgreSQL the whole load is one COPY transaction (a failed seed leaves
nothing behind) and --reset truncates. On CockroachDB (queries.dialect decides: COPY needs the
admin role, TRUNCATE is a schema change that breaks a running changefeed) the rows go in
multi-row INSERTs and --reset deletes in batches, each batch its own transaction retried on
40001 (queries/bulk_load.py); a seed that fails half-way leaves the batches it committed, and
`seed --reset` starts again. `seed(..., force_batched=True)` takes that path on PostgreSQL too,
so the tests prove it against a real database.
"""

from __future__ import annotations

import argparse
import math
import os
import queue
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg

from queries import bulk_load, rollups
from queries.dialect import dialect_of
from queries.users import upsert_user_in_tx
from stack.seed_rows import (
    SCALES,
    Scale,
    World,
    customers_batches,
    locations_text,
    orders_batches,
    products_text,
    spooled_chunks,
    stock_batches,
    transfers_text,
)

__all__ = ["SCALES", "DEMO_ACCOUNTS", "DatabaseNotEmpty", "ProgressBar", "seed", "seed_command",
           "add_arguments_seed_command"]

ProgressFn = Callable[[str, int, int], None]

PHASES = ("locations", "products", "customers", "orders", "transfers", "stock", "stock_movements")
# Tables each phase writes (the orders phase writes three tables in step).
PHASE_TABLES = {
    "locations": ("locations",), "products": ("products",), "customers": ("customers",),
    "orders": ("orders", "order_lines", "order_events"), "transfers": ("transfers",),
    "stock": ("stock",), "stock_movements": ("stock_movements",),
}

# username, password, role, regions, display name. The README lists these.
DEMO_ACCOUNTS = (
    ("admin", "admin-demo", "admin", [], "Ada Admin"),
    ("hq", "hq-demo", "hq_viewer", [], "Hannah HQ"),
    ("manager", "manager-demo", "inventory_manager", ["EU"], "Eva Manager"),
    ("support", "support-demo", "support", ["EU"], "Sam Support"),
)


class DatabaseNotEmpty(RuntimeError):
    """The database already holds demo or real data and --reset was not given."""


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------

_COMMIT = object()
_STOP = object()


class _CopyLoader:
    """Runs COPY statements on its own connection in a background thread, so the generator
    builds the next batch while the server loads the previous one. Errors surface in the
    calling thread at its next put() or drain()."""

    def __init__(self, conn: psycopg.Connection | None, commit_batches: bool,
                 depth: int = 3) -> None:
        self._conn = conn
        self._commit_batches = commit_batches
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="seed-copy", daemon=True)
        self._thread.start()

    def copy(self, table: str, rows: list[str] | bytes) -> None:
        data = rows if isinstance(rows, bytes) else "".join(rows).encode()
        self._put((table, data))

    def commit(self) -> None:
        """End of a batch: committed now when loading in batches, else with everything."""
        if self._commit_batches:
            self._put(_COMMIT)

    def drain(self) -> None:
        """Wait until everything queued is loaded (and committed, when loading in batches)."""
        self._queue.join()
        self._raise()

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _put(self, item) -> None:
        while True:
            self._raise()
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _work(self) -> None:
        with self._conn.cursor() as cur:
            self._serve(lambda table, data: bulk_load.copy_text_rows(cur, table, [data]),
                        self._conn.commit)

    def _serve(self, write: Callable[[str, bytes], None], commit: Callable[[], None]) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                if self._error is not None:
                    continue
                if item is _COMMIT:
                    commit()
                else:
                    table, data = item
                    write(table, data)
            except BaseException as exc:  # handed to the generating thread
                self._error = exc
            finally:
                self._queue.task_done()


class _InsertLoader(_CopyLoader):
    """The same pipeline writing with batched multi-row INSERTs, each batch its own transaction
    through run_transaction (queries.bulk_load.insert_text_rows_batched): CockroachDB's way."""

    def __init__(self, url: str, depth: int = 3) -> None:
        self._url = url
        super().__init__(None, commit_batches=False, depth=depth)

    def _work(self) -> None:
        def write(table: str, data: bytes) -> None:
            lines = data.decode().splitlines()
            bulk_load.insert_text_rows_batched(table, lines, url=self._url)

        self._serve(write, lambda: None)


class _Phases:
    """Progress reporting and wall-clock time per phase."""

    def __init__(self, progress: ProgressFn | None, seconds: dict | None) -> None:
        self._progress = progress
        self.seconds = seconds if seconds is not None else {}
        self._started: dict[str, float] = {}

    def start(self, phase: str, total: int) -> Callable[[int], None]:
        self._started[phase] = time.perf_counter()
        self.report(phase, 0, total)
        # Generated rows count up to total - 1: the phase is complete once loaded.
        return lambda done: self.report(phase, min(done, max(total - 1, 0)), total)

    def report(self, phase: str, done: int, total: int) -> None:
        if self._progress:
            self._progress(phase, done, total)

    def finish(self, phase: str, total: int) -> None:
        self.seconds[phase] = time.perf_counter() - self._started[phase]
        self.report(phase, total, total)


def _generate(conn: psycopg.Connection, world: World, phases: _Phases, commit_batches: bool,
              batched_url: str | None = None) -> None:
    loader = _InsertLoader(batched_url) if batched_url else _CopyLoader(conn, commit_batches)
    try:
        with tempfile.TemporaryFile(prefix="stockroom-seed-ledger-") as spool:
            _load_all(loader, world, phases, spool)
    finally:
        loader.close()


def _load_all(loader: _CopyLoader, world: World, phases: _Phases, spool) -> None:
    scale = world.scale

    phases.start("locations", scale.locations)
    loader.copy("locations", locations_text(world))
    loader.commit()
    loader.drain()
    phases.finish("locations", scale.locations)

    phases.start("products", scale.skus)
    loader.copy("products", products_text(world))
    loader.commit()
    loader.drain()
    phases.finish("products", scale.skus)
    world.init_slots()

    tick = phases.start("customers", scale.customers)
    done = 0
    for rows in customers_batches(world, 50_000):
        loader.copy("customers", rows)
        loader.commit()
        done += len(rows)
        tick(done)
    loader.drain()
    phases.finish("customers", scale.customers)

    tick = phases.start("orders", scale.orders)
    for orders, lines, events in orders_batches(world, spool, tick):
        loader.copy("orders", orders)
        loader.copy("order_lines", lines)
        loader.copy("order_events", events)
        loader.commit()
    loader.drain()
    phases.finish("orders", scale.orders)

    transfers_total = scale.transfers_in_transit + scale.transfers_received
    phases.start("transfers", transfers_total)
    transfer_rows = transfers_text(world, spool)
    loader.copy("transfers", transfer_rows)
    loader.commit()
    loader.drain()
    phases.finish("transfers", transfers_total)

    stock_total = len(world.locations) * len(world.skus)
    tick = phases.start("stock", stock_total)
    for rows in stock_batches(world, spool, 100_000, tick):
        loader.copy("stock", rows)
        loader.commit()
    loader.drain()
    phases.finish("stock", stock_total)

    spool.flush()
    ledger_rows = _count_lines(spool)
    tick = phases.start("stock_movements", ledger_rows)
    done = 0
    for chunk in spooled_chunks(spool):
        loader.copy("stock_movements", chunk)
        loader.commit()
        done += chunk.count(b"\n")
        tick(done)
    loader.drain()
    phases.finish("stock_movements", ledger_rows)


def _count_lines(spool) -> int:
    spool.seek(0)
    count = 0
    while block := spool.read(8 << 20):
        count += block.count(b"\n")
    return count


def create_demo_accounts(conn: psycopg.Connection) -> list[str]:
    with conn.cursor() as cur:
        for username, password, role, regions, display_name in DEMO_ACCOUNTS:
            upsert_user_in_tx(cur, username, display_name, password, role, regions)
    conn.commit()
    return [a[0] for a in DEMO_ACCOUNTS]


def is_cockroach(conn: psycopg.Connection) -> bool:
    return dialect_of(conn).is_cockroach


def default_now() -> datetime:
    """The seed's 'now': the current minute, so data ends where the clock is."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def seed(
    url: str,
    scale: str | Scale = "small",
    seed: int = 42,
    progress: ProgressFn | None = None,
    reset: bool = False,
    *,
    now: datetime | None = None,
    demo_accounts: bool | None = None,
    phase_seconds: dict[str, float] | None = None,
    force_batched: bool = False,
) -> dict[str, int]:
    """Load demo data into the database at url; returns row counts per table.

    Refuses (DatabaseNotEmpty) when domain data exists, unless reset=True, which first
    empties every domain table (users and schema_migrations are kept): TRUNCATE on
    PostgreSQL, batched DELETEs on CockroachDB. Rows go in with COPY on PostgreSQL and batched
    INSERTs on CockroachDB; force_batched=True takes CockroachDB's way on PostgreSQL too. The same seed and
    `now` give identical rows. demo_accounts: None means "unless the server is CockroachDB".
    progress(phase, done, total) is called as rows are generated and once more, with
    done == total, when the server has loaded the phase's rows. phase_seconds, if given,
    receives each phase's wall-clock time.
    """
    scale = SCALES[scale] if isinstance(scale, str) else scale
    now_dt = now or default_now()
    world = World(scale=scale, now=int(now_dt.timestamp()), rng=random.Random(seed))
    with psycopg.connect(url, autocommit=False) as conn:
        dialect = dialect_of(conn)
        cockroach = dialect.is_cockroach
        batched = force_batched or dialect.batched_bulk_writes
        conn.commit()
        with conn.cursor() as cur:
            if bulk_load.domain_data_exists(cur):
                if not reset:
                    raise DatabaseNotEmpty(
                        "The database already holds data; use --reset to replace it "
                        "(or --if-empty to leave it as it is).")
                if batched:
                    conn.commit()
                    bulk_load.delete_rows_batched(url=url)
                else:
                    bulk_load.truncate_domain_tables(cur)
        # PostgreSQL loads everything in one transaction, so a seed that fails half-way leaves
        # nothing behind; CockroachDB prefers many small transactions to one huge one.
        if cockroach or batched:
            conn.commit()
        _generate(conn, world, _Phases(progress, phase_seconds), commit_batches=cockroach,
                  batched_url=url if batched else None)
        conn.commit()
        with conn.cursor() as cur:
            bulk_load.analyze_tables(cur)
        conn.commit()
        if demo_accounts is None:
            demo_accounts = not cockroach
        if demo_accounts:
            create_demo_accounts(conn)
        with conn.cursor() as cur:
            counts = bulk_load.count_rows_by_table(cur)
        conn.commit()
    # Headquarters' figures describe the new data at once (and not the data a reset removed).
    rollups.refresh(url=url)
    return counts


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


class ProgressBar:
    """`[#####     ]  52% orders 10400/20000` on stderr, redrawn in place on a terminal;
    elsewhere (logs, CI) one line per phase when it completes."""

    def __init__(self, stream=None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self._last_draw = 0.0
        self._finished: set[str] = set()

    def __call__(self, phase: str, done: int, total: int) -> None:
        finished = done >= total
        if phase in self._finished:
            return
        now = time.monotonic()
        if not finished and (not self.tty or now - self._last_draw < 0.1):
            return
        self._last_draw = now
        if finished:
            self._finished.add(phase)
        line = self.render(phase, done, total)
        if self.tty:
            self.stream.write("\r" + line + ("\n" if finished else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def render(self, phase: str, done: int, total: int) -> str:
        fraction = 1.0 if total <= 0 else min(done / total, 1.0)
        filled = int(self.width * fraction)
        return (f"[{'#' * filled}{' ' * (self.width - filled)}] {math.floor(fraction * 100):3d}% "
                f"{phase} {done}/{total}")


def add_arguments_seed_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", choices=sorted(SCALES), default="small",
                        help="tiny (tests), small (default, `make run`), large (benchmarks)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--reset", action="store_true",
                      help="empty every domain table first (users are kept)")
    mode.add_argument("--if-empty", action="store_true",
                      help="do nothing when the database already has products")
    parser.add_argument("--seed", type=int, default=42, help="random seed (same seed, same data)")
    parser.add_argument("--no-demo-accounts", action="store_true",
                        help="do not create the demo sign-in accounts (they are never created "
                             "on CockroachDB, nor when STOCKROOM_DEMO_ACCOUNTS=0)")


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from stack import config, services

    return services.urls(config.load())["DATABASE_URL"]


def _demo_accounts_off(args: argparse.Namespace) -> bool:
    return args.no_demo_accounts or os.environ.get("STOCKROOM_DEMO_ACCOUNTS") == "0"


def seed_command(args: argparse.Namespace) -> int:
    url = _database_url()
    scale = SCALES[args.scale]
    if args.if_empty:
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            products = bulk_load.count_products(cur)
        if products:
            print(f"Demo data already present ({products} products); nothing to do.")
            return 0
    print(f"Seeding {scale.name} demo data (seed {args.seed}) ...", file=sys.stderr)
    started = time.perf_counter()
    try:
        counts = seed(url, scale, seed=args.seed, progress=ProgressBar(), reset=args.reset,
                      demo_accounts=False if _demo_accounts_off(args) else None)
    except DatabaseNotEmpty as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except psycopg.OperationalError as exc:
        print(f"error: cannot reach the database: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    total = sum(counts.values())
    for table, n in counts.items():
        print(f"{table:<28}{n:>12,}")
    print(f"{'total':<28}{total:>12,}   in {elapsed:.1f} s ({total / elapsed:,.0f} rows/s)")
    with psycopg.connect(url) as conn:
        if not _demo_accounts_off(args) and not is_cockroach(conn):
            print("Demo accounts: " + ", ".join(f"{u}/{p}" for u, p, *_ in DEMO_ACCOUNTS))
    return 0
