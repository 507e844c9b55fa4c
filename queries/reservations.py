"""Reserve / release: the primitives order placement and order fixes are built on.

They run inside the caller's transaction (no commit here). Available never goes below zero:
apply_movement checks reserved <= on_hand and the CHECK constraint backs it up.
"""

from __future__ import annotations

from queries.quantities import positive
from queries.stock_ledger import apply_movement
from queries.vocabulary import MovementKind


def reserve(cur, *, location_id: str, sku: str, qty: int, actor: str, order_id: str,
            note: str | None = None) -> dict:
    """Hold qty of available stock for an order line."""
    return apply_movement(
        cur, location_id=location_id, sku=sku, kind=MovementKind.RESERVE, actor=actor,
        delta_reserved=positive(qty), ref_type="order", ref_id=str(order_id), note=note,
    )


def release(cur, *, location_id: str, sku: str, qty: int, actor: str, order_id: str,
            note: str | None = None) -> dict:
    """Give back qty an order line held."""
    return apply_movement(
        cur, location_id=location_id, sku=sku, kind=MovementKind.RELEASE, actor=actor,
        delta_reserved=-positive(qty), ref_type="order", ref_id=str(order_id), note=note,
    )


def consume(cur, *, location_id: str, sku: str, qty: int, actor: str, order_id: str) -> dict:
    """Shipping: the reservation and the on-hand units leave together."""
    qty = positive(qty)
    return apply_movement(
        cur, location_id=location_id, sku=sku, kind=MovementKind.SHIP, actor=actor,
        delta_on_hand=-qty, delta_reserved=-qty, ref_type="order", ref_id=str(order_id),
    )


def available_at(cur, location_id: str, sku: str) -> int:
    row = cur.execute(
        "SELECT on_hand - reserved AS available FROM stock WHERE location_id = %s AND sku = %s",
        (location_id, sku),
    ).fetchone()
    return 0 if row is None else row["available"]
