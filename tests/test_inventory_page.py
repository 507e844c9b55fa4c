"""The Inventory page through Streamlit's AppTest, against a real database: each form succeeds
on good input and shows the error sentence on bad input; a repeated submit applies once."""

from __future__ import annotations

from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from queries import inventory, replenishment, transfers
from queries.actor import SYSTEM
from queries.db import fetch_one, run_transaction
from queries.idempotency import new_key
from queries.replenishment import StockLevel
from tests.apptest import click, messages, open_app, table_with
from tests.factories import MANAGER_EU, SUPPORT_EU, count_rows
from tests.table_counts import assert_nothing_written, table_state


def open_page(actor=MANAGER_EU, tab: str = "Stock") -> AppTest:
    """The page with `tab` open: only the open tab's body runs (its key is `tab`)."""
    return open_app(actor, "pages/inventory.py", state={"tab": tab})


def on_hand(location_id: str, sku: str) -> int:
    return fetch_one("SELECT on_hand FROM stock WHERE location_id = %s AND sku = %s",
                     (location_id, sku))["on_hand"]


def test_page_shows_only_the_managers_locations_and_their_stock(world):
    at = open_page()
    assert at.title[0].value == "Inventory"
    assert at.selectbox(key="inv_location").options == [
        "WH-BER-1 · Berlin warehouse (EU)", "WH-PAR-1 · Paris warehouse (EU)"]
    stock = table_with(at, "cover")
    assert list(stock["sku"]) == ["SKU-1", "SKU-2", "SKU-3"]
    assert list(stock["status"]) == ["OK"] * 3
    at.text_input(key="inv_search").input("sku-2")
    at.run()
    assert list(table_with(at, "cover")["sku"]) == ["SKU-2"]
    inventory.adjust_stock(MANAGER_EU, location_id="WH-BER-1", sku="SKU-3", qty=-97,
                           reason="damaged", idempotency_key=new_key())
    at.text_input(key="inv_search").input("")
    at.toggle(key="inv_only_low").set_value(True)
    at.run()
    assert [(r.sku, r.status) for r in table_with(at, "cover").itertuples()] == [("SKU-3", "Low")]


def test_support_cannot_reach_the_page(world):
    at = open_app(SUPPORT_EU)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/inventory.py")
        at.run()


def test_the_page_refuses_a_role_even_when_run_without_the_navigation(world):
    """Streamlit's pages-directory mode can run pages/inventory.py directly (in AppTest, once
    another page ran); the page itself then refuses the role."""
    at = open_app(SUPPORT_EU, "pages/overview.py")
    try:
        at.switch_page("pages/inventory.py")
    except ValueError:
        return  # not reachable at all: nothing more to show
    at.run()
    assert not at.exception, at.exception
    assert messages(at)["error"] == ["The Inventory page is not available to the support role."]
    assert not at.title or at.title[0].value != "Inventory"


def test_adjust_form_success_and_error(world):
    at = open_page(tab="Adjust & count")
    at.text_input(key="adjust_sku").input("SKU-1")
    at.number_input(key="adjust_qty").set_value(-3)
    at.selectbox(key="adjust_reason").set_value("damaged")
    click(at, "adjust_submit")
    assert messages(at)["success"] == [
        "SKU-1 at WH-BER-1: -3 (damaged); on hand now 97, available 97."]
    assert on_hand("WH-BER-1", "SKU-1") == 97

    rows, before = count_rows("stock_movements"), table_state()
    at.text_input(key="adjust_sku").input("SKU-1")
    at.number_input(key="adjust_qty").set_value(4)
    at.selectbox(key="adjust_reason").set_value("other")
    at.text_input(key="adjust_note").input("")
    click(at, "adjust_submit")
    assert messages(at)["error"] == ["Please explain an 'other' adjustment in the note."]
    assert_nothing_written(before)
    key = at.session_state["form_key_adjust"]  # kept for the corrected submit

    at.text_input(key="adjust_note").input("found behind the shelf")
    click(at, "adjust_submit")
    assert (messages(at)["success"], messages(at)["error"]) == (
        ["SKU-1 at WH-BER-1: +4 (other); on hand now 101, available 101."], [])
    assert count_rows("stock_movements") == rows + 1
    assert fetch_one("SELECT count(*) AS n FROM idempotency_keys WHERE key = %s", (key,))["n"] == 1
    assert at.session_state["form_key_adjust"] != key


