"""Order commands: placing orders and the fixes support staff make.

Every command is one SERIALIZABLE transaction through run_command (idempotency key, retries),
checks permission where the write happens, checks the transition in queries.order_states,
changes stock only through queries.reservations / queries.stock_ledger, refuses a stale edit
(optimistic concurrency on orders.version) and appends one order_events row. Invalid input
raises a typed DomainError before anything is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from psycopg.types.json import Jsonb

from queries import allocation, locations, order_returns, permissions, reservations
from queries import order_states as states
from queries.actor import Actor
from queries.catalog import add_stock_row
from queries.customers import customer_in_tx
from queries.db import fetch_all
from queries.errors import (
    InsufficientStock,
    InvalidInput,
    InvalidTransition,
    NotFound,
    StaleVersion,
)
from queries.idempotency import run_command
from queries.ids import parse_id
from queries.lock_order import in_lock_order
from queries.quantities import positive
from queries.region_scope import region_condition
from queries.stock_ledger import apply_movement
from queries.text_input import MAX_ADDRESS, MAX_IDENTIFIER, MAX_REASON, clean_note, required_text
from queries.vocabulary import EventKind, MovementKind

MAX_LINES = 100
DEFAULT_PROMISE = timedelta(days=3)

ORDER_COLUMNS = (
    "id, customer_id, region, status, held_from_status, fulfilment_location_id, ship_address, "
    "total, promised_by, created_at, updated_at, updated_by, version"
)


# ---------------------------------------------------------------- input checks (nothing written)

def clean_lines(lines) -> list[tuple[str, int]]:
    """[(sku, qty)] from tuples or {"sku", "qty"} dicts."""
    cleaned = []
    for line in lines or []:
        sku, qty = (line["sku"], line["qty"]) if isinstance(line, dict) else line
        sku = required_text(sku, "SKU", MAX_IDENTIFIER)
        cleaned.append((sku, positive(qty)))
    if not cleaned:
        raise InvalidInput("An order needs at least one line.")
    if len(cleaned) > MAX_LINES:
        raise InvalidInput(f"An order can have at most {MAX_LINES} lines.")
    return cleaned


# ---------------------------------------------------------------- helpers inside a transaction

def _json(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _lock_order(cur, order_id: str) -> dict:
    order = cur.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = %s FOR UPDATE", (order_id,)
    ).fetchone()
    if order is None:
        raise NotFound(f"There is no order {order_id}.")
    return order


def _check_version(order: dict, expected_version: int | None) -> None:
    if expected_version is not None and order["version"] != expected_version:
        raise StaleVersion(
            f"This order was changed by {order['updated_by']} at {_utc_text(order['updated_at'])}; "
            "reload."
        )


def _lines(cur, order_id: str) -> list[dict]:
    return cur.execute(
        "SELECT line_no, sku, qty, unit_price, location_id, reserved_qty, returned_qty "
        "FROM order_lines "
        "WHERE order_id = %s ORDER BY line_no",
        (order_id,),
    ).fetchall()


def _line(lines: list[dict], line_no: int) -> dict:
    for line in lines:
        if line["line_no"] == line_no:
            return line
    raise NotFound(f"This order has no line {line_no}.")


def _product(cur, sku: str) -> dict:
    product = cur.execute(
        "SELECT sku, unit_price, active FROM products WHERE sku = %s", (sku,)
    ).fetchone()
    if product is None:
        raise NotFound(f"There is no product {sku!r}.")
    if not product["active"]:
        raise InvalidInput(f"{sku} is no longer sold.")
    return product


def _destination(cur, order: dict) -> allocation.Destination:
    customer = customer_in_tx(cur, order["customer_id"]) or {}
    return allocation.Destination(order["region"], customer.get("lat"), customer.get("lon"))


def _update_order(cur, order_id: str, actor: Actor, **changes) -> int:
    """Bump version, stamp who and when, apply column changes; returns the new version."""
    sets = "".join(f", {column} = %s" for column in changes)
    row = cur.execute(
        f"UPDATE orders SET version = version + 1, updated_by = %s, updated_at = now(){sets} "
        "WHERE id = %s RETURNING version",
        (actor.username, *changes.values(), order_id),
    ).fetchone()
    return row["version"]


def _recompute_total(cur, order_id: str) -> Decimal:
    row = cur.execute(
        "SELECT coalesce(sum(qty * unit_price), 0) AS total FROM order_lines WHERE order_id = %s",
        (order_id,),
    ).fetchone()
    return row["total"]


def _event(cur, order_id: str, actor: Actor, kind: EventKind, from_status: str | None,
           to_status: str | None, details: dict, note: str | None) -> None:
    cur.execute(
        "INSERT INTO order_events (order_id, actor, kind, from_status, to_status, details, note) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (order_id, actor.username, kind, from_status, to_status,
         Jsonb({k: _json(v) for k, v in details.items()}), note),
    )


def _reserve_line(cur, actor: Actor, order_id: str, line_no: int, sku: str, qty: int,
                  location_id: str) -> None:
    reservations.reserve(cur, location_id=location_id, sku=sku, qty=qty, actor=actor.username,
                         order_id=order_id, note=f"line {line_no}")


def _release_line(cur, actor: Actor, order_id: str, line: dict) -> dict | None:
    """Give back what one line holds; returns what was released (None if it held nothing)."""
    if line["reserved_qty"] <= 0:
        return None
    reservations.release(cur, location_id=line["location_id"], sku=line["sku"],
                         qty=line["reserved_qty"], actor=actor.username, order_id=order_id,
                         note=f"line {line['line_no']}")
    return {"line_no": line["line_no"], "sku": line["sku"], "qty": line["reserved_qty"],
            "location_id": line["location_id"]}


def _set_line(cur, order_id: str, line_no: int, **changes) -> None:
    sets = ", ".join(f"{column} = %s" for column in changes)
    cur.execute(
        f"UPDATE order_lines SET {sets} WHERE order_id = %s AND line_no = %s",
        (*changes.values(), order_id, line_no),
    )


def _result(order_id: str, status: str, version: int, **extra) -> dict:
    return {"order_id": order_id, "status": status, "version": version,
            **{k: _json(v) for k, v in extra.items()}}


def _fix(command: str, actor: Actor, order_id, expected_version: int | None, key: str | None,
         body: Callable[[object, dict], dict]) -> dict:
    """Run one support fix: lock the order, check permission in its region and its version."""
    permissions.require(actor, "order.fix")
    oid = parse_id(order_id, "order")

    def tx(cur) -> dict:
        order = _lock_order(cur, oid)
        permissions.require(actor, "order.fix", order["region"])
        _check_version(order, expected_version)
        return body(cur, order)

    return run_command(command, actor, key, tx)


# ---------------------------------------------------------------- placing and allocating

def _allocate_all(cur, actor: Actor, order_id: str, lines: list[dict],
                  destination: allocation.Destination) -> tuple[dict[int, str | None], bool]:
    """Plan every line; if every line has a location, reserve them all. All or nothing."""
    wants = [allocation.Want(line["line_no"], line["sku"], line["qty"]) for line in lines]
    chosen = allocation.plan(cur, wants, destination)
    complete = all(chosen.values())
    if complete:
        for want in in_lock_order(wants, lambda w: (chosen[w.line_no], w.sku)):
            _reserve_line(cur, actor, order_id, want.line_no, want.sku, want.qty, chosen[want.line_no])
    return chosen, complete


def place_order(actor: Actor, customer_id, lines, *, ship_address: str | None = None,
                promised_by: datetime | None = None, note: str | None = None,
                idempotency_key: str | None = None) -> dict:
    """Place an order and reserve its stock in one transaction.

    lines: [(sku, qty)] or [{"sku", "qty"}]. Every line is allocated (preferring the customer's
    region, then the nearest location) and reserved; if any line cannot be, nothing is reserved
    and the order stays `pending` (back-ordered) with the short lines named in its event.
    """
    permissions.require(actor, "order.place")
    wanted = clean_lines(lines)
    note = clean_note(note)
    if ship_address is not None:
        ship_address = required_text(ship_address, "shipping address", MAX_ADDRESS)
    customer_id = parse_id(customer_id, "customer")

    def body(cur) -> dict:
        customer = customer_in_tx(cur, customer_id)
        if customer is None:
            raise NotFound(f"There is no customer {customer_id}.")
        permissions.require(actor, "order.place", customer["region"])
        prices = {sku: _product(cur, sku)["unit_price"] for sku, _ in wanted}
        order_id = str(uuid.uuid4())
        order_lines = [
            {"line_no": n, "sku": sku, "qty": qty, "unit_price": prices[sku]}
            for n, (sku, qty) in enumerate(wanted, start=1)
        ]
        destination = allocation.Destination(customer["region"], customer["lat"], customer["lon"])
        wants = [allocation.Want(line["line_no"], line["sku"], line["qty"]) for line in order_lines]
        chosen = allocation.plan(cur, wants, destination)
        complete = all(chosen.values())
        for line in order_lines:
            line["location_id"] = chosen[line["line_no"]] if complete else None
            line["reserved_qty"] = line["qty"] if complete else 0
        status = states.ALLOCATED if complete else states.PENDING
        total = sum((line["qty"] * line["unit_price"] for line in order_lines), Decimal(0))
        cur.execute(
            "INSERT INTO orders (id, customer_id, region, status, fulfilment_location_id, "
            "ship_address, total, promised_by, updated_by) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (order_id, customer_id, customer["region"], status,
             allocation.main_location(order_lines), ship_address or customer["address"], total,
             promised_by or datetime.now(UTC) + DEFAULT_PROMISE, actor.username),
        )
        cur.executemany(
            "INSERT INTO order_lines (order_id, line_no, sku, qty, unit_price, location_id, "
            "reserved_qty) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [(order_id, line["line_no"], line["sku"], line["qty"], line["unit_price"],
              line["location_id"], line["reserved_qty"]) for line in order_lines],
        )
        if complete:
            for line in in_lock_order(order_lines):
                _reserve_line(cur, actor, order_id, line["line_no"], line["sku"], line["qty"],
                              line["location_id"])
        back_ordered = [{"line_no": w.line_no, "sku": w.sku, "qty": w.qty}
                        for w in wants if chosen[w.line_no] is None]
        _event(cur, order_id, actor, EventKind.PLACED, None, status, {
            "lines": [{"line_no": line["line_no"], "sku": line["sku"], "qty": line["qty"],
                       "location_id": line["location_id"]} for line in order_lines],
            "back_ordered": back_ordered,
        }, note)
        return _result(order_id, status, 1, total=total, back_ordered=back_ordered)

    return run_command("order.place", actor, idempotency_key, body)


def _short_lines_sentence(lines: list[dict], chosen: dict[int, str | None]) -> str:
    short = [f"line {line['line_no']} ({line['qty']} × {line['sku']})"
             for line in lines if chosen.get(line["line_no"]) is None]
    return ("Cannot allocate yet: no active location has enough available for "
            + ", ".join(short) + ".")


def allocate_pending(actor: Actor, order_id, *, expected_version: int | None,
                     idempotency_key: str | None = None, note: str | None = None) -> dict:
    """(Re)try allocating a pending (back-ordered) order: all lines or nothing."""
    note = clean_note(note)

    def body(cur, order):
        states.check_transition(order["status"], states.ALLOCATED)
        lines = _lines(cur, order["id"])
        chosen, complete = _allocate_all(cur, actor, str(order["id"]), lines, _destination(cur, order))
        if not complete:
            raise InsufficientStock(_short_lines_sentence(lines, chosen))
        for line in lines:
            _set_line(cur, order["id"], line["line_no"], location_id=chosen[line["line_no"]],
                      reserved_qty=line["qty"])
            line["location_id"] = chosen[line["line_no"]]
        version = _update_order(cur, order["id"], actor, status=states.ALLOCATED,
                                fulfilment_location_id=allocation.main_location(lines))
        _event(cur, order["id"], actor, EventKind.ALLOCATED, order["status"], states.ALLOCATED, {
            "lines": [{"line_no": n, "location_id": loc} for n, loc in chosen.items()],
        }, note)
        return _result(str(order["id"]), states.ALLOCATED, version)

    return _fix("order.allocate", actor, order_id, expected_version, idempotency_key, body)


def allocate_waiting_orders(actor: Actor, limit: int = 50, skus: list[str] | None = None) -> dict:
    """Try to allocate the oldest pending orders (after stock arrived), only those with a line
    of `skus` if given; skips those still short."""
    permissions.require(actor, "order.fix")
    scope, params = region_condition(actor, "o.region")
    where = [f"o.status = '{states.PENDING}'", scope]
    if skus is not None:
        where.append("""EXISTS (
            SELECT 1
              FROM order_lines ol
             WHERE ol.order_id = o.id
               AND ol.sku = ANY(%(skus)s))""")
        params["skus"] = list(skus)
    waiting = fetch_all(f"""
        SELECT o.id, o.version
          FROM orders o
         WHERE {" AND ".join(where)}
         ORDER BY o.created_at
         LIMIT %(limit)s
    """, {**params, "limit": limit})
    allocated = still_short = 0
    for row in waiting:
        try:
            allocate_pending(actor, row["id"], expected_version=row["version"])
            allocated += 1
        except (InsufficientStock, StaleVersion, InvalidTransition):
            still_short += 1
    return {"tried": len(waiting), "allocated": allocated, "still_short": still_short}


# ---------------------------------------------------------------- status changes

def _move(actor: Actor, order_id, target: str, kind: EventKind, expected_version: int | None,
          key: str | None, note: str | None, on_lines=None, extra_changes=None) -> dict:
    """A plain status change; on_lines(cur, order, lines) -> details does the stock part."""
    note = clean_note(note)

    def body(cur, order):
        states.check_transition(order["status"], target)
        details = {}
        if on_lines is not None:
            details = on_lines(cur, order, _lines(cur, order["id"]))
        changes = {"status": target, "held_from_status": None}
        changes.update(extra_changes(order) if extra_changes else {})
        version = _update_order(cur, order["id"], actor, **changes)
        _event(cur, order["id"], actor, kind, order["status"], target, details, note)
        return _result(str(order["id"]), target, version)

    return _fix(f"order.{kind}", actor, order_id, expected_version, key, body)


def cancel_order(actor: Actor, order_id, *, expected_version: int | None, idempotency_key: str | None = None,
                 note: str | None = None) -> dict:
    """Cancel before shipping; releases exactly what the order's lines hold."""

    def release_all(cur, order, lines):
        released = []
        for line in in_lock_order(lines):
            done = _release_line(cur, actor, str(order["id"]), line)
            if done:
                released.append(done)
            _set_line(cur, order["id"], line["line_no"], reserved_qty=0, location_id=None)
        return {"released": sorted(released, key=lambda item: item["line_no"])}

    return _move(actor, order_id, states.CANCELLED, EventKind.CANCELLED, expected_version,
                 idempotency_key, note, on_lines=release_all,
                 extra_changes=lambda order: {"fulfilment_location_id": None})


