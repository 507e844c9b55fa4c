"""The one primitive that changes a stock row: it writes the ledger row in the same transaction.

Callers run inside run_transaction / run_command; nothing here commits.
"""

from __future__ import annotations

from psycopg import errors as pgerrors

from queries.errors import InsufficientStock, NotFound


def apply_movement(
    cur,
    *,
    location_id: str,
    sku: str,
    kind: str,
    actor: str,
    delta_on_hand: int = 0,
    delta_reserved: int = 0,
    delta_incoming: int = 0,
    reason: str | None = None,
    ref_type: str | None = None,
    ref_id: str | None = None,
    note: str | None = None,
) -> dict:
    """Change on_hand/reserved/incoming of one stock row and append its ledger row.

    Raises InsufficientStock (checked here, and by the CHECK constraints as a backstop)
    when the result would break on_hand >= 0, 0 <= reserved <= on_hand or incoming >= 0.
    Returns the stock row after the change.
    """
    before = cur.execute(
        "SELECT on_hand, reserved, incoming FROM stock "
        "WHERE location_id = %s AND sku = %s FOR UPDATE",
        (location_id, sku),
    ).fetchone()
    if before is None:
        raise NotFound(f"{sku} is not stocked at {location_id}.")
    on_hand = before["on_hand"] + delta_on_hand
    reserved = before["reserved"] + delta_reserved
    incoming = before["incoming"] + delta_incoming
    available = before["on_hand"] - before["reserved"]
    if on_hand < 0 or reserved > on_hand:
        raise InsufficientStock(
            f"Only {available} of {sku} available at {location_id} "
            f"(on hand {before['on_hand']}, reserved {before['reserved']}); "
            f"this needs {max(-delta_on_hand, 0) + max(delta_reserved, 0)}."
        )
    if reserved < 0:
        raise InsufficientStock(
            f"Only {before['reserved']} of {sku} is reserved at {location_id}; "
            f"cannot release {-delta_reserved}."
        )
    if incoming < 0:
        raise InsufficientStock(
            f"Only {before['incoming']} of {sku} is incoming at {location_id}."
        )
    try:
        after = cur.execute(
            "UPDATE stock SET on_hand = on_hand + %s, reserved = reserved + %s, "
            "incoming = incoming + %s, version = version + 1, updated_at = now() "
            "WHERE location_id = %s AND sku = %s "
            "RETURNING location_id, sku, on_hand, reserved, incoming, reorder_point, version",
            (delta_on_hand, delta_reserved, delta_incoming, location_id, sku),
        ).fetchone()
    except pgerrors.CheckViolation as exc:
        raise InsufficientStock(f"Not enough {sku} at {location_id}.") from exc
    cur.execute(
        "INSERT INTO stock_movements (location_id, sku, kind, reason, delta_on_hand, "
        "delta_reserved, delta_incoming, ref_type, ref_id, actor, note) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (location_id, sku, kind, reason, delta_on_hand, delta_reserved, delta_incoming,
         ref_type, ref_id, actor, note),
    )
    return after