def test_a_repeated_submit_with_the_same_key_applies_once(world):
    """A double click whose first run was cut short before the key was renewed."""
    at = open_page(tab="Adjust & count")
    key = new_key()
    at.session_state["form_key_adjust"] = key
    at.text_input(key="adjust_sku").input("SKU-2")
    at.number_input(key="adjust_qty").set_value(5)
    at.selectbox(key="adjust_reason").set_value("received")
    click(at, "adjust_submit")
    assert on_hand("WH-BER-1", "SKU-2") == 105
    assert at.session_state["form_key_adjust"] != key  # renewed after success
    at.session_state["form_key_adjust"] = key  # the second click arrives with the old key
    click(at, "adjust_submit")
    assert messages(at)["info"][0] == (
        "Already done — SKU-2 at WH-BER-1: +5 (received); on hand now 105, available 105; "
        "nothing changed again.")
    assert on_hand("WH-BER-1", "SKU-2") == 105


def test_count_form_success_and_error(world):
    at = open_page(tab="Adjust & count")
    at.text_input(key="count_sku").input("SKU-3")
    at.number_input(key="count_qty").set_value(88)
    click(at, "count_submit")
    assert messages(at)["success"] == ["Counted 88 of SKU-3: difference -12, on hand now 88."]
    assert on_hand("WH-BER-1", "SKU-3") == 88

    before = table_state()
    at.text_input(key="count_sku").input("SKU-404")
    click(at, "count_submit")
    assert messages(at)["error"] == ["There is no product with SKU 'SKU-404'."]
    assert_nothing_written(before)


def test_bulk_count_preview_then_apply(world):
    at = open_page(tab="Bulk count")
    at.file_uploader[0].set_value(
        ("count.csv", b"location,sku,counted\nWH-BER-1,SKU-1,90\nWH-PAR-1,SKU-2,104\n", "text/csv"))
    at.run()
    assert not at.exception, at.exception
    preview = table_with(at, "difference")
    assert list(preview["difference"]) == [-10, 4]
    assert on_hand("WH-BER-1", "SKU-1") == 100  # nothing applied before the confirmation
    click(at, "bulk_apply")
    assert "Applied 2 counts: 2 changed, net -6 units." in messages(at)["success"]
    assert (on_hand("WH-BER-1", "SKU-1"), on_hand("WH-PAR-1", "SKU-2")) == (90, 104)


def test_bulk_count_with_errors_shows_them_and_offers_no_apply(world):
    at = open_page(tab="Bulk count")
    at.file_uploader[0].set_value(
        ("count.csv", b"location,sku,counted\nWH-BER-1,SKU-1,90\nWH-PAR-1,SKU-2,x\n"
                      b"ST-NYC-1,SKU-2,5\n", "text/csv"))
    at.run()
    assert not at.exception, at.exception
    [error] = messages(at)["error"]
    assert error.startswith("2 problem(s)")
    assert "Row 3, column counted: The count must be a whole number, not 'x'." in error
    assert "Row 4, column location: you may only count stock in EU, not in NA." in error
    assert not [b for b in at.button if b.key == "bulk_apply"]
    assert on_hand("WH-BER-1", "SKU-1") == 100


def test_transfer_form_ships_and_refuses_too_much(world):
    at = open_page(tab="Transfers")
    at.selectbox(key="transfer_to").set_value("WH-PAR-1")
    at.text_input(key="transfer_sku").input("SKU-1")
    at.number_input(key="transfer_qty").set_value(30)
    click(at, "transfer_submit")
    [success] = messages(at)["success"]
    assert success.startswith("Shipped 30 of SKU-1 to WH-PAR-1")
    assert on_hand("WH-BER-1", "SKU-1") == 70
    assert list(table_with(at, "direction")["qty"]) == [30]

    before = table_state()
    at.text_input(key="transfer_sku").input("SKU-1")
    at.number_input(key="transfer_qty").set_value(500)
    click(at, "transfer_submit")
    assert messages(at)["error"][0].startswith("Only 70 of SKU-1 available at WH-BER-1")
    assert_nothing_written(before)


