"""What the traffic simulator draws from: orderable SKUs, customers, regions (read-only)."""

from __future__ import annotations

from queries.db import fetch_all


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