def hold_order(actor: Actor, order_id, *, expected_version: int | None, idempotency_key: str | None = None,
               note: str | None = None) -> dict:
    """Put an open order on hold; its reservations stay where they are."""
    note = clean_note(note)

    def body(cur, order):
        states.check_transition(order["status"], states.ON_HOLD)
        version = _update_order(cur, order["id"], actor, status=states.ON_HOLD,
                                held_from_status=order["status"])
        _event(cur, order["id"], actor, EventKind.HELD, order["status"], states.ON_HOLD,
               {"held_from_status": order["status"]}, note)
        return _result(str(order["id"]), states.ON_HOLD, version)

    return _fix("order.hold", actor, order_id, expected_version, idempotency_key, body)


def release_hold(actor: Actor, order_id, *, expected_version: int | None, idempotency_key: str | None = None,
                 note: str | None = None) -> dict:
    """Take an order off hold, back to the status it was held from."""
    note = clean_note(note)

    def body(cur, order):
        target = states.hold_release_target(order["status"], order["held_from_status"])
        version = _update_order(cur, order["id"], actor, status=target, held_from_status=None)
        _event(cur, order["id"], actor, EventKind.HOLD_RELEASED, states.ON_HOLD, target, {}, note)
        return _result(str(order["id"]), target, version)

    return _fix("order.release_hold", actor, order_id, expected_version, idempotency_key, body)


