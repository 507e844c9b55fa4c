"""Transfers between locations: ship (create), receive (possibly short) and cancel.

Ledger rows (all with ref_type 'transfer' and ref_id = the transfer id):

| step     | source row                        | destination row                                   |
|----------|-----------------------------------|---------------------------------------------------|
| ship     | transfer_out: on_hand -qty        | transfer_in_transit: incoming +qty                |
| receive  |                                   | transfer_in: incoming -received, on_hand +received |
| short    |                                   | transfer_shortfall: incoming -(qty - received),   |
|          |                                   | reason = the shortfall reason (a loss)            |
| cancel   | transfer_return: on_hand +qty     | transfer_cancel: incoming -qty                    |

So stock.incoming at a destination always equals the qty of its in_transit transfers, and
on_hand + in-transit qty changes only by the shortfall, which is recorded as a loss with its
reason in the `transfer_shortfall` row (invariant 3 of DESIGN.md).

Lock order, to keep deadlocks away: the transfer row first, then stock rows in
queries.lock_order's (location_id, sku) order.
"""

from __future__ import annotations

from dataclasses import dataclass

from queries import permissions
from queries.actor import Actor
from queries.catalog import (
    add_stock_row,
    clean_transfer_ends,
    transfer_ends,
)
from queries.db import read
from queries.errors import (
    AlreadyDone,
    InsufficientStock,
    InvalidInput,
    InvalidQuantity,
    InvalidTransition,
    NotFound,
)
from queries.idempotency import run_command
from queries.ids import parse_id
from queries.locations import region_of
from queries.lock_order import in_lock_order
from queries.quantities import non_negative, positive
from queries.stock_ledger import apply_movement
from queries.text_input import clean_note
from queries.vocabulary import MovementKind, ShortfallReason, TransferStatus

# Declared in queries.vocabulary (ShortfallReason); this mapping stays for the callers.
SHORTFALL_REASONS: dict[str, str] = {reason: reason.label for reason in ShortfallReason}


def _apply_in_lock_order(cur, movements: list[dict]) -> None:
    for movement in in_lock_order(movements):
        apply_movement(cur, **movement)


@dataclass(frozen=True)
class _NewTransfer:
    transfer_id: str
    from_location_id: str
    to_location_id: str
    sku: str
    from_region: str
    stocked_at_destination: bool


def _insert_transfer(cur, actor: Actor, source: str, destination: str, sku: str, qty: int,
                     note: str | None) -> _NewTransfer:
    """Insert the transfer if both ends and the product are active and the source stocks the
    SKU: one round trip on the good path; otherwise transfer_ends() says what is wrong."""
    row = cur.execute(
        "WITH ends AS (SELECT lf.region AS from_region, EXISTS (SELECT 1 FROM stock st "
        "WHERE st.location_id = lt.id AND st.sku = p.sku) AS stocked_at_destination "
        "FROM locations lf JOIN stock sf ON sf.location_id = lf.id "
        "JOIN products p ON p.sku = sf.sku CROSS JOIN locations lt "
        "WHERE lf.id = %s AND lt.id = %s AND p.sku = %s AND lf.active AND lt.active "
        "AND p.active), "
        "created AS (INSERT INTO transfers (from_location_id, to_location_id, sku, qty, note, "
        "created_by) SELECT %s, %s, %s, %s, %s, %s FROM ends RETURNING id) "
        "SELECT created.id, ends.from_region, ends.stocked_at_destination FROM created, ends",
        (source, destination, sku, source, destination, sku, qty, note, actor.username),
    ).fetchone()
    if row is None:
        ends = transfer_ends(cur, source, destination, sku)
        raise InsufficientStock(f"{ends.sku} is not stocked at {ends.from_location_id}.")
    return _NewTransfer(str(row["id"]), source, destination, sku, row["from_region"],
                        row["stocked_at_destination"])


def create_transfer(actor: Actor, *, from_location_id: str, to_location_id: str, sku: str,
                    qty: int, idempotency_key: str | None, note: str | None = None) -> dict:
    """Ship qty of sku: source on_hand goes down now, destination incoming goes up."""
    permissions.require(actor, "transfer.create")
    qty = positive(qty, "The transfer quantity")
    note = clean_note(note)
    source, destination, sku_id = clean_transfer_ends(from_location_id, to_location_id, sku)
    return run_command("transfer.create", actor, idempotency_key,
                       lambda cur: ship_transfer_in_tx(cur, actor, source, destination, sku_id,
                                                       qty, note))


