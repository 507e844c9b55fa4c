"""Headquarters' consolidated view: stock and orders across the regions an actor may see.

Read-only. Every read takes the actor (region scope, queries/region_scope.py) and an HqFilters
(queries/hq_filters.py, the only place the filters become SQL). No read here returns personal
data: no customer, no address, no email — only counts, units and places.

Stock figures come from the rollup (queries/rollups.py: per location x category, as of a
stated time) unless a product search narrows them to some SKUs, when they are read live from
stock for those SKUs only (an index lookup per SKU). Order figures are read live: each one is
bounded by an index (open statuses, the last days), never a scan of every order. On CockroachDB
all of it is a follower read (queries/dialect.py), a few seconds stale and served by the
nearest replica.
"""

from __future__ import annotations

from datetime import datetime

from queries.actor import Actor
from queries.follower_reads import historical_read
from queries.hq_filters import (
    MAX_MATCHED_SKUS,
    HqFilters,
    location_condition,
    order_condition,
    product_condition,
)
from queries.order_states import CANCELLED, NOT_SHIPPED
from queries.rollups import DEMAND_DAYS

FUNNEL_DAYS = 7       # the funnel counts orders placed in the last week
HOURLY_HOURS = 48     # orders per hour over the last two days
LATE_AGES = (("under a day", "1 day"), ("1-3 days", "3 days"))  # then "over 3 days"


def _hq_read(body):
    """One read-only transaction; on CockroachDB a follower read when the cluster allows it
    (queries/follower_reads.py)."""
    return historical_read(body)


# ---------------------------------------------------------------- stock

_GROUP_COLUMNS = """
    l.id AS location_id, l.name, l.region, l.country, l.kind, l.lat, l.lon
"""


def stock_groups(actor: Actor, filters: HqFilters = HqFilters()) -> dict:
    """Stock per location x category under the filters, with the location's place.

    Returns {"as_of": when the figures describe (None: not built yet), "live": read from stock
    rather than the rollup, "rows": [...]}, each row: location_id, name, region, country, kind,
    lat, lon, category, bins, on_hand, reserved, incoming, available, stock_value, out_bins,
    low_bins, sold_28d (units sold from there over the last DEMAND_DAYS days)."""
    where, params = location_condition(actor, filters)
    if filters.search:
        return _live_stock_groups(where, params, filters)
    if filters.category:
        where += " AND r.category = %(f_category)s"
        params["f_category"] = filters.category

    def body(cur):
        as_of = cur.execute(
            "SELECT as_of FROM stock_rollup_state WHERE name = 'stock'").fetchone()
        rows = cur.execute(f"""
            SELECT {_GROUP_COLUMNS}, r.category, r.bins, r.on_hand, r.reserved, r.incoming,
                   r.on_hand - r.reserved AS available, r.stock_value, r.out_bins, r.low_bins,
                   r.sold_28d
              FROM stock_rollup r
              JOIN locations l ON l.id = r.location_id
             WHERE {where}
             ORDER BY l.region, l.id, r.category
        """, params).fetchall()
        return {"as_of": as_of["as_of"] if as_of else None, "live": False, "rows": rows}

    return _hq_read(body)