def mark_picking(actor: Actor, order_id, *, expected_version: int | None, idempotency_key: str | None = None,
                 note: str | None = None) -> dict:
    return _move(actor, order_id, states.PICKING, EventKind.PICKING, expected_version, idempotency_key, note)


def mark_shipped(actor: Actor, order_id, *, expected_version: int | None, idempotency_key: str | None = None,
                 note: str | None = None) -> dict:
    """Shipping consumes the reservation: reserved and on_hand both go down, with ledger rows."""

    def consume_all(cur, order, lines):
        consumed = []
        for line in in_lock_order(lines):
            reservations.consume(cur, location_id=line["location_id"], sku=line["sku"],
                                 qty=line["reserved_qty"], actor=actor.username,
                                 order_id=str(order["id"]))
            _set_line(cur, order["id"], line["line_no"], reserved_qty=0)
            consumed.append({"line_no": line["line_no"], "sku": line["sku"],
                             "qty": line["reserved_qty"], "location_id": line["location_id"]})
        return {"consumed": sorted(consumed, key=lambda item: item["line_no"])}

    return _move(actor, order_id, states.SHIPPED, EventKind.SHIPPED, expected_version, idempotency_key, note,
                 on_lines=consume_all)


def mark_delivered(actor: Actor, order_id, *, expected_version: int | None,
                   idempotency_key: str | None = None, note: str | None = None) -> dict:
    return _move(actor, order_id, states.DELIVERED, EventKind.DELIVERED, expected_version,
                 idempotency_key, note)