def ship_transfer_in_tx(cur, actor: Actor, source: str, destination: str, sku: str, qty: int,
                        note: str | None) -> dict:
    """The transfer's writes, inside the caller's transaction (ends and qty already clean)."""
    ends = _insert_transfer(cur, actor, source, destination, sku, qty, note)
    permissions.require(actor, "transfer.create", ends.from_region)
    if not ends.stocked_at_destination:
        add_stock_row(cur, ends.to_location_id, ends.sku)
    common = {"sku": ends.sku, "actor": actor.username, "ref_type": "transfer",
              "ref_id": ends.transfer_id}
    _apply_in_lock_order(cur, [
        {"location_id": ends.from_location_id, "kind": MovementKind.TRANSFER_OUT,
         "delta_on_hand": -qty, "note": note, **common},
        {"location_id": ends.to_location_id, "kind": MovementKind.TRANSFER_IN_TRANSIT,
         "delta_incoming": qty, **common},
    ])
    return {"transfer_id": ends.transfer_id, "status": TransferStatus.IN_TRANSIT,
            "from_location_id": ends.from_location_id, "to_location_id": ends.to_location_id,
            "sku": ends.sku, "qty": qty}


def _explain_not_open(cur, actor: Actor, transfer_id: str, action: str,
                      received_qty: int | None = None) -> None:
    """The transfer could not be closed: say why (always raises)."""
    row = cur.execute(
        "SELECT t.status, t.qty, t.closed_by, t.closed_at, lf.region AS from_region, "
        "lt.region AS to_region FROM transfers t "
        "JOIN locations lf ON lf.id = t.from_location_id "
        "JOIN locations lt ON lt.id = t.to_location_id WHERE t.id = %s",
        (transfer_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"There is no transfer {transfer_id}.")
    region = row["to_region"] if action == "transfer.receive" else _cancel_region(actor, row)
    permissions.require(actor, action, region)
    verb = (TransferStatus.RECEIVED if action == "transfer.receive"
            else TransferStatus.CANCELLED)
    when = f" by {row['closed_by']} at {row['closed_at']:%Y-%m-%d %H:%M}" if row["closed_by"] else ""
    if row["status"] == verb:
        raise AlreadyDone(f"Transfer {transfer_id} was already {verb}{when}.")
    if row["status"] != TransferStatus.IN_TRANSIT:
        raise InvalidTransition(f"Transfer {transfer_id} was {row['status']}{when}; "
                                f"it can no longer be {verb}.")
    raise InvalidQuantity(f"Cannot receive {received_qty}: transfer {transfer_id} shipped "
                          f"only {row['qty']}.")


def _cancel_region(actor: Actor, row: dict) -> str:
    """Either end may cancel: the region checked is one the actor covers, if any."""
    return row["from_region"] if actor.covers_region(row["from_region"]) else row["to_region"]


def receive_transfer(actor: Actor, *, transfer_id: str, idempotency_key: str | None,
                     received_qty: int | None = None, shortfall_reason: str | None = None,
                     note: str | None = None) -> dict:
    """Receive at the destination: incoming down by qty, on_hand up by what arrived.

    received_qty defaults to the shipped qty. A short receipt needs a shortfall_reason
    (SHORTFALL_REASONS); the missing units are written off in a `transfer_shortfall` row.
    """
    permissions.require(actor, "transfer.receive")
    transfer_id = parse_id(transfer_id, "transfer")
    if received_qty is not None:
        received_qty = non_negative(received_qty, "The received quantity")
    note = clean_note(note)

    def body(cur) -> dict:
        row = cur.execute(
            f"UPDATE transfers AS t SET status = '{TransferStatus.RECEIVED}', "
            "received_qty = COALESCE(%s::INT8, t.qty), closed_by = %s, closed_at = now(), "
            "version = t.version + 1 FROM locations AS l "
            f"WHERE t.id = %s AND t.status = '{TransferStatus.IN_TRANSIT}' AND l.id = t.to_location_id "
            "AND t.qty >= COALESCE(%s::INT8, t.qty) "
            "RETURNING t.from_location_id, t.to_location_id, t.sku, t.qty, t.received_qty, "
            "t.version, l.region AS to_region",
            (received_qty, actor.username, transfer_id, received_qty),
        ).fetchone()
        if row is None:
            _explain_not_open(cur, actor, transfer_id, "transfer.receive", received_qty)
        permissions.require(actor, "transfer.receive", row["to_region"])
        received, shortfall = row["received_qty"], row["qty"] - row["received_qty"]
        reason = _shortfall_reason(shortfall, shortfall_reason, note)
        common = {"location_id": row["to_location_id"], "sku": row["sku"],
                  "actor": actor.username, "ref_type": "transfer", "ref_id": transfer_id}
        if received:
            apply_movement(cur, kind=MovementKind.TRANSFER_IN, delta_incoming=-received,
                           delta_on_hand=received, note=note, **common)
        if shortfall:
            apply_movement(cur, kind=MovementKind.TRANSFER_SHORTFALL, delta_incoming=-shortfall,
                           reason=reason, note=note, **common)
        return {"transfer_id": transfer_id, "status": TransferStatus.RECEIVED, "qty": row["qty"],
                "received_qty": received, "shortfall": shortfall, "shortfall_reason": reason,
                "to_location_id": row["to_location_id"], "sku": row["sku"],
                "version": row["version"]}

    return run_command("transfer.receive", actor, idempotency_key, body)


def _shortfall_reason(shortfall: int, reason: str | None, note: str | None) -> str | None:
    if not shortfall:
        return None
    if reason not in SHORTFALL_REASONS:
        raise InvalidInput(f"{shortfall} units are missing: choose why "
                           f"({', '.join(SHORTFALL_REASONS)}).")
    if reason == ShortfallReason.OTHER and not note:
        raise InvalidInput("Please explain an 'other' shortfall in the note.")
    return reason


def cancel_transfer(actor: Actor, *, transfer_id: str, idempotency_key: str | None,
                    note: str | None = None) -> dict:
    """Cancel a transfer still in transit: the units go back on hand at the source."""
    permissions.require(actor, "transfer.cancel")
    transfer_id = parse_id(transfer_id, "transfer")
    note = clean_note(note)

    def body(cur) -> dict:
        row = cur.execute(
            f"UPDATE transfers AS t SET status = '{TransferStatus.CANCELLED}', closed_by = %s, "
            "closed_at = now(), "
            "version = t.version + 1 FROM locations AS lf, locations AS lt "
            f"WHERE t.id = %s AND t.status = '{TransferStatus.IN_TRANSIT}' "
            "AND lf.id = t.from_location_id AND lt.id = t.to_location_id "
            "RETURNING t.from_location_id, t.to_location_id, t.sku, t.qty, t.version, "
            "lf.region AS from_region, lt.region AS to_region",
            (actor.username, transfer_id),
        ).fetchone()
        if row is None:
            _explain_not_open(cur, actor, transfer_id, "transfer.cancel")
        permissions.require(actor, "transfer.cancel", _cancel_region(actor, row))
        common = {"sku": row["sku"], "actor": actor.username, "ref_type": "transfer",
                  "ref_id": transfer_id, "note": note}
        _apply_in_lock_order(cur, [
            {"location_id": row["to_location_id"], "kind": MovementKind.TRANSFER_CANCEL,
             "delta_incoming": -row["qty"], **common},
            {"location_id": row["from_location_id"], "kind": MovementKind.TRANSFER_RETURN,
             "delta_on_hand": row["qty"], **common},
        ])
        return {"transfer_id": transfer_id, "status": TransferStatus.CANCELLED, "qty": row["qty"],
                "from_location_id": row["from_location_id"], "sku": row["sku"],
                "version": row["version"]}

    return run_command("transfer.cancel", actor, idempotency_key, body)


# --- reads --------------------------------------------------------------------------------


def open_transfers(actor: Actor, location_id: str, limit: int = 500) -> list[dict]:
    """Transfers still in transit into ('in') or out of ('out') a location, oldest first."""

    def body(cur) -> list[dict]:
        permissions.require(actor, "stock.view", region_of(cur, location_id))
        return cur.execute(
            "SELECT t.id::TEXT AS transfer_id, "
            "CASE WHEN t.to_location_id = %s THEN 'in' ELSE 'out' END AS direction, "
            "t.from_location_id, t.to_location_id, t.sku, t.qty, t.note, t.created_by, "
            "t.created_at, t.version FROM transfers t "
            f"WHERE t.status = '{TransferStatus.IN_TRANSIT}' "
            "AND (t.to_location_id = %s OR t.from_location_id = %s) "
            "ORDER BY t.created_at, t.id LIMIT %s",
            (location_id, location_id, location_id, limit),
        ).fetchall()

    return read(body)


def transfer_by_id(actor: Actor, transfer_id: str) -> dict:
    transfer_id = parse_id(transfer_id, "transfer")

    def body(cur) -> dict:
        row = cur.execute(
            "SELECT t.id::TEXT AS transfer_id, t.from_location_id, t.to_location_id, t.sku, "
            "t.qty, t.received_qty, t.status, t.note, t.created_by, t.created_at, t.closed_by, "
            "t.closed_at, t.version, lf.region AS from_region, lt.region AS to_region "
            "FROM transfers t JOIN locations lf ON lf.id = t.from_location_id "
            "JOIN locations lt ON lt.id = t.to_location_id WHERE t.id = %s",
            (transfer_id,),
        ).fetchone()
        if row is None:
            raise NotFound(f"There is no transfer {transfer_id}.")
        if not (permissions.can(actor, "stock.view", row["from_region"])
                or permissions.can(actor, "stock.view", row["to_region"])):
            permissions.require(actor, "stock.view", row["to_region"])
        return row

    return read(body)