def ship_to_berlin(qty: int = 10) -> str:
    return transfers.create_transfer(MANAGER_EU, from_location_id="WH-PAR-1",
                                     to_location_id="WH-BER-1", sku="SKU-2", qty=qty,
                                     idempotency_key=new_key())["transfer_id"]


def test_receive_form_short_receipt_and_missing_reason(world):
    transfer_id = ship_to_berlin(10)
    at = open_page(tab="Transfers")
    click(at, "receive_submit")
    assert messages(at)["error"] == ["Choose the incoming transfer to receive."]
    before = table_state()
    at.selectbox(key="receive_transfer").set_value(transfer_id)
    at.number_input(key="receive_qty").set_value(8)
    click(at, "receive_submit")
    assert messages(at)["error"] == [
        "2 units are missing: choose why (damaged, theft_or_loss, other)."]
    assert_nothing_written(before)

    at.selectbox(key="receive_transfer").set_value(transfer_id)
    at.number_input(key="receive_qty").set_value(8)
    at.selectbox(key="receive_reason").set_value("theft_or_loss")
    click(at, "receive_submit")
    assert messages(at)["success"] == ["Received 8 of 10 SKU-2; 2 written off (theft_or_loss)."]
    assert on_hand("WH-BER-1", "SKU-2") == 108
    assert at.selectbox(key="receive_transfer").options == []


def test_cancel_form_returns_stock_and_a_vanished_choice_cancels_nothing(world):
    first = ship_to_berlin(10)
    at = open_page(tab="Transfers")
    at.selectbox(key="cancel_transfer").set_value(first)
    click(at, "cancel_submit")
    assert messages(at)["success"] == ["Cancelled: 10 of SKU-2 back on hand at WH-PAR-1."]
    assert on_hand("WH-PAR-1", "SKU-2") == 100

    # The chosen transfer is cancelled by someone else before this submit arrives: the
    # choice is emptied (never moved to the other open transfer) and nothing is written.
    chosen, bystander = ship_to_berlin(2), ship_to_berlin(3)
    at.run()
    at.selectbox(key="cancel_transfer").set_value(chosen)
    transfers.cancel_transfer(MANAGER_EU, transfer_id=chosen, idempotency_key=new_key())
    before = table_state()
    click(at, "cancel_submit")
    assert messages(at)["error"] == ["Choose the open transfer to cancel."]
    assert_nothing_written(before)
    assert transfers.transfer_by_id(MANAGER_EU, bystander)["status"] == "in_transit"


def test_ledger_tab_draws_the_chart_and_the_as_of_view(world):
    transfers.create_transfer(MANAGER_EU, from_location_id="WH-BER-1", to_location_id="WH-PAR-1",
                              sku="SKU-1", qty=25, idempotency_key=new_key())
    at = open_page(tab="Ledger")
    at.selectbox(key="ledger_sku").set_value("SKU-1")
    at.run()
    assert not at.exception, at.exception
    assert at.get("plotly_chart")
    ledger = table_with(at, "delta_on_hand")
    # The Kind column shows the labels of queries.vocabulary, not the stored codes.
    assert list(ledger["kind"]) == ["Transfer out", "Adjustment"]
    assert list(ledger["on_hand"]) == [75, 100]
    at.date_input(key="asof_date").set_value(date(2001, 1, 1))
    at.run()
    assert any(c.value.startswith("Rebuilt from 0 ledger rows up to 2001-01-01")
               for c in at.caption)


def low_stock_suggestion() -> dict:
    """WH-BER-1 reports 2 of SKU-1 (reorder point 5): the worker suggests a move from WH-PAR-1."""
    observed = replenishment.observe_stock_level(StockLevel(
        "WH-BER-1", "SKU-1", on_hand=2, reserved=0, reorder_point=5,
        updated=(1_800_000_000_000_000_000, 0)), SYSTEM)
    return observed.suggestion


def accept_writes() -> dict:
    """Everything accepting a suggestion writes: a transfer, two movements, the stock rows, the
    key and the suggestion's decision."""
    return dict(fetch_one(
        "SELECT (SELECT count(*) FROM transfers) AS transfers, "
        "(SELECT count(*) FROM stock_movements) AS movements, "
        "(SELECT count(*) FROM idempotency_keys) AS keys, "
        "(SELECT count(*) FROM stock) AS stock_rows, "
        "(SELECT sum(version) FROM stock) AS stock_versions, "
        "(SELECT count(*) FROM replenishment_suggestions WHERE status = 'open') AS open"))