def accept_return(actor: Actor, order_id, *, location_id: str, reason: str,
                  expected_version: int | None, idempotency_key: str | None = None,
                  note: str | None = None, quantities: dict[int, int] | None = None) -> dict:
    """Goods of a delivered order come back and are restocked at `location_id`, with a reason.

    `quantities` maps line numbers to the units coming back now; None means every unit still
    out. The order becomes `returned` when every unit is back and stays `delivered` before."""
    reason = required_text(reason, "return reason", MAX_REASON)
    location_id = required_text(location_id, "restock location", MAX_IDENTIFIER)
    wanted = order_returns.clean_return_quantities(quantities)
    note = clean_note(note)

    def body(cur, order):
        states.check_transition(order["status"], states.RETURNED)
        locations.active_for(cur, actor, "order.fix", location_id)
        lines = _lines(cur, order["id"])
        plan = order_returns.plan_return(lines, wanted)
        # One restock location, so the lock order is the SKU's; lines of one SKU keep theirs.
        for item in in_lock_order(plan, lambda item: (location_id, item.sku)):
            add_stock_row(cur, location_id, item.sku)
            apply_movement(cur, location_id=location_id, sku=item.sku, kind=MovementKind.RETURN,
                           actor=actor.username, delta_on_hand=item.qty, reason=reason,
                           ref_type="order", ref_id=str(order["id"]), note=f"line {item.line_no}")
            cur.execute(
                "UPDATE order_lines SET returned_qty = returned_qty + %s "
                "WHERE order_id = %s AND line_no = %s",
                (item.qty, order["id"], item.line_no),
            )
        units = sum(item.qty for item in plan)
        still_out = sum(line["qty"] - line["returned_qty"] for line in lines) - units
        complete = still_out == 0
        target = states.RETURNED if complete else order["status"]
        version = _update_order(cur, order["id"], actor, status=target)
        details = {"location_id": location_id, "reason": reason, "still_out": still_out,
                   "restocked": [{"line_no": i.line_no, "sku": i.sku, "qty": i.qty}
                                 for i in plan]}
        _event(cur, order["id"], actor, EventKind.RETURNED if complete else EventKind.PARTIALLY_RETURNED,
               order["status"], target, details, note)
        return _result(str(order["id"]), target, version, units=units, still_out=still_out)

    return _fix("order.returned", actor, order_id, expected_version, idempotency_key, body)


