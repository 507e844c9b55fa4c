"""The demo-data seed: counts, determinism, every DESIGN.md §2 invariant, checked with SQL."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from queries.invariants import check_invariants
from queries.users import authenticate
from stack import seasonality
from stack.seed import (
    DEMO_ACCOUNTS,
    SCALES,
    DatabaseNotEmpty,
    ProgressBar,
    seed,
    seed_command,
)
from tests.worlds import create_database

ROOT = Path(__file__).resolve().parent.parent
# A fixed "now" so that a seed is reproducible; just after Black Friday 2025.
NOW = dt.datetime(2025, 12, 3, 18, 30, tzinfo=dt.UTC)
SEED_TABLES = ("locations", "products", "customers", "orders", "order_lines", "order_events",
               "transfers", "stock", "stock_movements")


def scalar(url: str, query: str, params: tuple = ()):
    with psycopg.connect(url) as conn:
        return conn.execute(query, params or None).fetchone()[0]


def rows(url: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params or None).fetchall()


def table_counts(url: str) -> dict[str, int]:
    return {t: scalar(url, f"SELECT count(*) FROM {t}") for t in SEED_TABLES}


def content_digest(url: str) -> dict[str, str]:
    """md5 of every seeded table's rows in a stable order."""
    order_by = {
        "locations": "id", "products": "sku", "customers": "id", "orders": "id",
        "order_lines": "order_id, line_no", "order_events": "id", "transfers": "id",
        "stock": "location_id, sku", "stock_movements": "id",
    }
    return {
        table: scalar(url, f"SELECT md5(string_agg(t::text, '|' ORDER BY {key})) FROM {table} t")
        for table, key in order_by.items()
    }


@pytest.fixture(scope="module")
def tiny(pg_server) -> str:
    url = create_database(pg_server)
    seed(url, "tiny", seed=7, now=NOW)
    return url


@pytest.fixture(scope="module")
def small(pg_server) -> str:
    url = create_database(pg_server)
    seed(url, "small", seed=42, now=NOW)
    return url


@pytest.fixture(params=["tiny", "small"])
def seeded(request) -> str:
    return request.getfixturevalue(request.param)


# --- sizes -------------------------------------------------------------------------------------


def test_tiny_scale_has_the_promised_sizes(tiny):
    counts = table_counts(tiny)
    assert counts["locations"] == 9
    assert counts["products"] == 50
    assert counts["orders"] == 500
    assert counts["stock"] == 9 * 50
    assert 500 <= counts["order_lines"] <= 5 * 500
    assert counts["order_events"] > counts["orders"]
    assert counts["stock_movements"] >= counts["stock"]
    assert counts["transfers"] == SCALES["tiny"].transfers_in_transit + SCALES["tiny"].transfers_received
    assert sorted(r[0] for r in rows(tiny, "SELECT DISTINCT region FROM locations")) == [
        "APAC", "EU", "NA"]


def test_small_scale_has_the_promised_sizes(small):
    counts = table_counts(small)
    assert counts["locations"] == 30
    assert counts["products"] == 1000
    assert counts["orders"] == 20_000
    assert counts["stock"] == 30 * 1000
    assert 1000 <= counts["customers"] <= 20_000
    kinds = {r[0] for r in rows(small, "SELECT DISTINCT kind FROM locations")}
    assert kinds == {"warehouse", "store", "factory", "dc"}
    assert scalar(small, "SELECT count(DISTINCT category) FROM products") >= 8
    assert scalar(small, "SELECT count(DISTINCT city) FROM locations") >= 25


def test_locations_sit_in_real_cities_of_their_region(small):
    berlin = rows(small, "SELECT region, country, lat, lon FROM locations WHERE city = 'Berlin'")
    assert berlin and all(r[0] == "EU" and r[1] == "DE" for r in berlin)
    assert all(abs(r[2] - 52.52) < 0.2 and abs(r[3] - 13.405) < 0.2 for r in berlin)
    # Every region's sites lie in its part of the world.
    assert scalar(small, "SELECT count(*) FROM locations WHERE region = 'NA' AND lon > -50") == 0
    assert scalar(small, "SELECT count(*) FROM locations WHERE region = 'EU' "
                         "AND NOT (lon BETWEEN -12 AND 30 AND lat > 35)") == 0
    assert scalar(small, "SELECT count(*) FROM locations WHERE region = 'APAC' AND lon < 60") == 0


