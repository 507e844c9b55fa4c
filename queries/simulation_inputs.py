"""What the traffic simulator draws from: orderable SKUs, customers, regions (read-only)."""

from __future__ import annotations

from queries.db import fetch_all, fetch_one


def orderable_skus(limit: int = 500) -> list[str]:
    """Active SKUs with some available stock at an active location."""
    return [row["sku"] for row in fetch_all(
        "SELECT DISTINCT s.sku FROM stock s JOIN products p ON p.sku = s.sku "
        "JOIN locations l ON l.id = s.location_id "
        "WHERE p.active AND l.active AND s.on_hand > s.reserved LIMIT %s", (limit,))]


def customers_with_regions(limit: int = 5000) -> list[dict]:
    return fetch_all("SELECT id, region FROM customers LIMIT %s", (limit,))


def active_regions() -> list[str]:
    return [row["region"] for row in fetch_all(
        "SELECT DISTINCT region FROM locations WHERE active ORDER BY region")]


def return_plan_inputs(order_id: str) -> dict | None:
    """Where a returned order's goods go back (its fulfilment location) and its first line."""
    rows = fetch_all(
        "SELECT o.fulfilment_location_id AS location_id, ol.line_no, ol.qty - ol.returned_qty AS out "
        "FROM orders o JOIN order_lines ol ON ol.order_id = o.id "
        "WHERE o.id = %s ORDER BY ol.line_no LIMIT 1", (order_id,))
    return rows[0] if rows and rows[0]["location_id"] else None


def active_locations() -> list[dict]:
    """Active locations (id, region): where simulated transfers go."""
    return fetch_all("SELECT id, region FROM locations WHERE active ORDER BY id")


_BINS_OF = """
    SELECT s.location_id, s.sku, s.on_hand, s.reserved, s.on_hand - s.reserved AS available
      FROM stock s
      JOIN locations l ON l.id = s.location_id
     WHERE l.active
       AND s.sku = ANY(%(skus)s)
"""


def scarce_bins(skus: list[str], limit: int = 40) -> list[dict]:
    """The bins of these SKUs with the least available stock: where simulated receipts go."""
    return fetch_all(_BINS_OF + " ORDER BY available, s.location_id, s.sku LIMIT %(limit)s",
                     {"skus": list(skus), "limit": limit})


def plentiful_bins(skus: list[str], limit: int = 40) -> list[dict]:
    """The bins of these SKUs with the most available stock: where simulated transfers start."""
    return fetch_all(_BINS_OF + " ORDER BY available DESC, s.location_id, s.sku LIMIT %(limit)s",
                     {"skus": list(skus), "limit": limit})


def bin_quantities(location_id: str, sku: str) -> dict | None:
    """A bin's on_hand and reserved now: what a simulated cycle count starts from."""
    return fetch_one("""
        SELECT on_hand, reserved
          FROM stock
         WHERE location_id = %(location_id)s AND sku = %(sku)s
    """, {"location_id": location_id, "sku": sku})