# ---------------------------------------------------------------- line fixes

def change_line_qty(actor: Actor, order_id, *, line_no: int, qty: int, expected_version: int | None,
                    idempotency_key: str | None = None, note: str | None = None) -> dict:
    """Change a line's quantity; an allocated order reserves or releases the difference."""
    qty = positive(qty)
    note = clean_note(note)

    def body(cur, order):
        states.check_lines_editable(order["status"], order["held_from_status"])
        line = _line(_lines(cur, order["id"]), line_no)
        if line["qty"] == qty:
            raise InvalidInput(f"Line {line_no} already has quantity {qty}.")
        diff = qty - line["qty"]
        oid = str(order["id"])
        if line["reserved_qty"] > 0:
            if diff > 0:
                _reserve_line(cur, actor, oid, line_no, line["sku"], diff, line["location_id"])
            else:
                reservations.release(cur, location_id=line["location_id"], sku=line["sku"],
                                     qty=-diff, actor=actor.username, order_id=oid,
                                     note=f"line {line_no}")
            _set_line(cur, order["id"], line_no, qty=qty, reserved_qty=qty)
        else:
            _set_line(cur, order["id"], line_no, qty=qty)
        version = _update_order(cur, order["id"], actor, total=_recompute_total(cur, order["id"]))
        _event(cur, order["id"], actor, EventKind.LINE_QTY_CHANGED, order["status"], order["status"], {
            "line_no": line_no, "sku": line["sku"], "from_qty": line["qty"], "to_qty": qty,
            "location_id": line["location_id"],
        }, note)
        return _result(oid, order["status"], version)

    return _fix("order.change_line_qty", actor, order_id, expected_version, idempotency_key, body)