def test_products_have_sensible_prices_and_names(small):
    assert scalar(small, "SELECT count(*) FROM products WHERE unit_cost >= unit_price") == 0
    assert scalar(small, "SELECT min(unit_price) FROM products") > 0
    assert scalar(small, "SELECT count(DISTINCT name) FROM products") == 1000
    # Lawn mowers cost more than tape.
    mower = scalar(small, "SELECT avg(unit_price) FROM products WHERE name LIKE '%Lawn Mower%'")
    tape = scalar(small, "SELECT avg(unit_price) FROM products WHERE name LIKE '%Masking Tape%'")
    assert mower > 10 * tape


def test_customers_are_homed_in_regions_with_contact_details(small):
    assert scalar(small, "SELECT count(*) FROM customers WHERE email NOT LIKE '%_@example.___'") == 0
    assert scalar(small, "SELECT count(DISTINCT email) FROM customers") == scalar(
        small, "SELECT count(*) FROM customers")
    assert scalar(small, "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id "
                         "WHERE c.region <> o.region OR c.address <> o.ship_address") == 0


# --- determinism -----------------------------------------------------------------------------


def test_same_seed_gives_identical_data_and_another_seed_does_not(pg_server, tiny):
    again = create_database(pg_server)
    other = create_database(pg_server)
    seed(again, "tiny", seed=7, now=NOW)
    seed(other, "tiny", seed=8, now=NOW)
    assert content_digest(again) == content_digest(tiny)
    different = content_digest(other)
    assert different["products"] != content_digest(tiny)["products"]
    assert different["stock"] != content_digest(tiny)["stock"]


# --- DESIGN.md §2 invariants -------------------------------------------------------------------


def test_stock_rows_respect_their_bounds(seeded):
    assert scalar(seeded, "SELECT count(*) FROM stock WHERE on_hand < 0 OR reserved < 0 "
                          "OR reserved > on_hand OR incoming < 0") == 0
    assert scalar(seeded, "SELECT count(*) FROM stock WHERE on_hand < reorder_point") > 0
    assert scalar(seeded, "SELECT count(*) FROM stock WHERE reserved > 0") > 0


def test_ledger_sums_equal_every_stock_row(seeded):
    mismatches = rows(seeded, """
        SELECT s.location_id, s.sku, s.on_hand, m.on_hand, s.reserved, m.reserved,
               s.incoming, m.incoming
        FROM stock s
        FULL JOIN (SELECT location_id, sku, sum(delta_on_hand) AS on_hand,
                          sum(delta_reserved) AS reserved, sum(delta_incoming) AS incoming
                   FROM stock_movements GROUP BY location_id, sku) m
          ON m.location_id = s.location_id AND m.sku = s.sku
        WHERE s.on_hand IS DISTINCT FROM coalesce(m.on_hand, 0)
           OR s.reserved IS DISTINCT FROM coalesce(m.reserved, 0)
           OR s.incoming IS DISTINCT FROM coalesce(m.incoming, 0)
        LIMIT 5""")
    assert mismatches == []
    # The ledger's running balance never dipped below zero at any stock row.
    assert scalar(seeded, """
        SELECT count(*) FROM (
            SELECT sum(delta_on_hand) OVER (PARTITION BY location_id, sku
                                            ORDER BY created_at, delta_on_hand DESC
                                            ROWS UNBOUNDED PRECEDING) AS balance
            FROM stock_movements) b
        WHERE balance < 0""") == 0


