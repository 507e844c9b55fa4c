"""Shared setup and checks for the order tests: customers, stock arrivals, stock per bin,
invariant 4. (What a refused command must leave alone: tests/table_counts.py.)"""

from __future__ import annotations

from queries import order_states as states
from queries.actor import SYSTEM
from queries.customers import add_customer
from queries.db import fetch_all, fetch_one, run_transaction
from queries.stock_ledger import apply_movement

BERLIN = (52.52, 13.40)
PARIS = (48.86, 2.35)
NEW_YORK = (40.71, -74.01)


def customer(name: str = "Jane Doe", email: str = "jane.doe@example.com", region: str = "EU",
             address: str = "Unter den Linden 1, 10117 Berlin", near=BERLIN) -> str:
    lat, lon = near if near else (None, None)
    return add_customer(SYSTEM, name, email, address, region, lat, lon)


def receive(location_id: str, sku: str, qty: int) -> None:
    """Goods arrive (through the ledger primitive, so the ledger still adds up)."""
    run_transaction(lambda cur: apply_movement(
        cur, location_id=location_id, sku=sku, kind="adjustment", reason="received",
        delta_on_hand=qty, actor="test"))


def stock(location_id: str, sku: str) -> dict:
    return fetch_one("SELECT on_hand, reserved FROM stock WHERE location_id = %s AND sku = %s",
                     (location_id, sku))


def order_row(order_id: str) -> dict:
    return fetch_one("SELECT * FROM orders WHERE id = %s", (order_id,))


def lines_of(order_id: str) -> list[dict]:
    return fetch_all("SELECT * FROM order_lines WHERE order_id = %s ORDER BY line_no", (order_id,))


def events_of(order_id: str) -> list[dict]:
    return fetch_all("SELECT * FROM order_events WHERE order_id = %s ORDER BY created_at, id",
                     (order_id,))


def reserved_by_bin() -> dict[tuple[str, str], int]:
    """{(location, sku): reserved} of every stock row holding something."""
    rows = fetch_all("""
        SELECT location_id, sku, reserved
          FROM stock
         WHERE reserved <> 0
         ORDER BY location_id, sku
    """)
    return {(row["location_id"], row["sku"]): row["reserved"] for row in rows}


def on_hand_by_bin() -> dict[tuple[str, str], int]:
    """{(location, sku): on_hand} of every stock row."""
    rows = fetch_all("""
        SELECT location_id, sku, on_hand
          FROM stock
         ORDER BY location_id, sku
    """)
    return {(row["location_id"], row["sku"]): row["on_hand"] for row in rows}


def reservation_mismatches() -> list[dict]:
    """Invariant 4 (and the ledger sums of invariant 2) as SQL: every row that breaks them.

    stock.reserved must equal the reserved_qty of lines of orders that hold stock (allocated,
    picking, on_hold) at that location; lines of any other order hold nothing; the ledger's
    deltas add up to the stock row.
    """
    holding = list(states.HOLDING_STOCK)
    broken = fetch_all(
        "SELECT s.location_id, s.sku, s.reserved, coalesce(h.held, 0) AS held "
        "FROM stock s LEFT JOIN ("
        "  SELECT ol.location_id, ol.sku, sum(ol.reserved_qty) AS held FROM order_lines ol "
        "  JOIN orders o ON o.id = ol.order_id WHERE o.status = ANY(%s) "
        "  GROUP BY ol.location_id, ol.sku) h "
        "ON h.location_id = s.location_id AND h.sku = s.sku "
        "WHERE s.reserved <> coalesce(h.held, 0)",
        (holding,),
    )
    broken += fetch_all(
        "SELECT ol.order_id, ol.line_no, o.status, ol.reserved_qty FROM order_lines ol "
        "JOIN orders o ON o.id = ol.order_id "
        "WHERE ol.reserved_qty > 0 AND NOT (o.status = ANY(%s))",
        (holding,),
    )
    broken += fetch_all(
        "SELECT ol.order_id, ol.line_no, o.status, ol.qty, ol.reserved_qty FROM order_lines ol "
        "JOIN orders o ON o.id = ol.order_id "
        "WHERE o.status IN ('allocated', 'picking') AND ol.reserved_qty <> ol.qty"
    )
    broken += fetch_all(
        "SELECT s.location_id, s.sku, s.on_hand, s.reserved, m.on_hand AS ledger_on_hand, "
        "m.reserved AS ledger_reserved FROM stock s LEFT JOIN ("
        "  SELECT location_id, sku, sum(delta_on_hand) AS on_hand, sum(delta_reserved) AS reserved "
        "  FROM stock_movements GROUP BY location_id, sku) m "
        "ON m.location_id = s.location_id AND m.sku = s.sku "
        "WHERE s.on_hand <> coalesce(m.on_hand, 0) OR s.reserved <> coalesce(m.reserved, 0)"
    )
    return broken


def assert_reservations_exact() -> None:
    broken = reservation_mismatches()
    assert broken == [], broken
