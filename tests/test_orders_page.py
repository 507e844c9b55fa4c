"""The Orders page through Streamlit's AppTest, against a real database."""

from __future__ import annotations

from datetime import UTC

import pytest
from streamlit.testing.v1 import AppTest

from queries import orders
from tests.apptest import click, messages, open_app, run_page_alone, select_tab, table_with
from tests.factories import ADMIN, HQ, SUPPORT_EU
from tests.order_helpers import (
    PARIS,
    assert_reservations_exact,
    customer,
    events_of,
    lines_of,
    order_row,
    receive,
    stock,
)
from tests.table_counts import assert_nothing_written, table_state

ORDERS = "pages/orders.py"


@pytest.fixture
def shop(world):
    jane = customer()
    weird = customer("100% Real_Person", "odd@example.com", "EU", "Somewhere 1", PARIS)
    zoe = customer("Zoë Ærø", "zoe@example.dk", "EU", "Strandvej 2", PARIS)
    return {
        "jane": orders.place_order(ADMIN, jane, [("SKU-1", 3), ("SKU-2", 1)])["order_id"],
        "weird": orders.place_order(ADMIN, weird, [("SKU-1", 1)])["order_id"],
        "zoe": orders.place_order(ADMIN, zoe, [("SKU-3", 2)])["order_id"],
        "pending": orders.place_order(ADMIN, jane, [("SKU-2", 150)])["order_id"],
    }


def orders_page(actor=SUPPORT_EU) -> AppTest:
    return open_app(actor, ORDERS)


def search(at: AppTest, **fields) -> AppTest:
    for name, value in fields.items():
        at.text_input(key=f"search_{name}").input(value)
    return click(at, "search_submit")


def open_order(order_id: str, actor=SUPPORT_EU, tab: str = "Lines") -> AppTest:
    """Search by the id prefix: a single result opens by itself, on `tab` (only the open tab of
    an order runs; the tabs' key is `order_tab`)."""
    at = orders_page(actor)
    at.session_state["order_tab"] = tab
    at = search(at, id=order_id[:13])
    assert at.subheader[1].value.startswith(f"Order {order_id[:8]}")
    return at


def show_tab(at: AppTest, tab: str) -> AppTest:
    """Click another tab of the open order (the tabs' key is `order_tab`)."""
    return select_tab(at, "order_tab", tab)


def results(at: AppTest):
    """The table of orders found."""
    return table_with(at, "customer")


# ---------------------------------------------------------------- tiles, search, selection

def test_tiles_and_funnel(shop):
    at = orders_page()
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Pending"] == "1" and tiles["Allocated"] == "3" and tiles["Late"] == "0"
    assert len(at.get("plotly_chart")) == 2


def test_search_with_filters_and_select_a_row(shop):
    at = orders_page()
    assert len(results(at)) == 4
    search(at, customer="JA")
    assert sorted(results(at)["customer"]) == ["Jane Doe", "Jane Doe"]
    search(at, customer="100%")
    assert list(results(at)["customer"]) == ["100% Real_Person"]
    search(at, customer="zoë æ")
    assert list(results(at)["customer"]) == ["Zoë Ærø"]
    search(at, customer="%")
    assert messages(at)["info"] == ["No orders match these filters."]
    search(at, customer="", id="zz'--")
    assert messages(at)["error"] == [
        "An order id has only the characters 0-9, a-f and dashes (up to 32 digits)."]
    search(at, id="", sku="SKU-1")
    assert len(results(at)) == 2
    at.selectbox(key="search_status").set_value("pending")
    search(at, sku="")
    assert list(results(at)["status"]) == ["pending"]
    # Choosing a row opens the order.
    at.selectbox(key="search_status").set_value("any")
    search(at)
    at.session_state[at.dataframe[0].key] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    assert at.subheader[1].value.startswith(f"Order {results(at)['order'][0]}")
    assert [e.value for e in at.get("text") if e.value.startswith("Ship to")]


def test_the_detail_shows_lines_and_timeline(shop):
    orders.add_note(ADMIN, shop["jane"], note="Customer called about delivery", expected_version=1)
    at = open_order(shop["jane"])
    lines = at.dataframe[1].value  # results, then the lines of the open order
    assert list(lines["sku"]) == ["SKU-1", "SKU-2"] and list(lines["reserved"]) == [3, 1]
    show_tab(at, "History")
    texts = [t.value for t in at.get("text")]
    assert "Note: Customer called about delivery" in texts
    assert any(m.value.startswith(":material/add_shopping_cart: **Placed**") for m in at.markdown)


# ---------------------------------------------------------------- line fixes

