"""Every aggregate a regional person sees counts their regions only.

A world with stock, orders (every status, late ones, old ones) and suggestions in two regions;
for a person working in one region, each Overview figure, each order count and chart, each
stock alert and picker equals a direct SQL count restricted to that region, and differs from
what headquarters sees (so the other region really is in the data and a dropped filter shows).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from queries import db as dbmod
from queries import locations, order_search, orders, overview, replenishment, rollups, stock
from queries.actor import Actor
from queries.db import fetch_all, fetch_one, run_transaction
from queries.hq_filters import HqFilters
from queries.order_search import OrderFilters
from tests import factories
from tests.factories import ADMIN
from tests.order_helpers import NEW_YORK, customer
from tests.worlds import copy_of_world

MANAGER_NA = Actor("manager.na", "inventory_manager", ("NA",), "Nils Manager")
SUPPORT_EU = Actor("support.eu", "support", ("EU",), "Sam Support")
MANAGER_EU = Actor("manager.eu", "inventory_manager", ("EU",), "Eva Manager")
REGIONAL = [(MANAGER_EU, "EU"), (SUPPORT_EU, "EU"), (MANAGER_NA, "NA")]
PAST = datetime(2020, 1, 1, tzinfo=UTC)


def _orders_in(customer_id: str, late: int, pending: int, cancelled: int, shipped: int,
               held: int, allocated: int, backdated: list[int]) -> None:
    """Orders of one customer in each status; `backdated` moves some back by that many days."""
    placed = []
    for _ in range(late):
        placed.append(orders.place_order(ADMIN, customer_id, [("SKU-1", 1)], promised_by=PAST))
    for _ in range(pending):
        placed.append(orders.place_order(ADMIN, customer_id, [("SKU-NONE", 1)]))
    for _ in range(cancelled):
        oid = orders.place_order(ADMIN, customer_id, [("SKU-2", 1)])["order_id"]
        placed.append(orders.cancel_order(ADMIN, oid, expected_version=1))
    for _ in range(shipped):
        oid = orders.place_order(ADMIN, customer_id, [("SKU-2", 2)])["order_id"]
        orders.mark_picking(ADMIN, oid, expected_version=1)
        placed.append(orders.mark_shipped(ADMIN, oid, expected_version=2))
    for _ in range(held):
        oid = orders.place_order(ADMIN, customer_id, [("SKU-3", 1)])["order_id"]
        placed.append(orders.hold_order(ADMIN, oid, expected_version=1))
    for _ in range(allocated):
        placed.append(orders.place_order(ADMIN, customer_id, [("SKU-1", 3), ("SKU-3", 1)]))
    for order, days in zip(placed, backdated, strict=False):
        run_transaction(lambda cur, o=order, d=days: cur.execute(
            "UPDATE orders SET created_at = now() - make_interval(days => %s) WHERE id = %s",
            (d, o["order_id"])))


def _build_two_regions() -> None:
    factories.small_world()                      # WH-BER-1, WH-PAR-1 (EU), ST-NYC-1 (NA)
    factories.add_location("ST-BOS-1", "NA", "store", "Boston", 42.36, -71.06)
    factories.add_product("SKU-NONE")            # never stocked: its orders stay pending
    factories.add_product("SKU-LOW", reorder_point=10)
    for location, on_hand in (("WH-BER-1", 3), ("WH-PAR-1", 0), ("ST-NYC-1", 8), ("ST-BOS-1", 40)):
        factories.add_stock(location, "SKU-LOW", on_hand, reorder_point=10)
    factories.add_stock("ST-BOS-1", "SKU-1", 7)
    factories.add_stock("ST-BOS-1", "SKU-3", 0)    # a stockout in each region (PAR's SKU-LOW)
    eu, na = customer(), customer("John Roe", "john@example.com", "NA", "5th Ave 1, New York", NEW_YORK)
    _orders_in(eu, late=2, pending=2, cancelled=1, shipped=2, held=1, allocated=3,
               backdated=[0, 2, 3, 30, 200])
    _orders_in(na, late=1, pending=1, cancelled=2, shipped=1, held=2, allocated=1,
               backdated=[1, 5, 120])
    now_ns = time.time_ns()
    for location in ("WH-BER-1", "ST-NYC-1"):
        replenishment.observe_stock_level(replenishment.StockLevel(
            location, "SKU-LOW", 3, 0, 10, (now_ns, 0)))


@pytest.fixture
def two_regions(pg_server, monkeypatch):
    yield copy_of_world(pg_server, _build_two_regions, monkeypatch)
    dbmod.close_pools()


# ---------------------------------------------------------------- direct SQL, one region

def _sql_stock_totals(region: str) -> list[dict]:
    return fetch_all("""
        SELECT l.region, sum(s.on_hand) AS on_hand, sum(s.reserved) AS reserved,
               sum(s.on_hand - s.reserved) AS available, sum(s.incoming) AS incoming,
               count(*) FILTER (WHERE s.on_hand - s.reserved <= 0) AS stockouts,
               count(*) FILTER (WHERE s.on_hand - s.reserved <= s.reorder_point) AS low_stock,
               sum(s.on_hand * p.unit_cost) AS stock_value
          FROM stock s
          JOIN locations l ON l.id = s.location_id
          JOIN products p ON p.sku = s.sku
         WHERE l.region = %(region)s
         GROUP BY l.region
    """, {"region": region})


def _sql_orders_by_status(region: str) -> dict[tuple[str, str], int]:
    rows = fetch_all("""
        SELECT status, count(*) AS n
          FROM orders
         WHERE region = %(region)s
         GROUP BY status
    """, {"region": region})
    return {(region, row["status"]): row["n"] for row in rows}


def _sql_count(sql: str, region: str) -> int:
    return fetch_one(sql, {"region": region})["n"]


def _all_pages(actor: Actor, filters: OrderFilters) -> list[dict]:
    rows, after = [], None
    while True:
        page = order_search.search_orders(actor, filters, after=after, limit=3)
        rows += page.rows
        if page.next_after is None:
            return rows
        after = page.next_after


# ---------------------------------------------------------------- Overview


@pytest.mark.parametrize("actor,region", REGIONAL, ids=lambda v: getattr(v, "username", v))
def test_overview_figures_count_the_actors_region_only(two_regions, actor, region):
    rollups.refresh()
    groups = overview.stock_groups(actor)["rows"]
    assert {r["region"] for r in groups} == {region}
    totals = {k: sum(r[k] for r in groups) for k in
              ("on_hand", "reserved", "available", "incoming", "stock_value")}
    totals["stockouts"] = sum(r["out_bins"] for r in groups)
    totals["low_stock"] = sum(r["low_bins"] for r in groups)
    [direct] = _sql_stock_totals(region)
    assert totals == {k: direct[k] for k in totals}
    assert len(overview.stock_groups(ADMIN)["rows"]) > len(groups)
    assert overview.skus_out_somewhere(actor) == _sql_count(
        "SELECT count(DISTINCT s.sku) AS n FROM stock s JOIN locations l ON l.id = s.location_id "
        "WHERE l.region = %(region)s AND s.on_hand - s.reserved <= 0", region)
    assert overview.skus_out_somewhere(actor) < overview.skus_out_somewhere(ADMIN)

    open_statuses = "status IN ('pending', 'allocated', 'picking', 'on_hold')"
    tiles = overview.order_tiles(actor)
    assert tiles["open_orders"] == _sql_count(
        f"SELECT count(*) AS n FROM orders WHERE region = %(region)s AND {open_statuses}", region)
    assert tiles["late_orders"] == _sql_count(
        f"SELECT count(*) AS n FROM orders WHERE region = %(region)s AND {open_statuses} "
        "AND promised_by < now()", region)
    assert tiles["today"] == _sql_count(
        "SELECT count(*) AS n FROM orders WHERE region = %(region)s "
        "AND created_at >= date_trunc('day', now())", region)
    assert tiles["open_orders"] < overview.order_tiles(ADMIN)["open_orders"]

    funnel = overview.funnel_by_region(actor)
    assert {r["region"] for r in funnel} == {region}
    assert sum(r["orders"] for r in funnel) == _sql_count(
        "SELECT count(*) AS n FROM orders WHERE region = %(region)s "
        "AND created_at >= now() - INTERVAL '7 days'", region)
    hourly = overview.orders_per_hour(actor)
    assert {r["region"] for r in hourly} == {region}
    assert sum(r["orders"] for r in hourly) < sum(r["orders"] for r in overview.orders_per_hour(ADMIN))
    late = overview.late_orders(actor)
    assert {r["region"] for r in late} == {region}
    assert sum(r["orders"] for r in late) == tiles["late_orders"]
    assert overview.filter_choices(actor)["region"] == [region]

    sku_rows = overview.sku_stock(actor, HqFilters(), "SKU-LOW")
    assert {r["region"] for r in sku_rows} == {region}
    as_of = overview.sku_stock_as_of(actor, HqFilters(), "SKU-LOW", datetime.now(UTC))
    assert {r["region"] for r in as_of} == {region}
    history = overview.sku_history(actor, HqFilters(), "SKU-LOW")
    assert history[-1]["on_hand"] == _sql_count(
        "SELECT sum(s.on_hand) AS n FROM stock s JOIN locations l ON l.id = s.location_id "
        "WHERE l.region = %(region)s AND s.sku = 'SKU-LOW'", region)


# ---------------------------------------------------------------- orders: counts and charts


@pytest.mark.parametrize("actor,region", REGIONAL, ids=lambda v: getattr(v, "username", v))
def test_order_counts_and_charts_count_the_actors_region_only(two_regions, actor, region):
    counts = order_search.status_counts(actor)
    expected = {status: n for (_, status), n in _sql_orders_by_status(region).items()}
    assert {s: n for s, n in counts.items() if n} == expected
    assert counts != order_search.status_counts(ADMIN)
    assert order_search.status_counts(actor, region) == counts

    late = order_search.late_summary(actor)
    assert late["late"] == _sql_count(
        "SELECT count(*) AS n FROM orders WHERE region = %(region)s "
        "AND status IN ('pending', 'allocated', 'picking', 'on_hold') AND promised_by < now()",
        region)
    assert 0 < late["late"] < order_search.late_summary(ADMIN)["late"]

    per_hour = order_search.orders_per_hour(actor, hours=24)
    assert sum(r["orders"] for r in per_hour) == _sql_count(
        "SELECT count(*) AS n FROM orders WHERE region = %(region)s "
        "AND created_at >= now() - INTERVAL '24 hours'", region)
    assert per_hour != order_search.orders_per_hour(ADMIN, hours=24)

    everything = _all_pages(actor, OrderFilters())
    assert {row["region"] for row in everything} == {region}
    assert len(everything) == _sql_count(
        "SELECT count(*) AS n FROM orders WHERE region = %(region)s", region)
    assert len(_all_pages(actor, OrderFilters(late_only=True))) == late["late"]
    assert len(_all_pages(actor, OrderFilters(sku="SKU-1"))) == _sql_count(
        "SELECT count(DISTINCT o.id) AS n FROM orders o JOIN order_lines ol ON ol.order_id = o.id "
        "WHERE o.region = %(region)s AND ol.sku = 'SKU-1'", region)


def test_back_order_allocation_tries_the_actors_region_only(two_regions):
    for location in ("WH-BER-1", "ST-NYC-1"):   # the back-ordered SKU arrives in both regions
        factories.add_stock(location, "SKU-NONE", 50)
    result = orders.allocate_waiting_orders(SUPPORT_EU)
    assert result == {"tried": 2, "allocated": 2, "still_short": 0}
    assert _sql_count("SELECT count(*) AS n FROM orders WHERE region = %(region)s "
                      "AND status = 'pending'", "NA") == 1


# ---------------------------------------------------------------- stock alerts, pickers, suggestions


@pytest.mark.parametrize("actor,region", REGIONAL, ids=lambda v: getattr(v, "username", v))
def test_stock_alerts_pickers_and_suggestions_stay_in_the_actors_region(two_regions, actor, region):
    in_region = "SELECT count(*) AS n FROM stock s JOIN locations l ON l.id = s.location_id " \
                "WHERE l.active AND l.region = %(region)s AND "
    low = stock.low_stock(actor)
    assert {r["region"] for r in low} == {region}
    assert len(low) == _sql_count(in_region + "s.on_hand - s.reserved <= s.reorder_point", region)
    out = stock.stockouts(actor)
    assert len(out) == _sql_count(in_region + "s.on_hand - s.reserved <= 0", region)
    assert len(out) < len(stock.stockouts(ADMIN))

    assert {r["region"] for r in locations.visible(actor)} == {region}
    assert {r["region"] for r in locations.restock_choices(actor)} == {region}
    assert {r["region"] for r in locations.with_available(actor, "SKU-1", 1)} == {region}
    assert locations.regions(actor) == [region]
    assert locations.regions(ADMIN) == ["EU", "NA"]

    suggestions = replenishment.open_suggestions(actor)
    assert [r["region"] for r in suggestions] == [region]
    assert len(replenishment.open_suggestions(ADMIN)) == 2