def test_stock_version_counts_its_ledger_rows(seeded):
    assert scalar(seeded, """
        SELECT count(*) FROM stock s
        JOIN (SELECT location_id, sku, count(*) AS n FROM stock_movements
              GROUP BY location_id, sku) m USING (location_id, sku)
        WHERE s.version <> 1 + m.n""") == 0


def test_reservations_belong_to_live_order_lines(seeded):
    # stock.reserved is exactly what open orders' lines hold at that location.
    assert scalar(seeded, """
        SELECT count(*) FROM stock s
        LEFT JOIN (SELECT l.location_id, l.sku, sum(l.reserved_qty) AS held
                   FROM order_lines l JOIN orders o ON o.id = l.order_id
                   WHERE o.status IN ('allocated', 'picking', 'on_hold')
                   GROUP BY l.location_id, l.sku) h USING (location_id, sku)
        WHERE s.reserved <> coalesce(h.held, 0)""") == 0
    # Open orders hold every line in full at a location; nothing else holds anything.
    assert scalar(seeded, """
        SELECT count(*) FROM order_lines l JOIN orders o ON o.id = l.order_id
        WHERE o.status IN ('allocated', 'picking', 'on_hold')
          AND (l.reserved_qty <> l.qty OR l.location_id IS NULL
               OR l.location_id <> o.fulfilment_location_id)""") == 0
    assert scalar(seeded, """
        SELECT count(*) FROM order_lines l JOIN orders o ON o.id = l.order_id
        WHERE o.status NOT IN ('allocated', 'picking', 'on_hold') AND l.reserved_qty <> 0""") == 0
    assert scalar(seeded, """
        SELECT count(*) FROM order_lines l JOIN orders o ON o.id = l.order_id
        WHERE o.status = 'pending' AND (l.location_id IS NOT NULL
                                        OR o.fulfilment_location_id IS NOT NULL)""") == 0
    assert scalar(seeded, "SELECT count(*) FROM order_lines WHERE reserved_qty > 0") > 0


def test_order_ledger_rows_match_what_each_order_went_through(seeded):
    # Per order line: reserve + ship / release (+ return) net to what the status implies.
    bad = rows(seeded, """
        WITH moves AS (
            SELECT ref_id, location_id, sku, sum(delta_on_hand) AS on_hand,
                   sum(delta_reserved) AS reserved
            FROM stock_movements WHERE ref_type = 'order' GROUP BY ref_id, location_id, sku),
        lines AS (
            SELECT o.id::text AS ref_id, o.status, l.location_id, l.sku, sum(l.qty) AS qty
            FROM orders o JOIN order_lines l ON l.order_id = o.id
            WHERE l.location_id IS NOT NULL
            GROUP BY o.id, o.status, l.location_id, l.sku)
        SELECT lines.*, moves.on_hand, moves.reserved FROM lines
        LEFT JOIN moves USING (ref_id, location_id, sku)
        WHERE coalesce(moves.reserved, 0) <> CASE WHEN lines.status IN
                ('allocated', 'picking', 'on_hold') THEN lines.qty ELSE 0 END
           OR coalesce(moves.on_hand, 0) <> CASE WHEN lines.status IN ('shipped', 'delivered')
                THEN -lines.qty ELSE 0 END
        LIMIT 5""")
    assert bad == []
    assert scalar(seeded, "SELECT count(*) FROM stock_movements WHERE kind = 'ship'") > 0


def test_returned_orders_count_every_unit_back_and_the_checker_agrees(seeded):
    assert scalar(seeded, """
        SELECT count(*) FROM order_lines l JOIN orders o ON o.id = l.order_id
        WHERE l.returned_qty <> CASE WHEN o.status = 'returned' THEN l.qty ELSE 0 END""") == 0
    assert scalar(seeded, "SELECT count(*) FROM orders WHERE status = 'returned'") > 0
    report = check_invariants(url=seeded)
    assert report.ok, [v.sentence() for v in report.violations[:5]]


