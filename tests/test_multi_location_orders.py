"""Orders whose lines are allocated from several locations: every fix keeps each bin exact.

After every step the reserved figure of every (location, sku) bin is compared with what the
order's lines hold, bin by bin, and the ledger still adds up (order_helpers' invariant 4).
"""

from __future__ import annotations

import pytest

from queries import orders
from tests import factories
from tests.factories import ADMIN, SUPPORT_EU
from tests.order_helpers import (
    BERLIN,
    assert_reservations_exact,
    customer,
    lines_of,
    on_hand_by_bin,
    reserved_by_bin,
)

BER, PAR, MAD = "WH-BER-1", "WH-PAR-1", "WH-MAD-1"


@pytest.fixture
def spread(db):
    """A Berlin customer whose order cannot come from Berlin alone.

    Berlin has 6 of SKU-1 and no SKU-2; Paris has both; Madrid has SKU-2 and SKU-3.
    """
    factories.add_location(BER, "EU", "warehouse", "Berlin", *BERLIN)
    factories.add_location(PAR, "EU", "warehouse", "Paris", 48.86, 2.35)
    factories.add_location(MAD, "EU", "warehouse", "Madrid", 40.42, -3.70)
    for sku in ("SKU-1", "SKU-2", "SKU-3"):
        factories.add_product(sku)
    factories.add_stock(BER, "SKU-1", 6)
    factories.add_stock(PAR, "SKU-1", 40)
    factories.add_stock(PAR, "SKU-2", 40)
    factories.add_stock(MAD, "SKU-2", 40)
    factories.add_stock(MAD, "SKU-3", 40)
    return customer()


def _place(customer_id: str) -> str:
    """Line 1: 4 × SKU-1 from Berlin; line 2: 3 × SKU-2 from Paris (the nearer one with it);
    line 3: 5 × SKU-1 from Paris (Berlin's 6 are 2 short after line 1)."""
    placed = orders.place_order(ADMIN, customer_id, [("SKU-1", 4), ("SKU-2", 3), ("SKU-1", 5)])
    assert placed["status"] == "allocated"
    oid = placed["order_id"]
    assert [(line["location_id"], line["reserved_qty"]) for line in lines_of(oid)] == [
        (BER, 4), (PAR, 3), (PAR, 5)]
    return oid


def _bins_are(expected: dict) -> None:
    assert reserved_by_bin() == expected
    assert_reservations_exact()


def test_cancel_releases_every_line_at_every_location(spread):
    before = on_hand_by_bin()
    oid = _place(spread)
    _bins_are({(BER, "SKU-1"): 4, (PAR, "SKU-1"): 5, (PAR, "SKU-2"): 3})
    result = orders.cancel_order(SUPPORT_EU, oid, expected_version=1)
    assert result["status"] == "cancelled"
    _bins_are({})
    assert on_hand_by_bin() == before
    assert [(line["location_id"], line["reserved_qty"]) for line in lines_of(oid)] == [
        (None, 0), (None, 0), (None, 0)]


def test_line_fixes_keep_every_bin_exact(spread):
    oid = _place(spread)
    version = 1

    def step(command, **kwargs):
        nonlocal version
        version = command(SUPPORT_EU, oid, expected_version=version, **kwargs)["version"]

    step(orders.change_line_qty, line_no=1, qty=2)               # Berlin gives 2 back
    _bins_are({(BER, "SKU-1"): 2, (PAR, "SKU-1"): 5, (PAR, "SKU-2"): 3})
    step(orders.change_line_qty, line_no=3, qty=7)               # Paris holds 2 more
    _bins_are({(BER, "SKU-1"): 2, (PAR, "SKU-1"): 7, (PAR, "SKU-2"): 3})
    step(orders.reallocate_line, line_no=2, location_id=MAD)     # SKU-2 moves to Madrid
    _bins_are({(BER, "SKU-1"): 2, (PAR, "SKU-1"): 7, (MAD, "SKU-2"): 3})
    step(orders.add_line, sku="SKU-3", qty=4)                    # only Madrid has SKU-3
    _bins_are({(BER, "SKU-1"): 2, (PAR, "SKU-1"): 7, (MAD, "SKU-2"): 3, (MAD, "SKU-3"): 4})
    step(orders.remove_line, line_no=1)                          # Berlin is free again
    _bins_are({(PAR, "SKU-1"): 7, (MAD, "SKU-2"): 3, (MAD, "SKU-3"): 4})
    step(orders.hold_order)
    _bins_are({(PAR, "SKU-1"): 7, (MAD, "SKU-2"): 3, (MAD, "SKU-3"): 4})
    step(orders.change_line_qty, line_no=4, qty=1)               # on hold, lines still editable
    _bins_are({(PAR, "SKU-1"): 7, (MAD, "SKU-2"): 3, (MAD, "SKU-3"): 1})
    step(orders.cancel_order)                                    # two locations, three lines
    _bins_are({})


def test_shipping_consumes_each_line_where_it_is_held(spread):
    before = on_hand_by_bin()
    oid = _place(spread)
    orders.mark_picking(ADMIN, oid, expected_version=1)
    orders.mark_shipped(ADMIN, oid, expected_version=2)
    _bins_are({})
    after = on_hand_by_bin()
    assert {bin_: before[bin_] - after[bin_] for bin_ in before if before[bin_] != after[bin_]} == {
        (BER, "SKU-1"): 4, (PAR, "SKU-1"): 5, (PAR, "SKU-2"): 3}