def add_line(actor: Actor, order_id, *, sku: str, qty: int, expected_version: int | None,
             idempotency_key: str | None = None, note: str | None = None) -> dict:
    """Add a line; on an allocated order it is allocated and reserved at once (or refused)."""
    sku = required_text(sku, "SKU", MAX_IDENTIFIER)
    qty = positive(qty)
    note = clean_note(note)

    def body(cur, order):
        states.check_lines_editable(order["status"], order["held_from_status"])
        lines = _lines(cur, order["id"])
        if len(lines) >= MAX_LINES:
            raise InvalidInput(f"An order can have at most {MAX_LINES} lines.")
        product = _product(cur, sku)
        line_no = max((line["line_no"] for line in lines), default=0) + 1
        oid = str(order["id"])
        location_id, reserved = None, 0
        holds = states.effective_status(order["status"], order["held_from_status"]) == states.ALLOCATED
        if holds:
            location_id = allocation.plan(
                cur, [allocation.Want(line_no, sku, qty)], _destination(cur, order))[line_no]
            if location_id is None:
                raise InsufficientStock(f"No active location has {qty} of {sku} available.")
            reserved = qty
        cur.execute(
            "INSERT INTO order_lines (order_id, line_no, sku, qty, unit_price, location_id, "
            "reserved_qty) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (oid, line_no, sku, qty, product["unit_price"], location_id, reserved),
        )
        if holds:
            _reserve_line(cur, actor, oid, line_no, sku, qty, location_id)
        changes = {"total": _recompute_total(cur, order["id"])}
        if holds:
            changes["fulfilment_location_id"] = allocation.main_location(_lines(cur, order["id"]))
        version = _update_order(cur, order["id"], actor, **changes)
        _event(cur, order["id"], actor, EventKind.LINE_ADDED, order["status"], order["status"], {
            "line_no": line_no, "sku": sku, "qty": qty, "location_id": location_id,
        }, note)
        return _result(oid, order["status"], version, line_no=line_no)

    return _fix("order.add_line", actor, order_id, expected_version, idempotency_key, body)