def test_order_headers_are_consistent(seeded):
    assert scalar(seeded, """
        SELECT count(*) FROM orders o
        JOIN (SELECT order_id, sum(qty * unit_price) AS total FROM order_lines GROUP BY order_id) l
          ON l.order_id = o.id
        WHERE o.total <> l.total""") == 0
    assert scalar(seeded, "SELECT count(*) FROM orders o WHERE NOT EXISTS "
                          "(SELECT 1 FROM order_lines l WHERE l.order_id = o.id)") == 0
    assert scalar(seeded, "SELECT count(*) FROM orders WHERE (status = 'on_hold') "
                          "<> (held_from_status IS NOT NULL)") == 0
    assert scalar(seeded, "SELECT count(*) FROM orders WHERE status = 'on_hold' "
                          "AND held_from_status NOT IN ('allocated', 'picking')") == 0
    assert scalar(seeded, "SELECT count(*) FROM orders WHERE promised_by < created_at + interval "
                          "'2 days' OR promised_by > created_at + interval '5 days'") == 0
    assert scalar(seeded, "SELECT count(*) FROM orders WHERE updated_by <> 'system' "
                          "OR updated_at < created_at OR updated_at > %s", (NOW,)) == 0
    assert scalar(seeded, "SELECT count(*) FROM orders WHERE created_at > %s "
                          "OR created_at < %s - interval '2160 hours'", (NOW, NOW)) == 0


def test_every_order_has_its_history_of_events(seeded):
    assert scalar(seeded, """
        SELECT count(*) FROM orders o WHERE (
            SELECT count(*) FROM order_events e
            WHERE e.order_id = o.id AND e.kind = 'placed' AND e.to_status = 'pending'
              AND e.created_at = o.created_at) <> 1""") == 0
    # One event per change: the version counts them and the last one names the status.
    assert scalar(seeded, """
        SELECT count(*) FROM orders o
        JOIN (SELECT order_id, count(*) AS n FROM order_events GROUP BY order_id) e
          ON e.order_id = o.id
        WHERE o.version <> e.n""") == 0
    assert scalar(seeded, """
        SELECT count(*) FROM orders o
        JOIN LATERAL (SELECT to_status, from_status FROM order_events e
                      WHERE e.order_id = o.id
                      ORDER BY created_at DESC, kind <> 'placed' DESC LIMIT 1) last
          ON true
        WHERE last.to_status <> o.status
           OR (o.status = 'on_hold' AND last.from_status <> o.held_from_status)""") == 0
    # Each transition starts where the previous one ended.
    assert scalar(seeded, """
        SELECT count(*) FROM (
            SELECT from_status, lag(to_status) OVER (
                PARTITION BY order_id ORDER BY created_at, kind <> 'placed') AS previous
            FROM order_events) t
        WHERE t.previous IS NOT NULL AND t.from_status <> t.previous""") == 0
    assert scalar(seeded, "SELECT count(*) FROM order_events WHERE actor <> 'system'") == 0
    assert scalar(seeded, "SELECT count(*) FROM stock_movements WHERE actor <> 'system'") == 0


def test_status_mix_is_realistic(small):
    by_status = dict(rows(small, "SELECT status, count(*) FROM orders GROUP BY status"))
    assert set(by_status) == {"pending", "allocated", "picking", "shipped", "delivered",
                              "cancelled", "returned", "on_hold"}
    old = dict(rows(small, "SELECT status, count(*) FROM orders "
                           "WHERE created_at < %s - interval '30 days' GROUP BY status", (NOW,)))
    assert old.get("delivered", 0) > 0.85 * sum(old.values())
    assert not set(old) & {"pending", "allocated", "picking", "on_hold", "shipped"}
    newest_open = scalar(small, "SELECT min(created_at) FROM orders WHERE status IN "
                                "('pending', 'allocated', 'picking', 'on_hold')")
    assert newest_open > NOW - dt.timedelta(days=10)