def test_change_quantity_add_reallocate_and_remove_lines(shop):
    oid = shop["jane"]
    at = open_order(oid)
    at.number_input(key="fix_qty_qty").set_value(0)
    click(at, "fix_qty_submit")
    assert messages(at)["error"] == ["Quantity must be a whole number above zero, not 0."]
    at.number_input(key="fix_qty_qty").set_value(5)
    click(at, "fix_qty_submit")
    assert messages(at)["success"] == ["Line 1 now has quantity 5."]
    assert lines_of(oid)[0]["qty"] == 5 and stock("WH-BER-1", "SKU-1")["reserved"] == 5

    at.text_input(key="fix_add_sku").input("SKU-3")
    at.number_input(key="fix_add_qty").set_value(2)
    click(at, "fix_add_submit")
    assert messages(at)["success"] == ["Added 2 × SKU-3."]
    assert [line["sku"] for line in lines_of(oid)] == ["SKU-1", "SKU-2", "SKU-3"]

    at.selectbox(key="fix_move_line").set_value(1)
    at.run()
    at.selectbox(key="fix_move_location").set_value("WH-PAR-1")
    click(at, "fix_move_submit")
    assert messages(at)["success"] == ["Line 1 is now allocated at WH-PAR-1."]
    assert lines_of(oid)[0]["location_id"] == "WH-PAR-1"

    at.selectbox(key="fix_remove_line").set_value(2)
    click(at, "fix_remove_submit")
    assert messages(at)["success"] == ["Removed line 2; what it held is released."]
    assert [line["line_no"] for line in lines_of(oid)] == [1, 3]
    assert [e["kind"] for e in events_of(oid)] == \
        ["placed", "line_qty_changed", "line_added", "line_reallocated", "line_removed"]
    assert_reservations_exact()


def test_adding_more_than_is_available_shows_the_sentence_and_writes_nothing(shop):
    at = open_order(shop["jane"])
    before = table_state()
    at.text_input(key="fix_add_sku").input("SKU-3")
    at.number_input(key="fix_add_qty").set_value(500)
    click(at, "fix_add_submit")
    assert messages(at)["error"] == ["No active location has 500 of SKU-3 available."]
    assert_nothing_written(before)


# ---------------------------------------------------------------- status changes through the dialog

def confirm(at: AppTest, action: str, note: str = "") -> AppTest:
    click(at, f"orders_action_{action}")
    if note:
        at.text_area(key="orders_confirm_note").input(note)
    return click(at, "orders_confirm_go")


def return_units(at: AppTest, line_no: int):
    (field,) = [n for n in at.number_input if n.label.startswith(f"Line {line_no}:")]
    return field


def test_hold_release_pick_ship_deliver_and_return(shop):
    oid = shop["zoe"]
    at = open_order(oid, tab="Status")
    confirm(at, "hold", note="waiting for payment")
    assert messages(at)["success"] == ["Put on hold: done — the order is now on hold."]
    assert order_row(oid)["held_from_status"] == "allocated"
    assert events_of(oid)[-1]["note"] == "waiting for payment"
    confirm(at, "release")
    assert messages(at)["success"] == ["Release hold: done — the order is now allocated."]
    confirm(at, "picking")
    confirm(at, "shipped")
    assert stock("WH-PAR-1", "SKU-3") == {"on_hand": 98, "reserved": 0}
    confirm(at, "delivered")
    assert order_row(oid)["status"] == "delivered"
    # One of the two units comes back first; the order stays delivered.
    show_tab(at, "Return")
    return_units(at, 1).set_value(1)
    at.selectbox(key="fix_return_location").set_value("WH-BER-1")
    at.text_input(key="fix_return_reason").input("arrived damaged")
    click(at, "fix_return_submit")
    assert messages(at)["success"] == ["Return accepted: 1 unit restocked at WH-BER-1. "
                           "1 still with the customer; the order stays delivered."]
    assert order_row(oid)["status"] == "delivered" and stock("WH-BER-1", "SKU-3")["on_hand"] == 101
    # The form now offers what is still out.
    assert return_units(at, 1).value == 1
    at.selectbox(key="fix_return_location").set_value("WH-BER-1")
    at.text_input(key="fix_return_reason").input("arrived damaged")
    click(at, "fix_return_submit")
    assert messages(at)["success"] == ["Return accepted: 1 unit restocked at WH-BER-1."]
    assert order_row(oid)["status"] == "returned" and stock("WH-BER-1", "SKU-3")["on_hand"] == 102
    assert "Every unit of this one is back." in messages(at)["info"][-1]
    assert_reservations_exact()


def test_cancel_and_allocate(shop):
    at = open_order(shop["jane"], tab="Status")
    confirm(at, "cancel", note="duplicate order")
    assert messages(at)["success"] == ["Cancel order: done — the order is now cancelled."]
    assert stock("WH-BER-1", "SKU-1")["reserved"] == 0
    assert not [b for b in at.button if b.key and b.key.startswith("orders_action_")]

    at = open_order(shop["pending"], tab="Status")
    confirm(at, "allocate")
    assert messages(at)["error"] == ["Cannot allocate yet: no active location has enough available for "
                          "line 1 (150 × SKU-2)."]
    assert order_row(shop["pending"])["status"] == "pending"
    receive("WH-PAR-1", "SKU-2", 100)  # stock arrives; the same dialog tries again
    click(at, "orders_confirm_go")
    assert messages(at)["success"] == ["Allocate now: done — the order is now allocated."]
    assert lines_of(shop["pending"])[0]["location_id"] == "WH-PAR-1"
    assert_reservations_exact()