def remove_line(actor: Actor, order_id, *, line_no: int, expected_version: int | None,
                idempotency_key: str | None = None, note: str | None = None) -> dict:
    """Remove a line and release what it held. The last line cannot go (cancel instead)."""
    note = clean_note(note)

    def body(cur, order):
        states.check_lines_editable(order["status"], order["held_from_status"])
        lines = _lines(cur, order["id"])
        line = _line(lines, line_no)
        if len(lines) == 1:
            raise InvalidInput("An order needs at least one line; cancel the order instead.")
        oid = str(order["id"])
        released = _release_line(cur, actor, oid, line)
        cur.execute("DELETE FROM order_lines WHERE order_id = %s AND line_no = %s", (oid, line_no))
        remaining = [other for other in lines if other["line_no"] != line_no]
        version = _update_order(cur, order["id"], actor, total=_recompute_total(cur, order["id"]),
                                fulfilment_location_id=allocation.main_location(remaining))
        _event(cur, order["id"], actor, EventKind.LINE_REMOVED, order["status"], order["status"], {
            "line_no": line_no, "sku": line["sku"], "qty": line["qty"], "released": released,
        }, note)
        return _result(oid, order["status"], version)

    return _fix("order.remove_line", actor, order_id, expected_version, idempotency_key, body)


def reallocate_line(actor: Actor, order_id, *, line_no: int, location_id: str,
                    expected_version: int | None, idempotency_key: str | None = None,
                    note: str | None = None) -> dict:
    """Move an allocated line's reservation to another location (refused if not available there)."""
    location_id = required_text(location_id, "location", MAX_IDENTIFIER)
    note = clean_note(note)

    def body(cur, order):
        states.check_lines_editable(order["status"], order["held_from_status"])
        lines = _lines(cur, order["id"])
        line = _line(lines, line_no)
        if line["reserved_qty"] <= 0:
            raise InvalidInput(
                f"Line {line_no} is not allocated yet (the order is pending); allocate the order instead."
            )
        if line["location_id"] == location_id:
            raise InvalidInput(f"Line {line_no} is already allocated to {location_id}.")
        locations.active_for(cur, actor, "order.fix", location_id)
        oid = str(order["id"])
        previous = line["location_id"]
        steps = [
            {"location_id": previous, "sku": line["sku"],
             "run": lambda: _release_line(cur, actor, oid, line)},
            {"location_id": location_id, "sku": line["sku"],
             "run": lambda: _reserve_line(cur, actor, oid, line_no, line["sku"], line["qty"],
                                          location_id)},
        ]
        for step in in_lock_order(steps):
            step["run"]()
        _set_line(cur, order["id"], line_no, location_id=location_id, reserved_qty=line["qty"])
        line["location_id"] = location_id
        version = _update_order(cur, order["id"], actor,
                                fulfilment_location_id=allocation.main_location(lines))
        _event(cur, order["id"], actor, EventKind.LINE_REALLOCATED, order["status"], order["status"], {
            "line_no": line_no, "sku": line["sku"], "qty": line["qty"],
            "from_location_id": previous, "to_location_id": location_id,
        }, note)
        return _result(oid, order["status"], version)

    return _fix("order.reallocate_line", actor, order_id, expected_version, idempotency_key, body)


# ---------------------------------------------------------------- other fixes

def change_shipping_address(actor: Actor, order_id, *, address: str, expected_version: int | None,
                            idempotency_key: str | None = None, note: str | None = None) -> dict:
    address = required_text(address, "shipping address", MAX_ADDRESS)
    note = clean_note(note)

    def body(cur, order):
        states.check_address_editable(order["status"])
        if order["ship_address"] == address:
            raise InvalidInput("The order already ships to that address.")
        version = _update_order(cur, order["id"], actor, ship_address=address)
        _event(cur, order["id"], actor, EventKind.ADDRESS_CHANGED, order["status"], order["status"], {
            "from_address": order["ship_address"], "to_address": address,
        }, note)
        return _result(str(order["id"]), order["status"], version)

    return _fix("order.change_address", actor, order_id, expected_version, idempotency_key, body)


def add_note(actor: Actor, order_id, *, note: str, expected_version: int | None,
             idempotency_key: str | None = None) -> dict:
    note = clean_note(note, required=True)

    def body(cur, order):
        version = _update_order(cur, order["id"], actor)
        _event(cur, order["id"], actor, EventKind.NOTE, order["status"], order["status"], {}, note)
        return _result(str(order["id"]), order["status"], version)

    return _fix("order.add_note", actor, order_id, expected_version, idempotency_key, body)