def test_transfers_in_transit_are_the_incoming_stock(seeded):
    assert scalar(seeded, """
        SELECT count(*) FROM stock s
        LEFT JOIN (SELECT to_location_id AS location_id, sku, sum(qty) AS qty FROM transfers
                   WHERE status = 'in_transit' GROUP BY to_location_id, sku) t
          USING (location_id, sku)
        WHERE s.incoming <> coalesce(t.qty, 0)""") == 0
    # Each transfer's ledger rows: out of the source, then into the destination.
    assert scalar(seeded, """
        SELECT count(*) FROM transfers t
        JOIN (SELECT ref_id,
                     sum(delta_on_hand) FILTER (WHERE kind = 'transfer_out') AS out_on_hand,
                     sum(delta_incoming) FILTER (WHERE kind IN ('transfer_in_transit',
                                                                'transfer_in')) AS in_incoming,
                     sum(delta_on_hand) FILTER (WHERE kind = 'transfer_in') AS in_on_hand
              FROM stock_movements WHERE ref_type = 'transfer' GROUP BY ref_id) m
          ON m.ref_id = t.id::text
        WHERE m.out_on_hand <> -t.qty
           OR m.in_incoming <> CASE WHEN t.status = 'in_transit' THEN t.qty ELSE 0 END
           OR m.in_on_hand <> CASE WHEN t.status = 'received' THEN t.qty ELSE 0 END""") == 0
    statuses = {r[0] for r in rows(seeded, "SELECT DISTINCT status FROM transfers")}
    assert statuses == {"in_transit", "received"}


