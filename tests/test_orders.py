"""Order lifecycle and support fixes against a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from queries import order_states as states
from queries import orders, text_input
from queries.actor import Actor
from queries.db import fetch_one
from queries.errors import (
    Forbidden,
    InsufficientStock,
    InvalidInput,
    InvalidQuantity,
    InvalidTransition,
    NotFound,
    StaleVersion,
)
from queries.idempotency import new_key
from tests.factories import ADMIN, HQ, MANAGER_EU, SUPPORT_EU
from tests.order_helpers import (
    NEW_YORK,
    PARIS,
    assert_reservations_exact,
    customer,
    events_of,
    lines_of,
    order_row,
    receive,
    stock,
)
from tests.table_counts import assert_nothing_written, changed_tables, table_state

SUPPORT_NA = Actor("support.na", "support", ("NA",), "Nina Support")


@pytest.fixture
def shoppers(world):
    """The small world and a customer in each region: {"eu": id, "na": id}."""
    return {"eu": customer(), "na": customer("John Roe", "john@example.com", "NA",
                                             "5th Ave 1, New York", NEW_YORK)}


def place(shoppers, qty=2, sku="SKU-1", who="eu", actor=ADMIN):
    return orders.place_order(actor, shoppers[who], [(sku, qty)])


# ---------------------------------------------------------------- the state machine itself

ALL = states.STATUSES
# The rules written out once more, independently of the implementation.
EXPECTED = {
    ("pending", "allocated"), ("pending", "on_hold"), ("pending", "cancelled"),
    ("allocated", "picking"), ("allocated", "on_hold"), ("allocated", "cancelled"),
    ("picking", "shipped"), ("picking", "on_hold"), ("picking", "cancelled"),
    ("shipped", "delivered"), ("delivered", "returned"), ("on_hold", "cancelled"),
}


@pytest.mark.parametrize("current", ALL)
@pytest.mark.parametrize("target", ALL)
def test_every_pair_of_statuses_is_checked(current, target):
    for held_from in (("pending", "allocated", "picking") if current == "on_hold" else (None,)):
        legal = (current, target) in EXPECTED or (current == "on_hold" and target == held_from)
        if legal:
            states.check_transition(current, target, held_from)
        else:
            with pytest.raises(InvalidTransition) as err:
                states.check_transition(current, target, held_from)
            assert states.label(current) in str(err.value) and states.label(target) in str(err.value)


# ---------------------------------------------------------------- every transition on real orders

def drive(shoppers, state: str) -> tuple[str, int]:
    """An order in `state` (on_hold(x) = held from x); returns (id, version)."""
    base = state[len("on_hold("):-1] if state.startswith("on_hold(") else state
    placed = place(shoppers, qty=150 if base == "pending" else 2)
    oid, v = placed["order_id"], placed["version"]
    assert placed["status"] == ("pending" if base == "pending" else "allocated")
    path = {
        "pending": [], "allocated": [], "picking": [orders.mark_picking],
        "shipped": [orders.mark_picking, orders.mark_shipped],
        "delivered": [orders.mark_picking, orders.mark_shipped, orders.mark_delivered],
        "returned": [orders.mark_picking, orders.mark_shipped, orders.mark_delivered, RETURN],
        "cancelled": [orders.cancel_order],
    }[base]
    if state.startswith("on_hold("):
        path = [*path, orders.hold_order]
    for step in path:
        v = step(ADMIN, oid, expected_version=v)["version"]
    assert order_row(oid)["status"] == ("on_hold" if state.startswith("on_hold") else base)
    return oid, v


def RETURN(actor, oid, **kw):  # noqa: N802 - reads as a step name in drive()
    return orders.accept_return(actor, oid, location_id="WH-BER-1", reason="damaged in transit", **kw)


COMMANDS = {
    "allocate": (orders.allocate_pending, "allocated"),
    "picking": (orders.mark_picking, "picking"),
    "shipped": (orders.mark_shipped, "shipped"),
    "delivered": (orders.mark_delivered, "delivered"),
    "hold": (orders.hold_order, "on_hold"),
    "release": (orders.release_hold, None),
    "cancel": (orders.cancel_order, "cancelled"),
    "return": (RETURN, "returned"),
}
LEGAL = {
    "pending": {"allocate", "hold", "cancel"},
    "allocated": {"picking", "hold", "cancel"},
    "picking": {"shipped", "hold", "cancel"},
    "shipped": {"delivered"},
    "delivered": {"return"},
    "returned": set(),
    "cancelled": set(),
    "on_hold(pending)": {"release", "cancel"},
    "on_hold(allocated)": {"release", "cancel"},
    "on_hold(picking)": {"release", "cancel"},
}


@pytest.mark.parametrize("state", list(LEGAL))
def test_every_command_from_every_state(shoppers, state):
    for name, (command, target) in COMMANDS.items():
        oid, v = drive(shoppers, state)
        if name == "allocate" and name in LEGAL[state]:
            receive("WH-BER-1", "SKU-1", 100)  # now one location can take the 150
        before = table_state()
        events_before = len(events_of(oid))
        if name in LEGAL[state]:
            result = command(ADMIN, oid, expected_version=v)
            expected = target or state[len("on_hold("):-1]
            assert result["status"] == expected and order_row(oid)["status"] == expected
            assert result["version"] == v + 1
            last = events_of(oid)[-1]
            assert len(events_of(oid)) == events_before + 1
            from_status = "on_hold" if state.startswith("on_hold") else state
            assert (last["from_status"], last["to_status"], last["actor"]) == (from_status, expected, "admin")
        else:
            with pytest.raises(InvalidTransition):
                command(ADMIN, oid, expected_version=v)
            assert table_state() == before, (state, name)
        assert_reservations_exact()


# ---------------------------------------------------------------- placing

def test_place_prefers_the_customers_region_then_the_nearest_location(shoppers):
    paris = customer("Pierre Dupont", "pierre@example.fr", "EU", "Rue de Rivoli 1, Paris", PARIS)
    assert lines_of(orders.place_order(ADMIN, paris, [("SKU-1", 5)])["order_id"])[0]["location_id"] \
        == "WH-PAR-1"
    assert lines_of(place(shoppers, 5)["order_id"])[0]["location_id"] == "WH-BER-1"
    assert lines_of(place(shoppers, 5, who="na")["order_id"])[0]["location_id"] == "ST-NYC-1"
    # An EU customer near New York is still served from the EU first.
    near_ny = customer("Eve Far", "eve@example.com", "EU", "somewhere", NEW_YORK)
    assert lines_of(orders.place_order(ADMIN, near_ny, [("SKU-2", 5)])["order_id"])[0]["location_id"] \
        in ("WH-BER-1", "WH-PAR-1")
    assert_reservations_exact()


def test_place_reserves_stock_and_falls_back_to_other_locations(shoppers):
    result = orders.place_order(ADMIN, shoppers["eu"], [("SKU-1", 60), ("SKU-1", 60), ("SKU-1", 60)])
    assert result["status"] == "allocated"
    assert [line["location_id"] for line in lines_of(result["order_id"])] == \
        ["WH-BER-1", "WH-PAR-1", "ST-NYC-1"]
    assert stock("WH-BER-1", "SKU-1") == {"on_hand": 100, "reserved": 60}
    row = order_row(result["order_id"])
    assert row["total"] == 1800 and row["updated_by"] == "admin" and row["version"] == 1
    event = events_of(result["order_id"])[0]
    assert (event["kind"], event["from_status"], event["to_status"]) == ("placed", None, "allocated")
    assert_reservations_exact()


def test_a_line_that_cannot_be_allocated_leaves_the_order_pending_holding_nothing(shoppers):
    before = table_state()
    result = orders.place_order(ADMIN, shoppers["eu"], [("SKU-2", 3), ("SKU-1", 150)])
    assert result["status"] == "pending"
    assert result["back_ordered"] == [{"line_no": 2, "sku": "SKU-1", "qty": 150}]
    assert all(line["location_id"] is None and line["reserved_qty"] == 0
               for line in lines_of(result["order_id"]))
    written = changed_tables(before, table_state())
    assert "stock" not in written and "stock_movements" not in written, written  # holds nothing
    assert events_of(result["order_id"])[0]["details"]["back_ordered"][0]["sku"] == "SKU-1"
    # Stock arrives; the support fix "allocate" now succeeds.
    with pytest.raises(InsufficientStock, match="line 2"):
        orders.allocate_pending(SUPPORT_EU, result["order_id"], expected_version=1)
    receive("WH-PAR-1", "SKU-1", 60)
    done = orders.allocate_pending(SUPPORT_EU, result["order_id"], expected_version=1)
    assert done["status"] == "allocated"
    assert [line["location_id"] for line in lines_of(result["order_id"])] == ["WH-BER-1", "WH-PAR-1"]
    assert_reservations_exact()


def test_waiting_orders_are_allocated_when_stock_arrives(shoppers):
    waiting = [place(shoppers, 150)["order_id"] for _ in range(2)]
    receive("WH-BER-1", "SKU-1", 100)
    assert orders.allocate_waiting_orders(ADMIN) == {"tried": 2, "allocated": 1, "still_short": 1}
    assert orders.allocate_waiting_orders(ADMIN, skus=["SKU-3"]) == {
        "tried": 0, "allocated": 0, "still_short": 0}  # no waiting order has a SKU-3 line
    assert orders.allocate_waiting_orders(ADMIN, skus=["SKU-1", "SKU-3"])["tried"] == 1
    assert sorted(order_row(oid)["status"] for oid in waiting) == ["allocated", "pending"]
    assert_reservations_exact()


def test_shipping_consumes_on_hand_and_reserved_with_ledger_rows(shoppers):
    oid = place(shoppers, 7)["order_id"]
    orders.mark_picking(SUPPORT_EU, oid, expected_version=1)
    before = table_state()
    orders.mark_shipped(SUPPORT_EU, oid, expected_version=2)
    assert stock("WH-BER-1", "SKU-1") == {"on_hand": 93, "reserved": 0}
    assert table_state()["stock_movements"][0] == before["stock_movements"][0] + 1
    assert lines_of(oid)[0]["reserved_qty"] == 0 and lines_of(oid)[0]["location_id"] == "WH-BER-1"
    assert events_of(oid)[-1]["details"]["consumed"][0]["qty"] == 7
    orders.mark_delivered(SUPPORT_EU, oid, expected_version=3)
    orders.accept_return(SUPPORT_EU, oid, location_id="WH-PAR-1", reason="wrong size",
                         expected_version=4)
    assert stock("WH-PAR-1", "SKU-1") == {"on_hand": 107, "reserved": 0}
    assert events_of(oid)[-1]["details"]["reason"] == "wrong size"
    assert_reservations_exact()


# ---------------------------------------------------------------- fixes and exact reservations

@pytest.mark.parametrize("state", ["allocated", "picking", "on_hold(allocated)", "on_hold(picking)",
                                   "pending", "on_hold(pending)"])
def test_cancel_releases_exactly_what_the_order_held(shoppers, state):
    other = place(shoppers, 10)["order_id"]  # another order's reservation must stay untouched
    oid, v = drive(shoppers, state)
    orders.cancel_order(SUPPORT_EU, oid, expected_version=v, note="customer changed their mind")
    assert stock("WH-BER-1", "SKU-1")["reserved"] == 10
    assert all(line["reserved_qty"] == 0 for line in lines_of(oid))
    assert order_row(other)["status"] == "allocated"
    assert events_of(oid)[-1]["note"] == "customer changed their mind"
    assert_reservations_exact()


def test_change_line_quantity_reserves_or_releases_the_difference(shoppers):
    oid = place(shoppers, 10)["order_id"]
    orders.change_line_qty(SUPPORT_EU, oid, line_no=1, qty=40, expected_version=1)
    assert stock("WH-BER-1", "SKU-1")["reserved"] == 40
    orders.change_line_qty(SUPPORT_EU, oid, line_no=1, qty=5, expected_version=2)
    assert stock("WH-BER-1", "SKU-1")["reserved"] == 5
    assert order_row(oid)["total"] == 50
    before = table_state()
    with pytest.raises(InsufficientStock, match="Only 95 of SKU-1 available at WH-BER-1"):
        orders.change_line_qty(SUPPORT_EU, oid, line_no=1, qty=101, expected_version=3)
    assert_nothing_written(before)
    event = events_of(oid)[-1]
    assert (event["kind"], event["details"]["from_qty"], event["details"]["to_qty"]) == \
        ("line_qty_changed", 40, 5)
    assert_reservations_exact()


def test_add_and_remove_lines(shoppers):
    oid = place(shoppers, 10)["order_id"]
    added = orders.add_line(SUPPORT_EU, oid, sku="SKU-2", qty=4, expected_version=1)
    assert added["line_no"] == 2
    assert lines_of(oid)[1]["location_id"] == "WH-BER-1" and stock("WH-BER-1", "SKU-2")["reserved"] == 4
    before = table_state()
    with pytest.raises(InsufficientStock):
        orders.add_line(SUPPORT_EU, oid, sku="SKU-3", qty=101, expected_version=2)
    with pytest.raises(NotFound, match="no product 'NOPE'"):
        orders.add_line(SUPPORT_EU, oid, sku="NOPE", qty=1, expected_version=2)
    assert_nothing_written(before)
    orders.remove_line(SUPPORT_EU, oid, line_no=1, expected_version=2)
    assert stock("WH-BER-1", "SKU-1")["reserved"] == 0
    assert [line["line_no"] for line in lines_of(oid)] == [2]
    assert order_row(oid)["total"] == 40
    with pytest.raises(InvalidInput, match="at least one line"):
        orders.remove_line(SUPPORT_EU, oid, line_no=2, expected_version=3)
    with pytest.raises(NotFound, match="no line 9"):
        orders.remove_line(SUPPORT_EU, oid, line_no=9, expected_version=3)
    assert_reservations_exact()


def test_lines_of_a_pending_order_are_edited_without_reserving(shoppers):
    oid = place(shoppers, 150)["order_id"]
    orders.add_line(SUPPORT_EU, oid, sku="SKU-2", qty=1, expected_version=1)
    orders.remove_line(SUPPORT_EU, oid, line_no=1, expected_version=2)
    assert fetch_one("SELECT coalesce(sum(reserved), 0) AS n FROM stock")["n"] == 0
    assert orders.allocate_pending(SUPPORT_EU, oid, expected_version=3)["status"] == "allocated"
    assert stock("WH-BER-1", "SKU-2")["reserved"] == 1
    assert_reservations_exact()


def test_lines_cannot_change_once_picking_started(shoppers):
    oid, v = drive(shoppers, "picking")
    before = table_state()
    with pytest.raises(InvalidTransition, match="picking"):
        orders.change_line_qty(SUPPORT_EU, oid, line_no=1, qty=3, expected_version=v)
    with pytest.raises(InvalidTransition):
        orders.reallocate_line(SUPPORT_EU, oid, line_no=1, location_id="WH-PAR-1", expected_version=v)
    assert_nothing_written(before)


def test_reallocate_moves_the_reservation(shoppers):
    oid = place(shoppers, 30)["order_id"]
    orders.reallocate_line(SUPPORT_EU, oid, line_no=1, location_id="WH-PAR-1", expected_version=1)
    assert stock("WH-BER-1", "SKU-1")["reserved"] == 0 and stock("WH-PAR-1", "SKU-1")["reserved"] == 30
    assert order_row(oid)["fulfilment_location_id"] == "WH-PAR-1"
    details = events_of(oid)[-1]["details"]
    assert (details["from_location_id"], details["to_location_id"]) == ("WH-BER-1", "WH-PAR-1")
    place(shoppers, 80)  # Berlin now has 20 available
    before = table_state()
    with pytest.raises(InsufficientStock, match="Only 20 of SKU-1 available at WH-BER-1"):
        orders.reallocate_line(SUPPORT_EU, oid, line_no=1, location_id="WH-BER-1", expected_version=2)
    with pytest.raises(NotFound):
        orders.reallocate_line(SUPPORT_EU, oid, line_no=1, location_id="WH-NOWHERE", expected_version=2)
    with pytest.raises(InvalidInput, match="already allocated"):
        orders.reallocate_line(SUPPORT_EU, oid, line_no=1, location_id="WH-PAR-1", expected_version=2)
    with pytest.raises(Forbidden, match="not in NA"):
        orders.reallocate_line(SUPPORT_EU, oid, line_no=1, location_id="ST-NYC-1", expected_version=2)
    assert_nothing_written(before)
    assert_reservations_exact()


def test_hold_keeps_reservations_and_release_returns_to_the_earlier_status(shoppers):
    oid, v = drive(shoppers, "picking")
    v = orders.hold_order(SUPPORT_EU, oid, expected_version=v, note="fraud check")["version"]
    assert order_row(oid)["held_from_status"] == "picking"
    assert stock("WH-BER-1", "SKU-1")["reserved"] == 2
    assert_reservations_exact()
    assert orders.release_hold(SUPPORT_EU, oid, expected_version=v)["status"] == "picking"
    assert order_row(oid)["held_from_status"] is None


def test_lines_of_an_order_held_while_allocated_can_be_fixed(shoppers):
    oid, v = drive(shoppers, "on_hold(allocated)")
    orders.change_line_qty(SUPPORT_EU, oid, line_no=1, qty=9, expected_version=v)
    assert stock("WH-BER-1", "SKU-1")["reserved"] == 9
    assert_reservations_exact()


def test_address_and_notes(shoppers):
    oid = place(shoppers)["order_id"]
    orders.change_shipping_address(SUPPORT_EU, oid, address="Friedrichstr. 5, Berlin", expected_version=1)
    assert order_row(oid)["ship_address"] == "Friedrichstr. 5, Berlin"
    orders.add_note(SUPPORT_EU, oid, note="Customer called; prefers mornings. Ünïcødé ✓", expected_version=2)
    assert events_of(oid)[-1]["note"].endswith("Ünïcødé ✓")
    assert order_row(oid)["version"] == 3
    oid2, v2 = drive(shoppers, "shipped")
    with pytest.raises(InvalidTransition, match="shipped"):
        orders.change_shipping_address(SUPPORT_EU, oid2, address="elsewhere", expected_version=v2)


# ---------------------------------------------------------------- refusals write nothing

def test_a_stale_edit_is_refused_and_writes_nothing(shoppers):
    oid = place(shoppers, 5)["order_id"]
    # Two people opened version 1; the first one's change wins.
    orders.change_line_qty(SUPPORT_EU, oid, line_no=1, qty=6, expected_version=1)
    before = table_state()
    for attempt in (
        lambda: orders.change_line_qty(ADMIN, oid, line_no=1, qty=9, expected_version=1),
        lambda: orders.cancel_order(ADMIN, oid, expected_version=1),
        lambda: orders.add_note(ADMIN, oid, note="hello", expected_version=1),
    ):
        with pytest.raises(StaleVersion) as err:
            attempt()
        moment = order_row(oid)["updated_at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        assert str(err.value) == f"This order was changed by support.eu at {moment}; reload."
    assert_nothing_written(before)
    assert lines_of(oid)[0]["qty"] == 6


def test_support_outside_the_orders_region_is_refused(shoppers):
    oid = place(shoppers, 5, who="na")["order_id"]
    before = table_state()
    with pytest.raises(Forbidden, match="only change orders in EU, not in NA"):
        orders.cancel_order(SUPPORT_EU, oid, expected_version=1)
    with pytest.raises(Forbidden):
        orders.place_order(SUPPORT_EU, shoppers["na"], [("SKU-1", 1)])
    with pytest.raises(Forbidden, match="not allowed to change orders"):
        orders.cancel_order(HQ, oid, expected_version=1)
    with pytest.raises(Forbidden):
        orders.add_note(MANAGER_EU, oid, note="x", expected_version=1)
    assert_nothing_written(before)
    assert orders.cancel_order(SUPPORT_NA, oid, expected_version=1)["status"] == "cancelled"


@pytest.mark.parametrize("call,error", [
    (lambda w, oid: orders.cancel_order(ADMIN, "6f1c2d8e-0000-4000-8000-000000000000", expected_version=1),
     NotFound),
    (lambda w, oid: orders.cancel_order(ADMIN, "'; DROP TABLE orders; --", expected_version=1), NotFound),
    (lambda w, oid: orders.change_line_qty(ADMIN, oid, line_no=1, qty=0, expected_version=1),
     InvalidQuantity),
    (lambda w, oid: orders.change_line_qty(ADMIN, oid, line_no=1, qty=-3, expected_version=1),
     InvalidQuantity),
    (lambda w, oid: orders.change_line_qty(ADMIN, oid, line_no=1, qty=2.5, expected_version=1),
     InvalidQuantity),
    (lambda w, oid: orders.add_line(ADMIN, oid, sku="SKU-2", qty=0, expected_version=1), InvalidQuantity),
    (lambda w, oid: orders.place_order(ADMIN, w["eu"], [("SKU-1", -1)]), InvalidQuantity),
    (lambda w, oid: orders.place_order(ADMIN, w["eu"], []), InvalidInput),
    (lambda w, oid: orders.place_order(ADMIN, w["eu"], [("SKU-404", 1)]), NotFound),
    (lambda w, oid: orders.place_order(ADMIN, "not-a-customer", [("SKU-1", 1)]), NotFound),
    (lambda w, oid: orders.add_note(ADMIN, oid, note="x" * 2001, expected_version=1), InvalidInput),
    (lambda w, oid: orders.add_note(ADMIN, oid, note="   ", expected_version=1), InvalidInput),
    (lambda w, oid: orders.cancel_order(ADMIN, oid, note="y" * 5000, expected_version=1), InvalidInput),
    (lambda w, oid: orders.change_shipping_address(ADMIN, oid, address="", expected_version=1),
     InvalidInput),
    (lambda w, oid: orders.accept_return(ADMIN, oid, location_id="WH-BER-1", reason="",
                                         expected_version=1), InvalidInput),
])
def test_bad_input_gives_the_typed_error_and_writes_nothing(shoppers, call, error):
    oid = place(shoppers, 5)["order_id"]
    before = table_state()
    with pytest.raises(error) as err:
        call(shoppers, oid)
    assert str(err.value).endswith(".")  # a sentence a person can read
    assert_nothing_written(before)


def test_a_note_of_exactly_the_limit_is_accepted(shoppers):
    oid = place(shoppers)["order_id"]
    orders.add_note(ADMIN, oid, note="n" * text_input.MAX_NOTE, expected_version=1)
    assert len(events_of(oid)[-1]["note"]) == 2000


def test_a_double_click_applies_once(shoppers):
    oid = place(shoppers, 5)["order_id"]
    key = new_key()
    first = orders.change_line_qty(SUPPORT_EU, oid, line_no=1, qty=8, expected_version=1, idempotency_key=key)
    again = orders.change_line_qty(SUPPORT_EU, oid, line_no=1, qty=8, expected_version=1, idempotency_key=key)
    assert (first["already_applied"], again["already_applied"]) == (False, True)
    assert again["version"] == first["version"] == 2
    assert len(events_of(oid)) == 2 and stock("WH-BER-1", "SKU-1")["reserved"] == 8
    placed_key = new_key()
    a = orders.place_order(ADMIN, shoppers["eu"], [("SKU-3", 1)], idempotency_key=placed_key)
    b = orders.place_order(ADMIN, shoppers["eu"], [("SKU-3", 1)], idempotency_key=placed_key)
    assert a["order_id"] == b["order_id"] and stock("WH-BER-1", "SKU-3")["reserved"] == 1
    assert_reservations_exact()


def test_promised_date_and_explicit_address_are_kept(shoppers):
    promise = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    oid = orders.place_order(ADMIN, shoppers["eu"], [("SKU-1", 1)], ship_address="Gift: Alexanderplatz 1",
                             promised_by=promise)["order_id"]
    row = order_row(oid)
    assert row["promised_by"] == promise and row["ship_address"] == "Gift: Alexanderplatz 1"


def test_the_funnel_counts_how_far_orders_got():
    counts = {"pending": 5, "allocated": 4, "picking": 3, "on_hold": 2, "shipped": 2, "delivered": 6,
              "cancelled": 1, "returned": 1}
    assert states.reached_counts(counts) == {
        "pending": 24, "allocated": 16, "picking": 12, "shipped": 9, "delivered": 7}