def accepted_sentence(suggestion_id: str, qty: int) -> str:
    transfer_id = replenishment.suggestion(suggestion_id)["transfer_id"]
    return (f"Accepted the suggestion: transfer {transfer_id[:8]} takes {qty} × SKU-1 from "
            "WH-PAR-1 to WH-BER-1.")


def test_a_manager_accepts_a_replenishment_suggestion_on_the_page_once(world):
    suggestion = low_stock_suggestion()
    suggestion_id = suggestion["id"]
    transfers_before = count_rows("transfers")
    at = open_page(tab="Suggestions")
    assert any("Move **" in m.value and "WH-BER-1" in m.value for m in at.markdown)
    click(at, f"suggestion_accept_{suggestion_id}")
    assert messages(at)["success"] == [accepted_sentence(suggestion_id, suggestion["qty"])]
    assert count_rows("transfers") == transfers_before + 1
    assert replenishment.suggestion(suggestion_id)["status"] == "accepted"
    assert not [b for b in at.button if b.key == f"suggestion_accept_{suggestion_id}"]


def test_a_repeated_accept_says_already_done_and_writes_nothing(world, monkeypatch):
    """A double click: the second run read the list before the first one's commit, so it still
    shows the button, and it carries the same key (the first run was cut short before it
    renewed it)."""
    suggestion = low_stock_suggestion()
    suggestion_id, slot = suggestion["id"], f"form_key_suggestion_accept_{suggestion['id']}"
    seen = replenishment.open_suggestions(MANAGER_EU, "WH-BER-1")
    monkeypatch.setattr(replenishment, "open_suggestions", lambda *args, **kwargs: seen)
    at = open_page(tab="Suggestions")
    key = new_key()
    at.session_state[slot] = key
    click(at, f"suggestion_accept_{suggestion_id}")
    sentence = accepted_sentence(suggestion_id, suggestion["qty"])
    assert messages(at)["success"] == [sentence]
    writes = accept_writes()

    at.session_state[slot] = key
    click(at, f"suggestion_accept_{suggestion_id}")
    assert messages(at)["success"] == []
    assert f"Already done — {sentence[:-1]}; nothing changed again." in messages(at)["info"]
    assert accept_writes() == writes


def test_a_refused_accept_keeps_its_key_and_the_retry_applies_once(world):
    suggestion = low_stock_suggestion()
    suggestion_id, slot = suggestion["id"], f"form_key_suggestion_accept_{suggestion['id']}"
    at = open_page(tab="Suggestions")
    run_transaction(lambda cur: cur.execute(  # everything at the source is promised meanwhile
        "UPDATE stock SET reserved = on_hand WHERE location_id = 'WH-PAR-1' AND sku = 'SKU-1'"))
    writes = accept_writes()
    click(at, f"suggestion_accept_{suggestion_id}")
    [error] = messages(at)["error"]
    assert error.startswith("Only 0 of SKU-1 available at WH-PAR-1")
    assert accept_writes() == writes
    key = at.session_state[slot]

    run_transaction(lambda cur: cur.execute(
        "UPDATE stock SET reserved = 0 WHERE location_id = 'WH-PAR-1' AND sku = 'SKU-1'"))
    click(at, f"suggestion_accept_{suggestion_id}")
    assert messages(at)["success"] == [accepted_sentence(suggestion_id, suggestion["qty"])]
    after = accept_writes()
    assert (after["transfers"], after["movements"], after["keys"], after["open"]) == (
        writes["transfers"] + 1, writes["movements"] + 2, writes["keys"] + 1, writes["open"] - 1)
    assert fetch_one("SELECT count(*) AS n FROM idempotency_keys WHERE key = %s", (key,))["n"] == 1
    assert at.session_state[slot] != key  # renewed after the success


def test_a_manager_dismisses_a_suggestion(world):
    suggestion_id = low_stock_suggestion()["id"]
    at = open_page(tab="Suggestions")
    click(at, f"suggestion_dismiss_{suggestion_id}")
    assert messages(at)["success"] == ["Dismissed the suggestion for SKU-1 at WH-BER-1."]
    assert replenishment.suggestion(suggestion_id)["status"] == "dismissed"