def _live_stock_groups(where: str, params: dict, filters: HqFilters) -> dict:
    products, product_params = product_condition(filters)

    def body(cur):
        read_at = cur.execute("SELECT now() AS read_at").fetchone()["read_at"]
        rows = cur.execute(f"""
            WITH matched AS (
                SELECT p.sku, p.category, p.unit_cost
                  FROM products p
                 WHERE {products}
                 ORDER BY p.sku
                 LIMIT %(max_skus)s
            ), sold AS (
                SELECT ol.location_id, ol.sku, sum(ol.qty)::INT8 AS units
                  FROM matched m
                  JOIN order_lines ol ON ol.sku = m.sku
                  JOIN orders o ON o.id = ol.order_id
                 WHERE o.created_at > now() - %(window)s::INTERVAL
                   AND o.status <> %(cancelled)s
                   AND ol.location_id IS NOT NULL
                 GROUP BY ol.location_id, ol.sku
            )
            SELECT {_GROUP_COLUMNS}, m.category, count(*) AS bins, sum(s.on_hand)::INT8 AS on_hand,
                   sum(s.reserved)::INT8 AS reserved, sum(s.incoming)::INT8 AS incoming,
                   sum(s.on_hand - s.reserved)::INT8 AS available,
                   sum(s.on_hand * m.unit_cost) AS stock_value,
                   count(*) FILTER (WHERE s.on_hand - s.reserved <= 0) AS out_bins,
                   count(*) FILTER (WHERE s.on_hand - s.reserved <= s.reorder_point) AS low_bins,
                   coalesce(sum(sold.units), 0)::INT8 AS sold_28d
              FROM matched m
              JOIN stock s ON s.sku = m.sku
              JOIN locations l ON l.id = s.location_id
              LEFT JOIN sold ON sold.location_id = s.location_id AND sold.sku = s.sku
             WHERE {where}
             GROUP BY l.id, l.name, l.region, l.country, l.kind, l.lat, l.lon, m.category
             ORDER BY l.region, l.id, m.category
        """, {**params, **product_params, "max_skus": MAX_MATCHED_SKUS,
              "window": f"{DEMAND_DAYS} days", "cancelled": CANCELLED}).fetchall()
        return {"as_of": read_at, "live": True, "rows": rows}

    return _hq_read(body)


def skus_out_somewhere(actor: Actor, filters: HqFilters = HqFilters()) -> int:
    """SKUs with nothing available in at least one location under the filters (live; the
    partial index stock_out_idx holds only the empty bins)."""
    locations, params = location_condition(actor, filters)
    products, product_params = product_condition(filters)
    return _hq_read(lambda cur: cur.execute(f"""
        SELECT count(DISTINCT s.sku) AS skus
          FROM stock s
          JOIN locations l ON l.id = s.location_id
          JOIN products p ON p.sku = s.sku
         WHERE s.on_hand - s.reserved <= 0
           AND {locations}
           AND {products}
    """, {**params, **product_params}).fetchone()["skus"])


def filter_choices(actor: Actor) -> dict[str, list[str]]:
    """The values each filter may take for this actor: regions, countries, kinds, categories."""
    where, params = location_condition(actor, HqFilters())

    def body(cur):
        places = cur.execute(f"""
            SELECT DISTINCT l.region, l.country, l.kind
              FROM locations l
             WHERE {where}
        """, params).fetchall()
        categories = cur.execute(
            "SELECT DISTINCT category FROM products ORDER BY category").fetchall()
        return {
            "region": sorted({p["region"] for p in places}),
            "country": sorted({p["country"] for p in places}),
            "kind": sorted({p["kind"] for p in places}),
            "category": [c["category"] for c in categories],
        }

    return _hq_read(body)


# ---------------------------------------------------------------- orders

def order_tiles(actor: Actor, filters: HqFilters = HqFilters()) -> dict:
    """Open and late orders now; orders placed today so far and on the same weekday last week
    up to the same time of day (UTC days). Each count is bounded by an index."""
    where, params = order_condition(actor, filters)

    def body(cur):
        return cur.execute(f"""
            SELECT now() AS read_at,
                   (SELECT count(*) FROM orders o
                     WHERE o.status = ANY(%(open)s) AND {where}) AS open_orders,
                   (SELECT count(*) FROM orders o
                     WHERE o.status = ANY(%(open)s) AND o.promised_by < now()
                       AND {where}) AS late_orders,
                   (SELECT count(*) FROM orders o
                     WHERE o.created_at >= date_trunc('day', now())
                       AND {where}) AS today,
                   (SELECT count(*) FROM orders o
                     WHERE o.created_at >= date_trunc('day', now()) - INTERVAL '7 days'
                       AND o.created_at < now() - INTERVAL '7 days'
                       AND {where}) AS same_day_last_week
        """, {**params, "open": [str(s) for s in NOT_SHIPPED]}).fetchone()

    return _hq_read(body)


