"""Orders benchmark: placements/s next to pgbench, and search latency next to psql.

    python manage.py bench orders [--orders 1000000] [--seconds 20] [--rounds 2]
    python -m bench.orders ...            (the same, without the bench dispatcher)

Starts its own embedded PostgreSQL in a temporary directory and stops it at the end.

1. Data: customers and orders (with lines) generated set-based with INSERT ... SELECT FROM
   generate_series. This SQL lives here, not in queries/, because it is a benchmark fixture that
   only ever runs on the benchmark's own embedded PostgreSQL (it uses PostgreSQL-only functions);
   the app's code paths are what is measured. The data is consistent: stock.reserved equals
   what allocated/picking/on-hold lines hold, with ledger rows.
2. Placements: 8 client threads call queries.orders.place_order (allocation, reservation,
   ledger and event rows, idempotency key, SERIALIZABLE with retries) for --seconds; next to
   pgbench's TPC-B-like script with 8 clients (-c 8 -j 2) on the same server, also SERIALIZABLE
   with retries (--max-tries). Rounds alternate the two, so both see the same machine.
3. Searches: 200 mixed searches (order id prefix, customer name/email prefix, status, region,
   SKU, date range, late, combinations, second pages) through queries.order_search, against
   the very same SQL text (parameters inlined) run in one psql session with \\timing.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from queries import db as dbmod
from queries import order_search, orders
from queries.actor import SYSTEM, Actor
from queries.idempotency import new_key
from queries.migrate import available, migrate
from queries.order_search import OrderFilters
from queries.order_states import HOLDING_STOCK
from queries.vocabulary import AdjustmentReason, EventKind, MovementKind, OrderStatus
from stack.ports import free_port
from stack.postgres import SUPERUSER, EmbeddedPostgres, bin_dir

REGIONS = {"EU": [(52.52, 13.40), (48.86, 2.35), (40.42, -3.70), (45.46, 9.19), (59.33, 18.07),
                  (52.37, 4.90), (50.08, 14.44)],
           "NA": [(40.71, -74.01), (41.88, -87.63), (34.05, -118.24), (43.65, -79.38),
                  (29.76, -95.37), (47.61, -122.33)],
           "APAC": [(35.68, 139.69), (1.35, 103.82), (-33.87, 151.21), (22.32, 114.17),
                    (37.57, 126.98), (19.08, 72.88), (31.23, 121.47)]}
FIRST = ["Anna", "Ben", "Carla", "David", "Emma", "Felix", "Greta", "Hugo", "Ida", "Jonas", "Karin",
         "Lukas", "Maria", "Noah", "Olivia", "Paul", "Queenie", "Rafael", "Sofia", "Tom", "Ulla",
         "Viktor", "Wen", "Xavier", "Yara", "Zoë", "Åsa", "Émile", "Øystein", "Łucja", "Mei", "Hiro",
         "Priya", "Omar", "Lea", "Mateo", "Nina", "Oskar", "Pia", "Ravi"]
LAST = ["Schmidt", "Müller", "Dubois", "García", "Rossi", "Nowak", "Smith", "Johnson", "Brown",
        "Tanaka", "Kim", "Chen", "Singh", "O'Brien", "Jensen", "Silva", "Novak", "Fischer", "Weber",
        "Martin", "Lopez", "Costa", "Berg", "Lind", "Kowalski", "Ivanova", "Sato", "Wang", "Patel",
        "Nguyen"]
SKUS = 2000
# The statuses a bench order may have; the last two days hold the open ones, older ones are done.
STATUSES = [OrderStatus.PENDING, OrderStatus.ALLOCATED, OrderStatus.PICKING, OrderStatus.ON_HOLD,
            OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--orders", type=int, default=1_000_000,
                        help="orders to generate for the search benchmark (default 1,000,000)")
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="length of each placement and pgbench run (default 20)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    parser.add_argument("--clients", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--searches", type=int, default=200, help="searches to time (default 200)")
    parser.add_argument("--seed", type=int, default=42)


# ---------------------------------------------------------------- data

def _exec(conn, sql: str, params=()) -> None:
    conn.execute(sql, params)


def _secondary_indexes() -> list[tuple[str, str]]:
    """(name, statement) of every CREATE INDEX in the migrations, to drop and rebuild around a bulk load."""
    found = []
    for migration in available():
        for statement in migration.statements():
            match = re.match(r"CREATE INDEX IF NOT EXISTS (\w+) ON (orders|order_lines|customers)\b",
                             statement)
            if match:
                found.append((match.group(1), statement))
    return found


def load_data(url: str, order_count: int, seed: int, say) -> None:
    customers = max(1000, order_count // 10)
    with psycopg.connect(url, autocommit=True) as conn:
        _exec(conn, "SET synchronous_commit = off")
        _exec(conn, "SELECT setseed(%s)", (((seed % 1000) / 1000.0),))
        say("locations, products and stock ...")
        rows = [(f"{region}-{n:02d}", region, lat, lon)
                for region, places in REGIONS.items() for n, (lat, lon) in enumerate(places, 1)]
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO locations (id, name, kind, region, city, country, lat, lon) "
                "VALUES (%s, %s, 'warehouse', %s, %s, 'XX', %s, %s)",
                [(loc, f"Warehouse {loc}", region, f"City {loc}", lat, lon)
                 for loc, region, lat, lon in rows],
            )
        _exec(conn, "INSERT INTO products (sku, name, category, unit_cost, unit_price, reorder_point) "
                    "SELECT 'SKU-' || lpad(g::text, 5, '0'), 'Product ' || g, 'Cat ' || (g %% 20), "
                    "5 + g %% 50, 10 + g %% 90, 10 FROM generate_series(1, %s::int) g", (SKUS,))
        _exec(conn, "INSERT INTO stock (location_id, sku, on_hand, reorder_point) "
                    "SELECT l.id, p.sku, 1000000, 10 FROM locations l CROSS JOIN products p")
        _exec(conn, "INSERT INTO stock_movements (location_id, sku, kind, reason, note, delta_on_hand, "
                    "actor) SELECT location_id, sku, %s, %s, 'bench opening stock', on_hand, 'bench' "
                    "FROM stock", (MovementKind.ADJUSTMENT, AdjustmentReason.RECEIVED))
        for name, _ in _secondary_indexes():
            _exec(conn, f"DROP INDEX IF EXISTS {name}")
        say(f"{customers:,} customers ...")
        _exec(conn, f"""
            INSERT INTO customers (id, name, email, address, region, lat, lon, created_at)
            SELECT gen_random_uuid(), f.n || ' ' || chr(65 + (g * 11) %% 26) || '. ' || l.n,
                   lower(translate(f.n || '.' || l.n, 'ÅÉØŁåéøłöüë''', 'AEOLaeoloue')) || g || '@example.'
                       || (ARRAY['com','de','fr','jp','io'])[1 + g %% 5],
                   (g %% 400 + 1) || ' Bench Street, City ' || (g %% 97), r.region,
                   r.lat + (random() - 0.5), r.lon + (random() - 0.5), now() - interval '400 days'
            FROM generate_series(1, %s::int) g
            CROSS JOIN LATERAL (SELECT (%s::text[])[1 + (g * 7) %% {len(FIRST)}] AS n) f
            CROSS JOIN LATERAL (SELECT (%s::text[])[1 + (g * 13 / 7) %% {len(LAST)}] AS n) l
            CROSS JOIN LATERAL (SELECT region, lat, lon FROM locations
                                ORDER BY (hashint4(g) # hashtext(id)) LIMIT 1) r
        """, (customers, FIRST, LAST))
        _exec(conn, "CREATE TEMP TABLE bench_customers AS SELECT row_number() OVER (ORDER BY id) AS n, "
                    "id, region, address FROM customers")
        _exec(conn, "CREATE INDEX ON bench_customers (n)")
        _exec(conn, "CREATE TEMP TABLE bench_locations AS SELECT row_number() OVER (PARTITION BY region "
                    "ORDER BY id) AS n, count(*) OVER (PARTITION BY region) AS of, id, region FROM locations")
        say(f"{order_count:,} orders ...")
        # Status by age: the last two days hold the open orders, older ones are mostly done.
        _exec(conn, f"""
            INSERT INTO orders (id, customer_id, region, status, held_from_status, ship_address, total,
                                promised_by, created_at, updated_at, updated_by, version)
            SELECT gen_random_uuid(), c.id, c.region, s.status,
                   CASE WHEN s.status = %(on_hold)s THEN %(allocated)s END, c.address, 0,
                   x.created_at + interval '1 day' + x.r3 * interval '3 days', x.created_at,
                   x.created_at, 'bench', 1
            FROM (SELECT g, now() - (random() ^ 2) * interval '90 days' AS created_at,
                         random() AS r1, random() AS r2, random() AS r3
                  FROM generate_series(1, %(orders)s::int) g) x
            JOIN bench_customers c ON c.n = 1 + (x.g::int8 * 7919) %% %(customers)s
            CROSS JOIN LATERAL (SELECT CASE
                WHEN x.created_at > now() - interval '2 days'
                    THEN (%(open_mix)s::text[])[1 + floor(x.r1 * {len(STATUSES)})::int]
                WHEN x.r2 < 0.04 THEN %(cancelled)s
                WHEN x.r2 < 0.07 THEN %(returned)s
                ELSE %(delivered)s END AS status) s
        """, {"orders": order_count, "customers": customers, "open_mix": [str(s) for s in STATUSES],
              "on_hold": OrderStatus.ON_HOLD, "allocated": OrderStatus.ALLOCATED,
              "cancelled": OrderStatus.CANCELLED, "returned": OrderStatus.RETURNED,
              "delivered": OrderStatus.DELIVERED})
        say("order lines ...")
        _exec(conn, """
            INSERT INTO order_lines (order_id, line_no, sku, qty, unit_price, location_id, reserved_qty)
            SELECT o.id, k,
                   'SKU-' || lpad((1 + (abs(hashtext(o.id::text || k)) %% %(skus)s))::text, 5, '0'),
                   1 + abs(hashtext(o.id::text)) %% 3, 10 + k,
                   CASE WHEN o.status = ANY(%(unallocated)s::text[]) THEN NULL ELSE bl.id END,
                   CASE WHEN o.status = ANY(%(holding)s::text[])
                        THEN 1 + abs(hashtext(o.id::text)) %% 3 ELSE 0 END
            FROM orders o
            CROSS JOIN LATERAL generate_series(1, 1 + abs(hashtext(o.id::text || 'n')) %% 3) k
            JOIN bench_locations bl ON bl.region = o.region
                 AND bl.n = 1 + abs(hashtext(o.id::text || 'l')) %% bl.of
        """, {"skus": SKUS, "unallocated": [OrderStatus.PENDING, OrderStatus.CANCELLED],
              "holding": [str(s) for s in HOLDING_STOCK]})
        _exec(conn, "UPDATE orders o SET total = t.total, fulfilment_location_id = t.loc FROM ("
                    "SELECT order_id, sum(qty * unit_price) AS total, min(location_id) AS loc "
                    "FROM order_lines GROUP BY order_id) t WHERE t.order_id = o.id")
        say("reservations of open orders (stock + ledger) ...")
        _exec(conn, "CREATE TEMP TABLE bench_held AS SELECT location_id, sku, sum(reserved_qty) AS held "
                    "FROM order_lines WHERE reserved_qty > 0 GROUP BY 1, 2")
        _exec(conn, "UPDATE stock s SET reserved = h.held FROM bench_held h "
                    "WHERE h.location_id = s.location_id AND h.sku = s.sku")
        _exec(conn, "INSERT INTO stock_movements (location_id, sku, kind, note, delta_reserved, actor) "
                    "SELECT location_id, sku, %s, 'bench open orders', held, 'bench' FROM bench_held",
              (MovementKind.RESERVE,))
        _exec(conn, "INSERT INTO order_events (order_id, actor, kind, to_status, created_at) "
                    "SELECT id, 'bench', %s, status, created_at FROM orders", (EventKind.PLACED,))
        say("indexes ...")
        _exec(conn, "SET maintenance_work_mem = '256MB'")
        for _, statement in _secondary_indexes():
            _exec(conn, statement)
        say("analyze ...")
        _exec(conn, "VACUUM ANALYZE")


# ---------------------------------------------------------------- placements vs pgbench

def placements(url: str, seconds: float, clients: int, seed: int) -> dict:
    customers = [row["id"] for row in dbmod.fetch_all(
        "SELECT id FROM customers ORDER BY id LIMIT 20000", url=url)]
    skus = [f"SKU-{n:05d}" for n in range(1, SKUS + 1)]
    counts = {"placed": 0, "allocated": 0, "errors": 0}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    dbmod.retry_stats.reset()

    def client(n: int) -> None:
        rng = random.Random(seed * 100 + n)
        while time.monotonic() < stop_at:
            lines = [(sku, rng.randint(1, 3)) for sku in rng.sample(skus, rng.randint(1, 3))]
            try:
                result = orders.place_order(SYSTEM, rng.choice(customers), lines, idempotency_key=new_key())
            except Exception:  # counted; a benchmark keeps going
                with lock:
                    counts["errors"] += 1
                continue
            with lock:
                counts["placed"] += 1
                counts["allocated"] += result["status"] == "allocated"

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {**counts, "per_second": counts["placed"] / elapsed, "retries": dbmod.retry_stats.retries}


def _pg_env(port: int) -> dict:
    import os

    return {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(port), "PGUSER": SUPERUSER,
            "PGOPTIONS": "-c default_transaction_isolation=serializable"}


def pgbench_init(port: int, scale: int) -> None:
    env = _pg_env(port)
    subprocess.run([str(bin_dir() / "createdb"), "pgbench"], env=env, check=True, capture_output=True)
    subprocess.run([str(bin_dir() / "pgbench"), "-i", "-q", "-s", str(scale), "pgbench"], env=env,
                   check=True, capture_output=True)


def pgbench_run(port: int, seconds: float, clients: int) -> dict:
    result = subprocess.run(
        [str(bin_dir() / "pgbench"), "-n", "-c", str(clients), "-j", "2", "-T", str(int(seconds)),
         "--max-tries=20", "pgbench"],
        env=_pg_env(port), capture_output=True, text=True, check=True,
    )
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    retried = re.search(r"number of transactions retried: (\d+)", result.stdout)
    return {"per_second": float(tps.group(1)) if tps else float("nan"),
            "failed": int(failed.group(1)) if failed else 0,
            "retried": int(retried.group(1)) if retried else 0}


# ---------------------------------------------------------------- searches vs psql

SUPPORT = Actor("bench.support", "support", ("EU",), "Bench Support")




def _search_of_kind(kind: int, row: dict, rng: random.Random, skus: list[str]) -> tuple[str, OrderFilters]:
    """One of ten kinds of search support staff make, built from a real order's data."""
    day = row["created_at"].date()
    if kind == 0:
        return "id prefix", OrderFilters(id_prefix=str(row["id"])[:rng.randint(4, 8)])
    if kind == 1:
        return "name prefix", OrderFilters(customer=row["name"][:rng.randint(3, 12)])
    if kind == 2:
        return "email prefix", OrderFilters(customer=row["email"][:rng.randint(4, 14)].upper())
    if kind == 3:
        return "status", OrderFilters(status=rng.choice(STATUSES))
    if kind == 4:
        return "status+region", OrderFilters(status=rng.choice(STATUSES), region="EU")
    if kind == 5:
        return "sku", OrderFilters(sku=rng.choice(skus))
    if kind == 6:
        return "day+status", OrderFilters(created_from=day, created_to=day, status=row["status"])
    if kind == 7:
        return "late", OrderFilters(late_only=True)
    if kind == 8:
        return "sku+status", OrderFilters(sku=rng.choice(skus), status="delivered")
    return "newest", OrderFilters()


def search_mix(url: str, count: int, seed: int) -> list[tuple[str, Actor, OrderFilters, object]]:
    rng = random.Random(seed)
    sample = dbmod.fetch_all(
        "SELECT o.id, o.created_at, o.status, o.region, c.name, c.email FROM orders o "
        "JOIN customers c ON c.id = o.customer_id "
        "WHERE o.id >= gen_random_uuid() ORDER BY o.id LIMIT 400", url=url)
    skus = [f"SKU-{n:05d}" for n in range(1, SKUS + 1)]
    mix = []
    for n in range(count):
        row = rng.choice(sample)
        actor = SUPPORT if n % 4 == 3 else SYSTEM
        label, filters = _search_of_kind(n % 10, row, rng, skus)
        after = None
        if n % 7 == 6:  # a second page
            after = order_search.search_orders(actor, filters, limit=50).next_after
            label += " p2"
        mix.append((label, actor, filters, after))
    return mix


def time_app_searches(mix) -> list[float]:
    times = []
    for _, actor, filters, after in mix:
        started = time.perf_counter()
        order_search.search_orders(actor, filters, after=after)
        times.append((time.perf_counter() - started) * 1000)
    return times


def time_psql_searches(url: str, port: int, mix, workdir: Path) -> list[float]:
    script = workdir / "searches.sql"
    with psycopg.connect(url) as conn:
        cur = psycopg.ClientCursor(conn)
        statements = []
        for _, actor, filters, after in mix:
            sql, params = order_search.build_search(actor, filters, after)
            statements.append(cur.mogrify(sql, params).replace("\n", " ") + ";")
    script.write_text("\\timing on\n\\o /dev/null\n" + "\n".join(statements) + "\n")
    result = subprocess.run(
        [str(bin_dir() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "stockroom", "-f", str(script)],
        env=_pg_env(port), capture_output=True, text=True, check=True,
    )
    times = [float(t) for t in re.findall(r"Time: ([\d.]+) ms", result.stdout)]
    if len(times) != len(mix):
        raise RuntimeError(f"psql reported {len(times)} timings for {len(mix)} searches:\n{result.stderr}")
    return times


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# ---------------------------------------------------------------- the run

def run(args: argparse.Namespace) -> int:
    order_count = getattr(args, "orders", 1_000_000)
    seconds = getattr(args, "seconds", 20.0)
    rounds = getattr(args, "rounds", 2)
    clients = getattr(args, "clients", 8)
    searches = getattr(args, "searches", 200)
    seed = getattr(args, "seed", 42)
    started = time.monotonic()

    def say(text: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {text}", flush=True)

    with tempfile.TemporaryDirectory(prefix="stockroom-bench-orders-") as tmp:
        server = EmbeddedPostgres(Path(tmp), free_port())
        say(f"starting PostgreSQL on port {server.port} in {tmp}")
        server.start()
        try:
            migrate(server.url)
            load_data(server.url, order_count, seed, say)
            say("pgbench -i -s 10 ...")
            pgbench_init(server.port, scale=10)
            import os

            os.environ["DATABASE_URL"] = server.url
            ours, theirs = [], []
            for n in range(rounds):
                say(f"round {n + 1}: place_order with {clients} threads for {seconds:.0f}s ...")
                ours.append(placements(server.url, seconds, clients, seed + n))
                say(f"  {ours[-1]['per_second']:.1f} placements/s ({ours[-1]['retries']} retries, "
                    f"{ours[-1]['errors']} errors, {ours[-1]['allocated']} allocated)")
                say(f"round {n + 1}: pgbench TPC-B-like -c {clients} -j 2 for {seconds:.0f}s ...")
                theirs.append(pgbench_run(server.port, seconds, clients))
                say(f"  {theirs[-1]['per_second']:.1f} tps ({theirs[-1]['retried']} retried, "
                    f"{theirs[-1]['failed']} failed)")
            say(f"{searches} mixed searches ...")
            mix = search_mix(server.url, searches, seed)
            time_app_searches(mix)  # warm the cache for both sides
            psql_ms = time_psql_searches(server.url, server.port, mix, Path(tmp))
            app_ms = time_app_searches(mix)
            psql_ms_2 = time_psql_searches(server.url, server.port, mix, Path(tmp))
            psql_ms = [min(a, b) for a, b in zip(psql_ms, psql_ms_2, strict=True)]
            orders_now = dbmod.fetch_one("SELECT count(*) AS n FROM orders", url=server.url)["n"]
        finally:
            dbmod.close_pools()
            server.stop()

    placements_per_s = statistics.median(r["per_second"] for r in ours)
    tps = statistics.median(r["per_second"] for r in theirs)
    app50, app95 = percentile(app_ms, 50), percentile(app_ms, 95)
    sql50, sql95 = percentile(psql_ms, 50), percentile(psql_ms, 95)
    print()
    print(f"orders benchmark · {orders_now:,} orders in the database · {clients} clients · "
          f"{rounds} × {seconds:.0f}s rounds")
    print(f"  placements/s (place_order, median of rounds) {placements_per_s:10.1f}")
    print(f"  pgbench TPC-B-like tps (median of rounds)    {tps:10.1f}")
    print(f"  ratio placements / pgbench tps               {placements_per_s / tps:10.3f}")
    print(f"  search p50  app {app50:8.2f} ms   psql {sql50:8.2f} ms   ratio {app50 / sql50:6.2f}")
    print(f"  search p95  app {app95:8.2f} ms   psql {sql95:8.2f} ms   ratio {app95 / sql95:6.2f}")
    print(f"  ({len(app_ms)} searches; psql = the same SQL text with parameters inlined, one psql "
          "session, \\timing; app = queries.order_search.search_orders incl. pool, transaction and masking)")
    print("  by kind (median ms, app / psql):")
    kinds: dict[str, list[tuple[float, float]]] = {}
    for (label, *_), app, sql in zip(mix, app_ms, psql_ms, strict=True):
        kinds.setdefault(label.replace(" p2", ""), []).append((app, sql))
    for label, pairs in sorted(kinds.items()):
        print(f"    {label:14s} {statistics.median(a for a, _ in pairs):8.2f} / "
              f"{statistics.median(b for _, b in pairs):8.2f}   (n={len(pairs)}, "
              f"max {max(a for a, _ in pairs):.1f} / {max(b for _, b in pairs):.1f})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.orders", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
