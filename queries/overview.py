"""Consolidated figures: stock and orders across the regions an actor may see (read-only)."""

from __future__ import annotations

from queries.actor import Actor
from queries.db import read
from queries.dialect import dialect_of
from queries.region_scope import region_condition


def _scoped_stock(actor: Actor) -> tuple[str, dict]:
    """FROM and WHERE of every stock row the actor may see, with its location and product."""
    scope, params = region_condition(actor, "l.region")
    return f"""
          FROM stock s
          JOIN locations l ON l.id = s.location_id
          JOIN products p ON p.sku = s.sku
         WHERE {scope}
    """, params


def _overview_read(query: str, params: dict) -> list[dict]:
    """One read-only transaction; on CockroachDB a follower read, slightly stale data from the
    nearest replica (its SET TRANSACTION must come first)."""
    def body(cur):
        statement = dialect_of(cur.connection).follower_read_transaction()
        if statement:
            cur.execute(statement)
        return cur.execute(query, params).fetchall()

    return read(body)


def stock_totals_by_region(actor: Actor) -> list[dict]:
    scoped, params = _scoped_stock(actor)
    return _overview_read(f"""
        SELECT l.region, sum(s.on_hand) AS on_hand, sum(s.reserved) AS reserved,
               sum(s.on_hand - s.reserved) AS available, sum(s.incoming) AS incoming,
               count(*) FILTER (WHERE s.on_hand - s.reserved <= 0) AS stockouts,
               count(*) FILTER (WHERE s.on_hand - s.reserved <= s.reorder_point) AS low_stock,
               sum(s.on_hand * p.unit_cost) AS stock_value
        {scoped}
         GROUP BY l.region
         ORDER BY l.region
    """, params)


def order_counts_by_region_and_status(actor: Actor) -> list[dict]:
    scope, params = region_condition(actor, "region")
    return _overview_read(f"""
        SELECT region, status, count(*) AS orders
          FROM orders
         WHERE {scope}
         GROUP BY region, status
         ORDER BY region, status
    """, params)


def orders_per_day(actor: Actor, days: int = 90) -> list[dict]:
    scope, params = region_condition(actor, "region")
    # A cast interval string rather than make_interval(days => …): both engines take it.
    return _overview_read(f"""
        SELECT date_trunc('day', created_at) AS day, region, count(*) AS orders
          FROM orders
         WHERE created_at >= now() - %(window)s::INTERVAL
           AND {scope}
         GROUP BY 1, 2
         ORDER BY 1
    """, {**params, "window": f"{int(days)} days"})


def low_stock_by_region_and_category(actor: Actor) -> list[dict]:
    """Per region and product category: stocked bins, and those at or below reorder point."""
    scoped, params = _scoped_stock(actor)
    return _overview_read(f"""
        SELECT l.region, p.category, count(*) AS bins,
               count(*) FILTER (WHERE s.on_hand - s.reserved <= s.reorder_point) AS low,
               count(*) FILTER (WHERE s.on_hand - s.reserved <= 0) AS out
        {scoped}
         GROUP BY l.region, p.category
         ORDER BY l.region, p.category
    """, params)
