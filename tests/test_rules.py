"""One helper per rule: region scope, lock order, text limits and quantities.

The helpers are tested directly where they are pure, and through the real commands where the
rule is about what a person may enter: a refused input must write nothing in any table.
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from queries import inventory, orders, reservations, transfers
from queries.actor import Actor
from queries.customers import add_customer
from queries.db import fetch_one
from queries.errors import InvalidInput, InvalidQuantity
from queries.idempotency import new_key
from queries.lock_order import in_lock_order, stock_bin
from queries.quantities import MAX_QUANTITY
from queries.region_scope import PARAM, region_condition
from queries.text_input import MAX_ADDRESS, MAX_NOTE, MAX_REASON
from tests import factories
from tests.factories import ADMIN, HQ, MANAGER_EU, SUPPORT_EU
from tests.order_helpers import PARIS, customer
from tests.table_counts import assert_nothing_written, table_state

# ---------------------------------------------------------------- region scope


@pytest.mark.parametrize("actor", [ADMIN, HQ, Actor("root", "admin", (), "")])
def test_admin_and_headquarters_see_every_region(actor):
    assert region_condition(actor, "o.region") == ("TRUE", {})


@pytest.mark.parametrize("actor,regions", [
    (MANAGER_EU, ["EU"]),
    (SUPPORT_EU, ["EU"]),
    (Actor("two", "support", ("EU", "NA"), ""), ["EU", "NA"]),
])
def test_a_regional_actor_sees_their_regions_in_the_named_column(actor, regions):
    condition, params = region_condition(actor, "l.region")
    assert condition == f"l.region = ANY(%({PARAM})s)"
    assert params == {PARAM: regions}


def test_both_forms_of_the_condition_run(world):
    for actor, expected in ((ADMIN, 3), (MANAGER_EU, 2), (Actor("x", "support", ("NA",)), 1)):
        condition, params = region_condition(actor, "region")
        row = fetch_one(f"SELECT count(*) AS n FROM locations WHERE {condition}", params)
        assert row["n"] == expected


# ---------------------------------------------------------------- lock order (pure)


def test_lock_order_sorts_by_location_then_sku_and_keeps_ties_in_place():
    items = [
        {"location_id": "WH-PAR-1", "sku": "SKU-1", "n": 1},
        {"location_id": "WH-BER-1", "sku": "SKU-2", "n": 2},
        {"location_id": "WH-BER-1", "sku": "SKU-1", "n": 3},
        {"location_id": "WH-PAR-1", "sku": "SKU-1", "n": 4},
        {"location_id": None, "sku": "SKU-9", "n": 5},    # back-ordered: locks nothing
    ]
    assert [item["n"] for item in in_lock_order(items)] == [5, 3, 2, 1, 4]


def test_lock_order_reads_objects_and_takes_a_key():
    lines = [SimpleNamespace(location_id="B", sku="x"), SimpleNamespace(location_id="A", sku="y")]
    assert [stock_bin(line) for line in in_lock_order(lines)] == [("A", "y"), ("B", "x")]
    chosen = {1: "B", 2: "A"}
    wants = [SimpleNamespace(line_no=1, sku="s"), SimpleNamespace(line_no=2, sku="s")]
    assert [w.line_no for w in in_lock_order(wants, lambda w: (chosen[w.line_no], w.sku))] == [2, 1]


# ---------------------------------------------------------------- lock order (the commands)


@pytest.fixture
def crossed(db, monkeypatch):
    """Two EU locations each holding a SKU the other lacks, so an order's lines land in the
    opposite of line order; every stock movement is recorded as (location, sku) in call order."""
    factories.add_location("WH-BER-1", "EU", "warehouse", "Berlin", 52.52, 13.40)
    factories.add_location("WH-PAR-1", "EU", "warehouse", "Paris", *PARIS)
    for sku in ("SKU-1", "SKU-2", "SKU-3"):
        factories.add_product(sku)
    factories.add_stock("WH-PAR-1", "SKU-1", 50)
    factories.add_stock("WH-BER-1", "SKU-2", 50)
    factories.add_stock("WH-PAR-1", "SKU-3", 50)
    factories.add_stock("WH-BER-1", "SKU-3", 50)
    moved: list[tuple[str, str]] = []
    for module in (reservations, transfers, inventory, orders):
        original = module.apply_movement

        def recording(cur, *, _original=original, **kwargs):
            moved.append((kwargs["location_id"], kwargs["sku"]))
            return _original(cur, **kwargs)

        monkeypatch.setattr(module, "apply_movement", recording)
    return SimpleNamespace(moved=moved, customer=customer("Pia Paris", "pia@example.fr", "EU",
                                                          "Rue 1, Paris", PARIS))


def _taken(moved: list) -> list:
    taken = list(moved)
    moved.clear()
    return taken


def _assert_locked_in_order(taken: list, bins: int = 2) -> None:
    assert len(set(taken)) >= bins, taken
    assert taken == sorted(taken), taken


def test_order_commands_lock_stock_in_one_order(crossed):
    # Line 1 (SKU-1) can only come from Paris, line 2 (SKU-2) only from Berlin.
    placed = orders.place_order(ADMIN, crossed.customer, [("SKU-1", 2), ("SKU-2", 3)])
    _assert_locked_in_order(_taken(crossed.moved))
    orders.cancel_order(ADMIN, placed["order_id"], expected_version=1)
    _assert_locked_in_order(_taken(crossed.moved))

    # Paris, Paris, Berlin in line order; SKU-3, SKU-1, SKU-2 back at Paris.
    shipped = orders.place_order(ADMIN, crossed.customer, [("SKU-3", 1), ("SKU-1", 1), ("SKU-2", 1)])
    orders.mark_picking(ADMIN, shipped["order_id"], expected_version=1)
    _taken(crossed.moved)
    orders.mark_shipped(ADMIN, shipped["order_id"], expected_version=2)
    _assert_locked_in_order(_taken(crossed.moved))
    orders.mark_delivered(ADMIN, shipped["order_id"], expected_version=3)
    orders.accept_return(ADMIN, shipped["order_id"], location_id="WH-PAR-1", reason="unwanted",
                         expected_version=4)
    _assert_locked_in_order(_taken(crossed.moved))

    # SKU-3 is nearest in Paris; moving it to Berlin releases in Paris and reserves in Berlin.
    moved_line = orders.place_order(ADMIN, crossed.customer, [("SKU-3", 4)])
    _taken(crossed.moved)
    orders.reallocate_line(ADMIN, moved_line["order_id"], line_no=1, location_id="WH-BER-1",
                           expected_version=1)
    assert _taken(crossed.moved) == [("WH-BER-1", "SKU-3"), ("WH-PAR-1", "SKU-3")]


def test_inventory_commands_lock_stock_in_one_order(crossed):
    shipped = transfers.create_transfer(MANAGER_EU, from_location_id="WH-PAR-1",
                                        to_location_id="WH-BER-1", sku="SKU-3", qty=5,
                                        idempotency_key=new_key())
    _assert_locked_in_order(_taken(crossed.moved))
    transfers.cancel_transfer(MANAGER_EU, transfer_id=shipped["transfer_id"],
                              idempotency_key=new_key())
    _assert_locked_in_order(_taken(crossed.moved))
    sheet = inventory.parse_count_csv(
        "location,sku,counted\nWH-PAR-1,SKU-3,40\nWH-BER-1,SKU-3,41\nWH-BER-1,SKU-2,42\n")
    inventory.apply_bulk_count(MANAGER_EU, sheet, idempotency_key=new_key())
    assert _taken(crossed.moved) == [("WH-BER-1", "SKU-2"), ("WH-BER-1", "SKU-3"),
                                     ("WH-PAR-1", "SKU-3")]


# ---------------------------------------------------------------- a world for input rules


def _build_rules_world() -> None:
    """Added to the small world: an allocated order, a delivered one, a transfer in transit."""
    eu = customer()
    orders.place_order(ADMIN, eu, [("SKU-1", 1)])                  # stays allocated
    delivered = orders.place_order(ADMIN, eu, [("SKU-2", 3)])["order_id"]
    for step, version in ((orders.mark_picking, 1), (orders.mark_shipped, 2),
                          (orders.mark_delivered, 3)):
        step(ADMIN, delivered, expected_version=version)
    transfers.create_transfer(MANAGER_EU, from_location_id="WH-BER-1", to_location_id="WH-PAR-1",
                              sku="SKU-3", qty=5, idempotency_key=new_key())


@pytest.fixture
def rules_world(world_with):
    world_with(_build_rules_world)
    ids = fetch_one("""
        SELECT (SELECT id::TEXT FROM orders WHERE status = 'allocated') AS open_order,
               (SELECT id::TEXT FROM orders WHERE status = 'delivered') AS delivered,
               (SELECT customer_id::TEXT FROM orders LIMIT 1) AS customer,
               (SELECT id::TEXT FROM transfers WHERE status = 'in_transit') AS transfer
    """)
    return SimpleNamespace(**ids)


def _line_qty(order_id: str, line_no: int) -> int:
    return fetch_one("SELECT qty FROM order_lines WHERE order_id = %s AND line_no = %s",
                     (order_id, line_no))["qty"]


# Every command a person types a quantity into: (call with the quantity, what it recorded).
QUANTITY_COMMANDS = {
    "place order": (
        lambda w, q: orders.place_order(ADMIN, w.customer, [("SKU-3", q)]),
        lambda w, r: _line_qty(r["order_id"], 1)),
    "change line": (
        lambda w, q: orders.change_line_qty(ADMIN, w.open_order, line_no=1, qty=q, expected_version=1),
        lambda w, r: _line_qty(w.open_order, 1)),
    "add line": (
        lambda w, q: orders.add_line(ADMIN, w.open_order, sku="SKU-3", qty=q, expected_version=1),
        lambda w, r: _line_qty(w.open_order, r["line_no"])),
    "return": (
        lambda w, q: orders.accept_return(ADMIN, w.delivered, location_id="WH-BER-1", reason="unwanted",
                                          quantities={1: q}, expected_version=4),
        lambda w, r: r["units"]),
    "adjust": (
        lambda w, q: inventory.adjust_stock(MANAGER_EU, location_id="WH-BER-1", sku="SKU-1", qty=q,
                                            reason="correction", idempotency_key=new_key()),
        lambda w, r: r["delta"]),
    "count": (
        lambda w, q: inventory.record_count(MANAGER_EU, location_id="WH-BER-1", sku="SKU-1",
                                            counted=q, idempotency_key=new_key()),
        lambda w, r: r["counted"]),
    "transfer": (
        lambda w, q: transfers.create_transfer(MANAGER_EU, from_location_id="WH-BER-1",
                                               to_location_id="WH-PAR-1", sku="SKU-1", qty=q,
                                               idempotency_key=new_key()),
        lambda w, r: r["qty"]),
    "receive": (
        lambda w, q: transfers.receive_transfer(MANAGER_EU, transfer_id=w.transfer, received_qty=q,
                                                shortfall_reason="damaged", idempotency_key=new_key()),
        lambda w, r: r["received_qty"]),
}
# Zero is a quantity only for a count (an empty bin) and a receipt (nothing arrived); a
# negative one only for an adjustment.
ZERO_ALLOWED = {"count", "receive"}
NEGATIVE_ALLOWED = {"adjust"}


@pytest.mark.parametrize("command", list(QUANTITY_COMMANDS))
@pytest.mark.parametrize("value", [2, 2.0, Decimal("2.000")], ids=["int", "float", "decimal"])
def test_a_whole_number_is_taken_as_that_number_everywhere(rules_world, command, value):
    call, recorded = QUANTITY_COMMANDS[command]
    result = call(rules_world, value)
    assert recorded(rules_world, result) == 2
    assert type(recorded(rules_world, result)) is int


def _refusals(command: str) -> list:
    values = [2.5, Decimal("0.5"), MAX_QUANTITY + 1, 10 ** 30, float("inf"), float("nan"),
              True, "2", None]
    if command not in ZERO_ALLOWED:
        values.append(0)
    if command not in NEGATIVE_ALLOWED:
        values.append(-1)
    else:
        values.append(-(MAX_QUANTITY + 1))
    if command == "receive":
        values.remove(None)  # None means "all of it"
    return values


@pytest.mark.parametrize("command", list(QUANTITY_COMMANDS))
def test_a_refused_quantity_writes_nothing_anywhere(rules_world, command):
    call, _ = QUANTITY_COMMANDS[command]
    before = table_state()
    for value in _refusals(command):
        # Returning zero units of the only line is "choose at least one unit", not a bad number.
        expected = InvalidInput if (command, value) == ("return", 0) else InvalidQuantity
        with pytest.raises(expected) as refused:
            call(rules_world, value)
        sentence = str(refused.value)
        assert sentence.endswith(".") and len(sentence) < 200, (value, sentence)
        assert table_state() == before, value


def test_the_largest_quantity_is_accepted_and_one_more_is_not(rules_world):
    result = inventory.adjust_stock(MANAGER_EU, location_id="WH-BER-1", sku="SKU-1",
                                    qty=MAX_QUANTITY, reason="received", idempotency_key=new_key())
    assert result["on_hand"] == 100 + MAX_QUANTITY
    with pytest.raises(InvalidQuantity, match=r"can be at most 1,000,000, not 1,000,001\."):
        inventory.adjust_stock(MANAGER_EU, location_id="WH-BER-1", sku="SKU-1",
                               qty=MAX_QUANTITY + 1, reason="received", idempotency_key=new_key())


@pytest.mark.parametrize("cell,counted,error", [
    ("2", 2, None),
    ("2.0", 2, None),
    (" 7 ", 7, None),
    ("2.5", None, "The count must be a whole number, not 2.5."),
    ("ten", None, "The count must be a whole number, not 'ten'."),
    ("-1", None, "The count cannot be negative (-1)."),
    ("1000001", None, "The count can be at most 1,000,000, not 1,000,001."),
])
def test_a_count_sheet_follows_the_same_quantity_rule(cell, counted, error):
    sheet = inventory.parse_count_csv(f"location,sku,counted\nWH-BER-1,SKU-1,{cell}\n")
    if error is None:
        assert [line.counted for line in sheet.lines] == [counted] and not sheet.errors
    else:
        assert [str(e) for e in sheet.errors] == [f"Row 2, column counted: {error}"]


# ---------------------------------------------------------------- text limits

# Every command with a note: (call with the note). One limit, MAX_NOTE, for all of them.
NOTE_COMMANDS = {
    "order note": lambda w, n: orders.add_note(ADMIN, w.open_order, note=n, expected_version=1),
    "cancel order": lambda w, n: orders.cancel_order(ADMIN, w.open_order, note=n, expected_version=1),
    "change line": lambda w, n: orders.change_line_qty(ADMIN, w.open_order, line_no=1, qty=3,
                                                       note=n, expected_version=1),
    "adjust": lambda w, n: inventory.adjust_stock(MANAGER_EU, location_id="WH-BER-1", sku="SKU-1",
                                                  qty=1, reason="other", note=n,
                                                  idempotency_key=new_key()),
    "count": lambda w, n: inventory.record_count(MANAGER_EU, location_id="WH-BER-1", sku="SKU-1",
                                                 counted=90, note=n, idempotency_key=new_key()),
    "bulk count": lambda w, n: inventory.apply_bulk_count(
        MANAGER_EU, inventory.parse_count_csv("location,sku,counted\nWH-BER-1,SKU-1,90\n"),
        note=n, idempotency_key=new_key()),
    "transfer": lambda w, n: transfers.create_transfer(
        MANAGER_EU, from_location_id="WH-BER-1", to_location_id="WH-PAR-1", sku="SKU-1", qty=1,
        note=n, idempotency_key=new_key()),
    "receive": lambda w, n: transfers.receive_transfer(MANAGER_EU, transfer_id=w.transfer, note=n,
                                                       idempotency_key=new_key()),
    "cancel transfer": lambda w, n: transfers.cancel_transfer(MANAGER_EU, transfer_id=w.transfer,
                                                              note=n, idempotency_key=new_key()),
}


def _longest_note() -> int:
    return fetch_one("""
        SELECT greatest((SELECT max(length(note)) FROM order_events),
                        (SELECT max(length(note)) FROM stock_movements),
                        (SELECT max(length(note)) FROM transfers)) AS n
    """)["n"]


@pytest.mark.parametrize("command", list(NOTE_COMMANDS))
def test_every_note_has_the_one_limit(rules_world, command):
    call = NOTE_COMMANDS[command]
    before = table_state()
    with pytest.raises(InvalidInput) as refused:
        call(rules_world, "n" * (MAX_NOTE + 1))
    assert str(refused.value) == "The note can be at most 2,000 characters; this one has 2,001."
    assert_nothing_written(before)
    call(rules_world, "  " + "n" * MAX_NOTE + "\n")  # trimmed first, then measured
    assert _longest_note() == MAX_NOTE == 2000


@pytest.mark.parametrize("call,text", [
    (lambda w, a: orders.change_shipping_address(ADMIN, w.open_order, address=a, expected_version=1),
     "shipping address"),
    (lambda w, a: orders.place_order(ADMIN, w.customer, [("SKU-1", 1)], ship_address=a),
     "shipping address"),
    (lambda w, a: add_customer(ADMIN, "Al Long", "al@example.com", a, "EU"), "customer's address"),
], ids=["change address", "place order", "new customer"])
def test_every_address_has_the_one_limit(rules_world, call, text):
    before = table_state()
    with pytest.raises(InvalidInput) as refused:
        call(rules_world, "a" * (MAX_ADDRESS + 1))
    assert str(refused.value) == f"The {text} can be at most 500 characters; this one has 501."
    assert_nothing_written(before)
    call(rules_world, "a" * MAX_ADDRESS)


def test_a_return_reason_has_its_limit_and_cannot_be_empty(rules_world):
    def give_back(reason):
        return orders.accept_return(ADMIN, rules_world.delivered, location_id="WH-BER-1", reason=reason,
                                    quantities={1: 1}, expected_version=4)

    before = table_state()
    for reason, sentence in (("r" * (MAX_REASON + 1),
                              "The return reason can be at most 200 characters; this one has 201."),
                             ("   ", "The return reason cannot be empty.")):
        with pytest.raises(InvalidInput) as refused:
            give_back(reason)
        assert str(refused.value) == sentence
        assert_nothing_written(before)
    give_back("r" * MAX_REASON)


def test_an_empty_required_note_is_one_sentence(rules_world):
    before = table_state()
    with pytest.raises(InvalidInput, match=r"^The note cannot be empty\.$"):
        orders.add_note(ADMIN, rules_world.open_order, note=" \n ", expected_version=1)
    assert_nothing_written(before)