def funnel_by_region(actor: Actor, filters: HqFilters = HqFilters(),
                     days: int = FUNNEL_DAYS) -> list[dict]:
    """Orders placed in the last `days` days, per region and status now."""
    where, params = order_condition(actor, filters)
    return _hq_read(lambda cur: cur.execute(f"""
        SELECT o.region, o.status, count(*) AS orders
          FROM orders o
         WHERE o.created_at >= now() - %(window)s::INTERVAL
           AND {where}
         GROUP BY o.region, o.status
         ORDER BY o.region, o.status
    """, {**params, "window": f"{int(days)} days"}).fetchall())


def orders_per_hour(actor: Actor, filters: HqFilters = HqFilters(),
                    hours: int = HOURLY_HOURS) -> list[dict]:
    where, params = order_condition(actor, filters)
    return _hq_read(lambda cur: cur.execute(f"""
        SELECT date_trunc('hour', o.created_at) AS hour, o.region, count(*) AS orders
          FROM orders o
         WHERE o.created_at >= now() - %(window)s::INTERVAL
           AND {where}
         GROUP BY 1, 2
         ORDER BY 1, 2
    """, {**params, "window": f"{int(hours)} hours"}).fetchall())


def late_orders(actor: Actor, filters: HqFilters = HqFilters()) -> list[dict]:
    """Orders past their promised time and not yet shipped, per region and how late."""
    where, params = order_condition(actor, filters)
    (first, first_limit), (second, second_limit) = LATE_AGES
    return _hq_read(lambda cur: cur.execute(f"""
        SELECT o.region,
               CASE WHEN o.promised_by > now() - %(first_limit)s::INTERVAL THEN %(first)s
                    WHEN o.promised_by > now() - %(second_limit)s::INTERVAL THEN %(second)s
                    ELSE 'over 3 days' END AS late_by,
               count(*) AS orders
          FROM orders o
         WHERE o.status = ANY(%(open)s)
           AND o.promised_by < now()
           AND {where}
         GROUP BY 1, 2
         ORDER BY 1, 2
    """, {**params, "open": [str(s) for s in NOT_SHIPPED], "first": first,
          "first_limit": first_limit, "second": second,
          "second_limit": second_limit}).fetchall())


# ---------------------------------------------------------------- one SKU

def find_products(search: str, limit: int = 50) -> list[dict]:
    """Products whose SKU starts with, or whose name contains the words of, `search`."""
    where, params = product_condition(HqFilters(search=search))
    return _hq_read(lambda cur: cur.execute(f"""
        SELECT p.sku, p.name, p.category
          FROM products p
         WHERE {where}
         ORDER BY p.sku
         LIMIT %(limit)s
    """, {**params, "limit": limit}).fetchall())


def sku_stock(actor: Actor, filters: HqFilters, sku: str) -> list[dict]:
    """One SKU at every location under the filters (live), with units sold there over the last
    DEMAND_DAYS days and days of cover (available / average daily units sold; None: no sales)."""
    where, params = location_condition(actor, filters)
    rows = _hq_read(lambda cur: cur.execute(f"""
        WITH sold AS (
            SELECT ol.location_id, sum(ol.qty)::INT8 AS units
              FROM order_lines ol
              JOIN orders o ON o.id = ol.order_id
             WHERE ol.sku = %(sku)s
               AND o.created_at > now() - %(window)s::INTERVAL
               AND o.status <> %(cancelled)s
               AND ol.location_id IS NOT NULL
             GROUP BY ol.location_id
        )
        SELECT l.id AS location_id, l.name, l.region, l.country, l.kind,
               s.on_hand, s.reserved, s.on_hand - s.reserved AS available, s.incoming,
               s.reorder_point, coalesce(sold.units, 0) AS sold_28d
          FROM stock s
          JOIN locations l ON l.id = s.location_id
          LEFT JOIN sold ON sold.location_id = s.location_id
         WHERE s.sku = %(sku)s
           AND {where}
         ORDER BY l.region, l.id
    """, {**params, "sku": sku, "window": f"{DEMAND_DAYS} days",
          "cancelled": CANCELLED}).fetchall())
    for row in rows:
        row["cover_days"] = days_of_cover(row["available"], row["sold_28d"])
    return rows