# ---------------------------------------------------------------- address, notes, refusals

def test_address_and_notes(shop):
    oid = shop["jane"]
    at = open_order(oid, tab="Address")
    at.text_area(key="fix_address_text").input("Karl-Marx-Allee 9, Berlin")
    click(at, "fix_address_submit")
    assert messages(at)["success"] == ["The shipping address is changed."]
    assert order_row(oid)["ship_address"] == "Karl-Marx-Allee 9, Berlin"
    show_tab(at, "Note")
    before = table_state()
    at.text_area(key="fix_note_text").input("x" * 2001)
    click(at, "fix_note_submit")
    assert messages(at)["error"] == ["The note can be at most 2,000 characters; this one has 2,001."]
    assert_nothing_written(before)
    at.text_area(key="fix_note_text").input("Ünïcødé note with 'quotes' and %_\\")
    click(at, "fix_note_submit")
    assert messages(at)["success"] == ["Note added."]
    assert events_of(oid)[-1]["note"] == "Ünïcødé note with 'quotes' and %_\\"


def test_a_stale_page_is_refused_until_reloaded(shop):
    oid = shop["jane"]
    at = open_order(oid, tab="Note")
    orders.add_note(ADMIN, oid, note="changed meanwhile", expected_version=1)
    moment = order_row(oid)["updated_at"]
    before = table_state()
    at.text_area(key="fix_note_text").input("my note")
    click(at, "fix_note_submit")
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert messages(at)["error"] == [f"This order was changed by admin at {stamp}; reload."]
    assert_nothing_written(before)
    key_before = at.session_state["form_key_order_note"]
    assert "changed since you opened it" in at.warning[0].value
    click(at, "orders_reload")
    at.text_area(key="fix_note_text").input("my note")
    click(at, "fix_note_submit")
    assert messages(at)["success"] == ["Note added."]
    assert at.session_state["form_key_order_note"] != key_before  # a fresh key for the next note
    assert [e["note"] for e in events_of(oid)][-2:] == ["changed meanwhile", "my note"]


def test_a_repeated_fix_with_the_same_key_says_already_done_and_writes_nothing(shop):
    """A double click whose first run was cut short before the key was renewed."""
    oid = shop["jane"]
    at = open_order(oid, tab="Note")
    at.session_state["form_key_order_note"] = key = "a-double-click"
    at.text_area(key="fix_note_text").input("call the customer")
    click(at, "fix_note_submit")
    assert messages(at)["success"] == ["Note added."]
    before = table_state()
    at.session_state["form_key_order_note"] = key
    at.text_area(key="fix_note_text").input("call the customer")
    click(at, "fix_note_submit")
    assert messages(at)["success"] == [] and messages(at)["error"] == []
    assert messages(at)["info"][0] == "Already done — Note added; nothing changed again."
    assert_nothing_written(before)
    assert [e["note"] for e in events_of(oid)].count("call the customer") == 1


def test_admin_sees_all_regions_and_support_only_theirs(shop):
    nyc = customer("Nora North", "nora@example.us", "NA", "Broadway 1", None)
    na_order = orders.place_order(ADMIN, nyc, [("SKU-1", 1)])["order_id"]
    assert len(results(orders_page(ADMIN))) == 5
    at = search(orders_page(SUPPORT_EU), id=na_order[:13])
    assert messages(at)["info"] == ["No orders match these filters."]


def test_the_page_itself_turns_away_roles_that_cannot_fix_orders(shop):
    page = run_page_alone(HQ, ORDERS)
    assert messages(page)["error"] == ["The Orders page is not available to the hq viewer role."]
    assert len(page.dataframe) == 0 and len(page.button) == 0


def test_back_ordered_orders_are_tried_again_from_the_page(shop):
    at = orders_page()
    button = at.button(key="orders_allocate_waiting")
    assert button.label == "Try to allocate the 1 back-ordered order"
    button.click()
    at.run()
    assert messages(at)["success"] == ["Allocated 0 of 1 back-ordered order; 1 is still short of stock."]
    assert order_row(shop["pending"])["status"] == "pending"

    receive("WH-PAR-1", "SKU-2", 60)
    click(at, "orders_allocate_waiting")
    assert messages(at)["success"] == ["Allocated 1 of 1 back-ordered order."]
    assert order_row(shop["pending"])["status"] == "allocated"
    assert not [b for b in at.button if b.key == "orders_allocate_waiting"]
    assert_reservations_exact()