def test_orders_follow_the_week_and_the_holidays(small):
    per_weekday = dict(rows(small, """
        SELECT extract(isodow FROM created_at AT TIME ZONE 'UTC')::int, count(*) FROM orders
        WHERE created_at < %s - interval '2 days' GROUP BY 1""", (NOW,)))
    assert per_weekday[6] > 1.2 * per_weekday[2]  # Saturday beats Tuesday
    black_friday = seasonality.black_friday(2025)
    na_per_day = dict(rows(small, """
        SELECT (created_at AT TIME ZONE 'America/New_York')::date, count(*) FROM orders
        WHERE region = 'NA' AND created_at < %s - interval '1 day' GROUP BY 1""", (NOW,)))
    ordinary = sorted(na_per_day.values())[len(na_per_day) // 2]
    assert na_per_day[black_friday] > 2 * ordinary


# --- calendar --------------------------------------------------------------------------------


def test_holiday_calendar():
    assert seasonality.black_friday(2025) == dt.date(2025, 11, 28)
    assert seasonality.black_friday(2026) == dt.date(2026, 11, 27)
    wednesday = dt.date(2025, 10, 15)
    assert seasonality.day_weight(dt.date(2025, 11, 28), "NA") > 2.5 * seasonality.day_weight(
        wednesday, "NA")
    assert seasonality.day_weight(dt.date(2025, 12, 25), "EU") < 0.5 * seasonality.day_weight(
        wednesday, "EU")
    assert seasonality.day_weight(dt.date(2025, 11, 11), "APAC") > 2 * seasonality.day_weight(
        dt.date(2025, 11, 12), "APAC")
    assert seasonality.day_weight(dt.date(2025, 10, 18), "EU") > seasonality.day_weight(
        dt.date(2025, 10, 14), "EU")  # Saturday vs Tuesday


# --- demo accounts and command-line behaviour -------------------------------------------------


def test_demo_accounts_can_sign_in(tiny, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", tiny)
    expected = {"admin": ("admin", ()), "hq": ("hq_viewer", ()),
                "manager": ("inventory_manager", ("EU",)), "support": ("support", ("EU",))}
    for username, password, *_ in DEMO_ACCOUNTS:
        actor = authenticate(username, password)
        assert (actor.role, actor.regions) == expected[username]
    assert {u for u, *_ in DEMO_ACCOUNTS} == set(expected)


def test_seed_without_demo_accounts_creates_no_users(db):
    seed(db, "tiny", now=NOW, demo_accounts=False)
    assert scalar(db, "SELECT count(*) FROM users") == 0


def _args(**overrides) -> argparse.Namespace:
    values = dict(scale="tiny", reset=False, if_empty=False, seed=42, no_demo_accounts=False)
    values.update(overrides)
    return argparse.Namespace(**values)


def test_refuses_to_seed_a_database_that_has_data(db, capsys):
    seed(db, "tiny", now=NOW, demo_accounts=False)
    before = content_digest(db)
    with pytest.raises(DatabaseNotEmpty):
        seed(db, "tiny", seed=99, now=NOW)
    assert seed_command(_args(seed=99)) == 1
    assert "--reset" in capsys.readouterr().err
    assert content_digest(db) == before


def test_if_empty_is_a_no_op_on_seeded_data(db, capsys):
    seed(db, "tiny", now=NOW, demo_accounts=False)
    before = content_digest(db)
    assert seed_command(_args(if_empty=True, seed=99)) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert content_digest(db) == before


def test_reset_replaces_the_data_and_keeps_users(db):
    seed(db, "tiny", seed=1, now=NOW)
    first = content_digest(db)
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO idempotency_keys (key, command, actor) VALUES ('k', 'c', 'a')")
    counts = seed(db, "tiny", seed=2, now=NOW, reset=True, demo_accounts=False)
    assert counts["idempotency_keys"] == 0
    assert counts["orders"] == 500
    assert content_digest(db)["orders"] != first["orders"]
    assert scalar(db, "SELECT count(*) FROM users") == len(DEMO_ACCOUNTS)
    assert scalar(db, "SELECT count(*) FROM schema_migrations") >= 1


def test_manage_py_seed_loads_an_empty_database_and_reports_progress(db):
    env = {**os.environ, "DATABASE_URL": db}
    result = subprocess.run(
        [sys.executable, "manage.py", "seed", "--scale", "tiny", "--if-empty"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "100% orders 500/500" in result.stderr
    assert "100% stock_movements" in result.stderr
    assert "admin/admin-demo" in result.stdout
    assert scalar(db, "SELECT count(*) FROM orders") == 500
    again = subprocess.run(
        [sys.executable, "manage.py", "seed", "--scale", "tiny"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert again.returncode == 1
    assert "already holds data" in again.stderr


def test_progress_bar_draws_in_place_on_a_terminal():
    class Terminal:
        def __init__(self):
            self.text = ""

        def isatty(self):
            return True

        def write(self, s):
            self.text += s

        def flush(self):
            pass

    screen = Terminal()
    bar = ProgressBar(screen, width=10)
    bar("orders", 0, 200)
    bar("orders", 200, 200)
    bar("orders", 200, 200)  # reported once
    assert screen.text == "\r[          ]   0% orders 0/200\r[##########] 100% orders 200/200\n"
    assert bar.render("orders", 104, 200) == "[#####     ]  52% orders 104/200"


def test_a_seed_that_fails_half_way_leaves_nothing_behind(db):
    def fail_in_stock_phase(phase, done, total):
        if phase == "stock":
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        seed(db, "tiny", now=NOW, progress=fail_in_stock_phase)
    assert table_counts(db) == dict.fromkeys(SEED_TABLES, 0)
    assert scalar(db, "SELECT count(*) FROM users") == 0


def test_bench_command_names_a_benchmark_this_build_lacks(capsys):
    from bench.cli import bench_command

    args = argparse.Namespace(name="no_such_benchmark", rest=["-o", "k=v"])
    assert bench_command(args) == 2
    assert "benchmark no_such_benchmark is not available in this build" in capsys.readouterr().err


@pytest.mark.parametrize("name,own_option", [
    ("seed", "--scale"), ("transfers", "--pgbench-scale"), ("orders", "--searches"),
    ("changefeed", "--rate"),
])
def test_each_benchmark_takes_its_own_options_through_manage_py(name, own_option):
    import importlib

    from bench.cli import benchmark_parser

    parser = benchmark_parser(name, importlib.import_module(f"bench.{name}"))
    assert own_option in parser.format_help()
    parsed = parser.parse_args(["-o", "seed=7"])
    assert dict(parsed.option_pairs) == {"seed": "7"}
