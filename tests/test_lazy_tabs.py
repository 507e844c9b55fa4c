"""Tabs do their work only when shown, a tab can be bookmarked, and cached reads never cross
who may see them (components.cached_reads)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from components import cached_reads
from queries import inventory, orders, overview, replenishment, rollups, stock, transfers
from queries.actor import Actor
from queries.idempotency import new_key
from tests.apptest import click, messages, open_app, select_tab
from tests.factories import ADMIN, MANAGER_EU, SUPPORT_EU
from tests.order_helpers import customer

MANAGER_NA = Actor("manager.na", "inventory_manager", ("NA",), "Nick Manager")

INVENTORY_TABS = ["Stock", "Adjust & count", "Bulk count", "Transfers", "Suggestions", "Ledger"]
# A widget only that tab's body draws.
INVENTORY_MARKERS = {"Stock": "inv_search", "Adjust & count": "adjust_sku",
                     "Bulk count": "bulk_file_0", "Transfers": "transfer_sku",
                     "Suggestions": "inv_suggestions_everywhere", "Ledger": "ledger_sku"}
ORDER_TABS = ["Lines", "Status", "History", "Address", "Note", "Return"]


def widget_keys(at: AppTest) -> set[str]:
    return {widget.key for kind in ("text_input", "text_area", "toggle", "selectbox",
                                    "number_input", "file_uploader", "button")
            for widget in at.get(kind) if widget.key}


def tabs_shown(at: AppTest) -> list[str]:
    keys = widget_keys(at)
    return [tab for tab, key in INVENTORY_MARKERS.items() if key in keys]


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def counting(monkeypatch, module, name: str) -> list:
    """Replace module.name by a wrapper that records each call; returns the record."""
    calls: list = []
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


# ---------------------------------------------------------------- Inventory


@pytest.mark.parametrize("actor", [MANAGER_EU, ADMIN], ids=["inventory_manager", "admin"])
def test_each_inventory_tab_shows_its_own_content_and_only_it(world, actor):
    transfers.create_transfer(MANAGER_EU, from_location_id="WH-PAR-1", to_location_id="WH-BER-1",
                              sku="SKU-2", qty=5, idempotency_key=new_key())
    at = open_app(actor, "pages/inventory.py")
    assert [t.label for t in at.tabs] == INVENTORY_TABS
    assert tabs_shown(at) == ["Stock"]
    for tab in INVENTORY_TABS[1:] + INVENTORY_TABS[:1]:
        select_tab(at, "tab", tab)
        assert tabs_shown(at) == [tab]
        assert not messages(at)["error"]
    select_tab(at, "tab", "Transfers")
    assert list(at.dataframe[0].value["sku"]) == ["SKU-2"]  # the open transfer
    select_tab(at, "tab", "Ledger")
    assert at.get("plotly_chart")


def test_a_closed_tab_runs_none_of_its_queries(world, monkeypatch):
    reads = {name: counting(monkeypatch, module, name) for module, name in [
        (stock, "stock_at_location"), (transfers, "open_transfers"),
        (replenishment, "open_suggestions"), (stock, "ledger_with_running_balance"),
        (stock, "stock_as_of")]}
    at = open_app(MANAGER_EU, "pages/inventory.py", query={"tab": "Adjust & count"})
    assert {name: len(calls) for name, calls in reads.items()} == dict.fromkeys(reads, 0)
    assert tabs_shown(at) == ["Adjust & count"] and not at.dataframe

    select_tab(at, "tab", "Transfers")
    assert {name: len(calls) for name, calls in reads.items()} == {
        "stock_at_location": 0, "open_transfers": 1, "open_suggestions": 0,
        "ledger_with_running_balance": 0, "stock_as_of": 0}


def test_a_form_submitted_in_a_tab_runs_in_that_tab(world):
    at = open_app(MANAGER_EU, "pages/inventory.py", query={"tab": "Adjust & count"})
    at.text_input(key="adjust_sku").input("SKU-1")
    at.number_input(key="adjust_qty").set_value(-3)
    at.selectbox(key="adjust_reason").set_value("damaged")
    click(at, "adjust_submit")
    assert messages(at)["success"] == [
        "SKU-1 at WH-BER-1: -3 (damaged); on hand now 97, available 97."]
    assert tabs_shown(at) == ["Adjust & count"]
    assert metric(at, "On hand") == "297"  # the header's totals are read fresh after a write


def test_a_bookmarked_tab_opens_and_a_stale_one_falls_back_to_the_first(world):
    at = open_app(MANAGER_EU, "pages/inventory.py", query={"tab": "Ledger"})
    assert at.session_state["tab"] == "Ledger"
    assert tabs_shown(at) == ["Ledger"]
    at = open_app(MANAGER_EU, "pages/inventory.py", query={"tab": "No such tab"})
    assert tabs_shown(at) == ["Stock"]


# ---------------------------------------------------------------- Orders


@pytest.mark.parametrize("actor", [SUPPORT_EU, ADMIN], ids=["support", "admin"])
def test_each_order_tab_shows_its_own_content(world, actor):
    order_id = orders.place_order(ADMIN, customer(), [("SKU-1", 2)])["order_id"]
    at = open_app(actor, "pages/orders.py")
    at.text_input(key="search_id").input(order_id[:13])
    click(at, "search_submit")
    assert [t.label for t in at.tabs] == ORDER_TABS
    marker = {"Lines": "fix_add_sku", "Status": "orders_action_hold",
              "Address": "fix_address_text", "Note": "fix_note_text"}
    for tab in ORDER_TABS:
        select_tab(at, "order_tab", tab)
        keys = widget_keys(at)
        assert [t for t, key in marker.items() if key in keys] == ([tab] if tab in marker else [])
        assert not messages(at)["error"]
        if tab == "History":
            assert any("**Placed**" in m.value for m in at.markdown)
        if tab == "Return":
            assert messages(at)["info"] == ["Only a delivered order can be returned."]


def test_a_bookmarked_order_tab_opens(world):
    order_id = orders.place_order(ADMIN, customer(), [("SKU-1", 2)])["order_id"]
    at = open_app(SUPPORT_EU, "pages/orders.py", query={"order_tab": "History"})
    at.text_input(key="search_id").input(order_id[:13])
    click(at, "search_submit")
    assert any("**Placed**" in m.value for m in at.markdown)
    assert "fix_add_sku" not in widget_keys(at)


# ---------------------------------------------------------------- cached reads


def test_cached_reads_never_cross_scopes(world, monkeypatch):
    """Two managers of different regions and admin, one after the other in one process: each
    sees the numbers of their own regions; a repeat inside the ttl reuses its own entry."""
    stock_reads = counting(monkeypatch, overview, "stock_groups")
    location_reads = counting(monkeypatch, cached_reads.locations, "visible")

    def units_on_hand(actor: Actor) -> str:
        return metric(open_app(actor, "pages/overview.py"), "Units on hand")

    assert units_on_hand(MANAGER_EU) == "600"
    assert units_on_hand(MANAGER_NA) == "300"
    assert units_on_hand(ADMIN) == "900"
    assert units_on_hand(MANAGER_EU) == "600"
    assert [args[0].regions for args in stock_reads] == [("EU",), ("NA",), ()]

    def location_choices(actor: Actor) -> list[str]:
        return open_app(actor, "pages/inventory.py").selectbox(key="inv_location").options

    assert location_choices(MANAGER_NA) == ["ST-NYC-1 · New York store (NA)"]
    assert location_choices(MANAGER_EU) == ["WH-BER-1 · Berlin warehouse (EU)",
                                            "WH-PAR-1 · Paris warehouse (EU)"]
    assert location_choices(MANAGER_NA) == ["ST-NYC-1 · New York store (NA)"]
    assert [args[0].regions for args in location_reads] == [("NA",), ("EU",)]
    # The cached read sees the scope only, never who asked.
    assert {args[0].username for args in stock_reads + location_reads} == {
        cached_reads.SCOPE_USERNAME}


def test_same_scope_shares_an_entry_and_a_write_can_drop_them_all(world, monkeypatch):
    stock_reads = counting(monkeypatch, overview, "stock_groups")
    colleague = Actor("manager.eu.2", "inventory_manager", ("EU",), "Emil Manager")
    assert metric(open_app(MANAGER_EU, "pages/overview.py"), "Units on hand") == "600"
    assert metric(open_app(colleague, "pages/overview.py"), "Units on hand") == "600"
    assert len(stock_reads) == 1

    inventory.adjust_stock(MANAGER_EU, location_id="WH-BER-1", sku="SKU-1", qty=-10,
                           reason="damaged", idempotency_key=new_key())
    assert metric(open_app(MANAGER_EU, "pages/overview.py"), "Units on hand") == "600"  # ttl
    rollups.refresh()  # Overview's stock figures are the rollup's, as of its refresh
    assert metric(open_app(MANAGER_EU, "pages/overview.py"), "Units on hand") == "600"  # ttl
    cached_reads.forget_after_write()
    assert metric(open_app(MANAGER_EU, "pages/overview.py"), "Units on hand") == "590"
    assert len(stock_reads) == 2