def days_of_cover(available, sold_in_window) -> float | None:
    """available / (units sold over DEMAND_DAYS days / DEMAND_DAYS); None when nothing sold."""
    if not sold_in_window:
        return None
    return round(float(available) / (float(sold_in_window) / DEMAND_DAYS), 1)


def transfer_sources(rows: list[dict], limit: int = 5) -> list[dict]:
    """Where to send a transfer from: locations (of sku_stock's rows) holding more available
    than their reorder point, the largest surplus first."""
    sources = [dict(row, surplus=int(row["available"]) - int(row["reorder_point"]))
               for row in rows if int(row["available"]) > int(row["reorder_point"])]
    return sorted(sources, key=lambda r: (-r["surplus"], r["location_id"]))[:limit]


def sku_stock_as_of(actor: Actor, filters: HqFilters, sku: str, at: datetime) -> list[dict]:
    """One SKU at every location under the filters as it was at `at`, exact from the ledger:
    every stock row is the sum of its movements (invariant 2), so the sum of those recorded
    up to `at` is the row as it stood then."""
    where, params = location_condition(actor, filters)
    return _hq_read(lambda cur: cur.execute(f"""
        SELECT l.id AS location_id, l.name, l.region,
               coalesce(sum(m.delta_on_hand), 0)::INT8 AS on_hand,
               coalesce(sum(m.delta_reserved), 0)::INT8 AS reserved,
               coalesce(sum(m.delta_on_hand - m.delta_reserved), 0)::INT8 AS available,
               coalesce(sum(m.delta_incoming), 0)::INT8 AS incoming
          FROM locations l
          JOIN stock_movements m ON m.location_id = l.id
         WHERE m.sku = %(sku)s
           AND m.created_at <= %(at)s
           AND {where}
         GROUP BY l.id, l.name, l.region
         ORDER BY l.region, l.id
    """, {**params, "sku": sku, "at": at}).fetchall())


def sku_history(actor: Actor, filters: HqFilters, sku: str, days: int = 90) -> list[dict]:
    """Units on hand, available and incoming of one SKU across the filtered locations at the end
    of each day with a movement over the last `days` days (from the ledger), plus the level the
    window starts from."""
    where, params = location_condition(actor, filters)
    return _hq_read(lambda cur: cur.execute(f"""
        WITH moves AS (
            SELECT CASE WHEN m.created_at < now() - %(window)s::INTERVAL
                        THEN date_trunc('day', now() - %(window)s::INTERVAL)
                        ELSE date_trunc('day', m.created_at) END AS day,
                   m.delta_on_hand, m.delta_reserved, m.delta_incoming
              FROM locations l
              JOIN stock_movements m ON m.location_id = l.id
             WHERE m.sku = %(sku)s
               AND {where}
        ), daily AS (
            SELECT day, sum(delta_on_hand)::INT8 AS d_on_hand, sum(delta_reserved)::INT8 AS d_reserved,
                   sum(delta_incoming)::INT8 AS d_incoming
              FROM moves
             GROUP BY day
        )
        SELECT day,
               (sum(d_on_hand) OVER (ORDER BY day))::INT8 AS on_hand,
               (sum(d_on_hand - d_reserved) OVER (ORDER BY day))::INT8 AS available,
               (sum(d_incoming) OVER (ORDER BY day))::INT8 AS incoming
          FROM daily
         ORDER BY day
    """, {**params, "sku": sku, "window": f"{int(days)} days"}).fetchall())
