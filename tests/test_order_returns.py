"""Returns in parts: units per line, the order's status, the ledger, and every refusal."""

from __future__ import annotations

import pytest

from queries import orders
from queries.db import fetch_one
from queries.errors import InvalidInput, InvalidQuantity, InvalidTransition, StaleVersion
from queries.idempotency import new_key
from queries.invariants import find_violations
from tests.factories import ADMIN, SUPPORT_EU
from tests.order_helpers import customer, events_of, lines_of, order_row, stock
from tests.table_counts import assert_nothing_written, table_state


@pytest.fixture
def delivered(world):
    """A delivered EU order: line 1 is 3 × SKU-1, line 2 is 2 × SKU-2 (both from WH-BER-1)."""
    placed = orders.place_order(ADMIN, customer(), [("SKU-1", 3), ("SKU-2", 2)])
    oid, v = placed["order_id"], placed["version"]
    for step in (orders.mark_picking, orders.mark_shipped, orders.mark_delivered):
        v = step(ADMIN, oid, expected_version=v)["version"]
    assert order_row(oid)["status"] == "delivered"
    return oid, v


def give_back(oid, version, quantities=None, **kw):
    return orders.accept_return(SUPPORT_EU, oid, location_id="WH-PAR-1", reason="wrong size",
                                expected_version=version, quantities=quantities, **kw)


def return_ledger_units(oid) -> int:
    return fetch_one("SELECT COALESCE(sum(delta_on_hand), 0)::INT8 AS n FROM stock_movements "
                     "WHERE kind = 'return' AND ref_type = 'order' AND ref_id = %s", (oid,))["n"]


def test_a_partial_return_restocks_those_units_and_the_order_stays_delivered(delivered):
    oid, v = delivered
    result = give_back(oid, v, {1: 1})
    assert result["status"] == "delivered" and result["units"] == 1 and result["still_out"] == 4
    assert [line["returned_qty"] for line in lines_of(oid)] == [1, 0]
    assert stock("WH-PAR-1", "SKU-1")["on_hand"] == 101
    event = events_of(oid)[-1]
    assert event["kind"] == "partially_returned" and event["to_status"] == "delivered"
    assert event["details"]["still_out"] == 4 and event["actor"] == SUPPORT_EU.username

    result = give_back(oid, result["version"], {1: 2, 2: 2})
    assert result["status"] == "returned" and result["still_out"] == 0
    assert [line["returned_qty"] for line in lines_of(oid)] == [3, 2]
    assert stock("WH-PAR-1", "SKU-1")["on_hand"] == 103 and stock("WH-PAR-1", "SKU-2")["on_hand"] == 102
    assert events_of(oid)[-1]["kind"] == "returned"
    assert return_ledger_units(oid) == 5
    assert find_violations() == []


def test_no_quantities_returns_everything_still_out(delivered):
    oid, v = delivered
    v = give_back(oid, v, {2: 1})["version"]
    result = give_back(oid, v)
    assert result["status"] == "returned" and result["units"] == 4
    assert [line["returned_qty"] for line in lines_of(oid)] == [3, 2]
    assert return_ledger_units(oid) == 5


@pytest.mark.parametrize("quantities, error, words", [
    ({1: 4}, InvalidQuantity, "Line 1 (SKU-1) has 3 units left to return, not 4."),
    ({3: 1}, InvalidInput, "This order has no line 3."),
    ({1: -1}, InvalidQuantity, "cannot be negative"),
    ({1: 1.5}, InvalidQuantity, "whole number"),
    ({1: 0, 2: 0}, InvalidInput, "Choose at least one unit to return."),
    ({}, InvalidInput, "Choose at least one unit to return."),
])
def test_a_bad_return_says_why_and_writes_nothing(delivered, quantities, error, words):
    oid, v = delivered
    before = table_state()
    with pytest.raises(error) as err:
        give_back(oid, v, quantities)
    assert words in str(err.value)
    assert_nothing_written(before)
    assert [line["returned_qty"] for line in lines_of(oid)] == [0, 0]


def test_more_than_is_left_after_an_earlier_partial_return_is_refused(delivered):
    oid, v = delivered
    v = give_back(oid, v, {1: 2})["version"]
    before = table_state()
    with pytest.raises(InvalidQuantity, match="has 1 unit left to return, not 2"):
        give_back(oid, v, {1: 2})
    assert_nothing_written(before)


def test_a_fully_returned_order_takes_no_further_return(delivered):
    oid, v = delivered
    v = give_back(oid, v)["version"]
    with pytest.raises(InvalidTransition):
        give_back(oid, v, {1: 1})


def test_the_same_return_clicked_twice_applies_once(delivered):
    oid, v = delivered
    key = new_key()
    first = give_back(oid, v, {1: 1}, idempotency_key=key)
    again = give_back(oid, v, {1: 1}, idempotency_key=key)
    assert again["already_applied"] and again["version"] == first["version"]
    assert lines_of(oid)[0]["returned_qty"] == 1 and return_ledger_units(oid) == 1


def test_a_return_against_an_old_version_is_refused(delivered):
    oid, v = delivered
    give_back(oid, v, {1: 1})
    with pytest.raises(StaleVersion):
        give_back(oid, v, {2: 1})
    assert lines_of(oid)[1]["returned_qty"] == 0


def test_the_database_refuses_more_returned_than_ordered(delivered):
    import psycopg

    from queries.db import run_transaction

    oid, _ = delivered
    with pytest.raises(psycopg.errors.CheckViolation):
        run_transaction(lambda cur: cur.execute(
            "UPDATE order_lines SET returned_qty = qty + 1 WHERE order_id = %s", (oid,)))


def test_the_checker_finds_returned_units_the_ledger_does_not_show(delivered):
    from queries.db import run_transaction

    oid, v = delivered
    give_back(oid, v, {1: 1})
    run_transaction(lambda cur: cur.execute(
        "UPDATE order_lines SET returned_qty = 2 WHERE order_id = %s AND line_no = 1", (oid,)))
    found = [x for x in find_violations() if x.check == "returned units = return ledger"]
    assert len(found) == 1 and "2" in str(found[0].expected) and "1" in str(found[0].found)
