"""The one primitive that changes a stock row: it writes the ledger row in the same transaction.

Callers run inside run_transaction / run_command; nothing here commits.
"""

from __future__ import annotations

from psycopg import errors as pgerrors

from queries.errors import InsufficientStock, NotFound

# One round trip: the guarded UPDATE locks and changes the row only if the result keeps
# on_hand >= 0, 0 <= reserved <= on_hand and incoming >= 0 (the CHECK constraints say the
# same), and the ledger row is inserted from what the UPDATE returned. Data-modifying CTEs
# run on PostgreSQL and CockroachDB alike.
_MOVE = """
WITH moved AS (
    UPDATE stock
       SET on_hand = on_hand + %(d_on_hand)s, reserved = reserved + %(d_reserved)s,
           incoming = incoming + %(d_incoming)s, version = version + 1, updated_at = now()
     WHERE location_id = %(location_id)s AND sku = %(sku)s
       AND on_hand + %(d_on_hand)s >= 0
       AND reserved + %(d_reserved)s >= 0
       AND reserved + %(d_reserved)s <= on_hand + %(d_on_hand)s
       AND incoming + %(d_incoming)s >= 0
    RETURNING location_id, sku, on_hand, reserved, incoming, reorder_point, version
), ledger AS (
    INSERT INTO stock_movements (location_id, sku, kind, reason, delta_on_hand, delta_reserved,
                                 delta_incoming, ref_type, ref_id, actor, note)
    SELECT location_id, sku, %(kind)s, %(reason)s, %(d_on_hand)s, %(d_reserved)s,
           %(d_incoming)s, %(ref_type)s, %(ref_id)s, %(actor)s, %(note)s
      FROM moved
    RETURNING id
)
SELECT moved.* FROM moved
"""


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

    Raises InsufficientStock when the result would break on_hand >= 0,
    0 <= reserved <= on_hand or incoming >= 0 (the CHECK constraints are the backstop), and
    NotFound when the SKU is not stocked there. Returns the stock row after the change.
    """
    params = {
        "location_id": location_id, "sku": sku, "kind": kind, "reason": reason,
        "d_on_hand": delta_on_hand, "d_reserved": delta_reserved, "d_incoming": delta_incoming,
        "ref_type": ref_type, "ref_id": ref_id, "actor": actor, "note": note,
    }
    try:
        after = cur.execute(_MOVE, params).fetchone()
    except pgerrors.CheckViolation as exc:
        raise InsufficientStock(f"Not enough {sku} at {location_id}.") from exc
    if after is None:
        raise _why_refused(cur, location_id, sku, delta_on_hand, delta_reserved)
    return after


def _why_refused(cur, location_id: str, sku: str, delta_on_hand: int,
                 delta_reserved: int) -> Exception:
    """The sentence for a movement the guarded UPDATE refused (same snapshot, so it agrees)."""
    row = cur.execute(
        "SELECT on_hand, reserved, incoming FROM stock WHERE location_id = %s AND sku = %s",
        (location_id, sku),
    ).fetchone()
    if row is None:
        return NotFound(f"{sku} is not stocked at {location_id}.")
    available = row["on_hand"] - row["reserved"]
    on_hand = row["on_hand"] + delta_on_hand
    reserved = row["reserved"] + delta_reserved
    if on_hand < 0 or reserved > on_hand:
        return InsufficientStock(
            f"Only {available} of {sku} available at {location_id} "
            f"(on hand {row['on_hand']}, reserved {row['reserved']}); "
            f"this needs {max(-delta_on_hand, 0) + max(delta_reserved, 0)}."
        )
    if reserved < 0:
        return InsufficientStock(
            f"Only {row['reserved']} of {sku} is reserved at {location_id}; "
            f"cannot release {-delta_reserved}."
        )
    return InsufficientStock(f"Only {row['incoming']} of {sku} is incoming at {location_id}.")
