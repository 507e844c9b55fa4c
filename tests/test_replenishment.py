"""Replenishment suggestions: what the worker writes and what managers decide."""

from __future__ import annotations

import threading

import pytest

from queries import replenishment
from queries.actor import SYSTEM, Actor
from queries.db import run_transaction
from queries.errors import AlreadyDone, Forbidden, InsufficientStock, InvalidInput, NotFound
from queries.idempotency import new_key
from queries.replenishment import StockLevel, observe_stock_level, target_quantity
from tests import factories
from tests.factories import ADMIN, HQ, MANAGER_EU, SUPPORT_EU, count_rows
from tests.table_counts import assert_nothing_written, table_state

MANAGER_NA = Actor("manager.na", "inventory_manager", ("NA",), "Nora Manager")


def _build_with_madrid() -> None:
    factories.add_location("WH-MAD-1", "EU", "warehouse", "Madrid", 40.4, -3.7)
    factories.add_stock("WH-MAD-1", "SKU-1", 300)


@pytest.fixture
def with_madrid(world_with) -> str:
    """The small world and a Madrid warehouse with 300 of SKU-1."""
    return world_with(_build_with_madrid)


def low(location_id: str, sku: str, available: int, t: int, reorder_point: int = 5) -> StockLevel:
    return StockLevel(location_id, sku, on_hand=available, reserved=0, reorder_point=reorder_point,
                      updated=(1_800_000_000_000_000_000 + t, 0))


def only_suggestion() -> dict:
    rows = replenishment.open_suggestions(ADMIN)
    assert len(rows) == 1
    return rows[0]


def test_the_source_is_the_location_in_the_same_region_with_the_largest_surplus(with_madrid):
    created = observe_stock_level(low("WH-BER-1", "SKU-1", 2, 1), SYSTEM).suggestion
    # EU: WH-PAR-1 has 95 spare, WH-MAD-1 has 295; ST-NYC-1 (NA) is never a source.
    assert created["from_location_id"] == "WH-MAD-1"
    assert created["qty"] == target_quantity(2, 5) == 8


def test_the_quantity_is_capped_by_what_the_source_can_spare(with_madrid):
    run_transaction(lambda cur: cur.execute(
        "UPDATE stock SET reserved = on_hand - 8 WHERE sku = 'SKU-2' AND location_id = 'WH-PAR-1'"))
    created = observe_stock_level(low("WH-BER-1", "SKU-2", 0, 1), SYSTEM).suggestion
    assert (created["from_location_id"], created["qty"]) == ("WH-PAR-1", 3)  # 8 available - 5


def test_managers_see_only_their_regions_and_support_sees_nothing_to_decide(with_madrid):
    observe_stock_level(low("WH-BER-1", "SKU-1", 2, 1))
    observe_stock_level(low("ST-NYC-1", "SKU-1", 2, 1))
    assert [s["location_id"] for s in replenishment.open_suggestions(MANAGER_EU)] == ["WH-BER-1"]
    assert [s["location_id"] for s in replenishment.open_suggestions(MANAGER_NA)] == ["ST-NYC-1"]
    assert len(replenishment.open_suggestions(ADMIN)) == 2
    assert [s["location_id"] for s in replenishment.open_suggestions(ADMIN, "ST-NYC-1")] == ["ST-NYC-1"]


def test_dismiss_records_who_and_a_double_click_applies_once(with_madrid):
    observe_stock_level(low("WH-BER-1", "SKU-1", 2, 1))
    suggestion_id = only_suggestion()["id"]
    key = new_key()
    first = replenishment.dismiss_suggestion(MANAGER_EU, suggestion_id, key)
    again = replenishment.dismiss_suggestion(MANAGER_EU, suggestion_id, key)
    assert first["status"] == "dismissed" and not first["already_applied"]
    assert again["already_applied"]
    row = replenishment.suggestion(suggestion_id)
    assert (row["status"], row["decided_by"]) == ("dismissed", "manager.eu")
    with pytest.raises(AlreadyDone, match="already dismissed"):
        replenishment.dismiss_suggestion(ADMIN, suggestion_id, new_key())


@pytest.mark.parametrize("actor,error", [
    (SUPPORT_EU, "not allowed to accept or dismiss"),
    (HQ, "not allowed to accept or dismiss"),
    (MANAGER_NA, "only accept or dismiss replenishment suggestions in NA, not in EU"),
])
def test_only_managers_of_the_region_decide_and_a_refusal_writes_nothing(with_madrid, actor, error):
    observe_stock_level(low("WH-BER-1", "SKU-1", 2, 1))
    suggestion_id = only_suggestion()["id"]
    before = table_state()
    for decide in (replenishment.dismiss_suggestion, replenishment.accept_suggestion):
        with pytest.raises(Forbidden, match=error):
            decide(actor, suggestion_id, new_key())
    assert only_suggestion()["status"] == "open"
    assert_nothing_written(before)


def test_an_unknown_suggestion_is_not_found(with_madrid):
    with pytest.raises(NotFound):
        replenishment.dismiss_suggestion(ADMIN, "00000000-0000-0000-0000-000000000000", new_key())


def test_a_suggestion_without_a_source_cannot_be_accepted_and_nothing_is_written(with_madrid):
    observe_stock_level(low("ST-NYC-1", "SKU-3", 1, 1))  # NA has no other location
    suggestion = only_suggestion()
    assert suggestion["from_location_id"] is None
    before = table_state()
    with pytest.raises(InvalidInput, match="No location in NA has spare SKU-3"):
        replenishment.accept_suggestion(ADMIN, suggestion["id"], new_key())
    assert only_suggestion()["status"] == "open"
    assert_nothing_written(before)


def test_accept_creates_the_transfer_once_and_records_it(with_madrid):
    observe_stock_level(low("WH-BER-1", "SKU-1", 2, 1))
    suggestion = only_suggestion()
    key = new_key()
    first = replenishment.accept_suggestion(MANAGER_EU, suggestion["id"], key)
    again = replenishment.accept_suggestion(MANAGER_EU, suggestion["id"], key)
    assert again["already_applied"] and again["transfer_id"] == first["transfer_id"]
    transfer = run_transaction(lambda cur: cur.execute(
        "SELECT from_location_id, to_location_id, sku, qty, status FROM transfers WHERE id::text = %s",
        (first["transfer_id"],)).fetchone())
    assert transfer == {"from_location_id": "WH-MAD-1", "to_location_id": "WH-BER-1",
                        "sku": "SKU-1", "qty": suggestion["qty"], "status": "in_transit"}
    assert count_rows("transfers") == 1
    row = replenishment.suggestion(suggestion["id"])
    assert (row["status"], row["decided_by"], row["transfer_id"]) == (
        "accepted", "manager.eu", first["transfer_id"])
    with pytest.raises(AlreadyDone):
        replenishment.accept_suggestion(ADMIN, suggestion["id"], new_key())
    assert count_rows("transfers") == 1


def test_two_people_accepting_at_once_ship_one_transfer(with_madrid):
    observe_stock_level(low("WH-BER-1", "SKU-1", 2, 1))
    suggestion = only_suggestion()
    start, outcomes = threading.Barrier(2), []

    def accept(actor):
        start.wait()
        try:
            outcomes.append(replenishment.accept_suggestion(actor, suggestion["id"], new_key()))
        except AlreadyDone as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=accept, args=(a,)) for a in (MANAGER_EU, ADMIN)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(type(o).__name__ for o in outcomes) == ["AlreadyDone", "dict"]
    assert count_rows("transfers") == 1
    (done,) = [o for o in outcomes if isinstance(o, dict)]
    assert replenishment.suggestion(suggestion["id"])["transfer_id"] == done["transfer_id"]


def test_a_source_that_ran_out_refuses_the_transfer_and_the_suggestion_stays_open(with_madrid):
    observe_stock_level(low("WH-BER-1", "SKU-1", 2, 1))
    suggestion = only_suggestion()
    run_transaction(lambda cur: cur.execute(
        "UPDATE stock SET reserved = on_hand WHERE location_id = 'WH-MAD-1' AND sku = 'SKU-1'"))
    before = table_state()
    with pytest.raises(InsufficientStock):
        replenishment.accept_suggestion(MANAGER_EU, suggestion["id"], new_key())
    assert only_suggestion()["status"] == "open"
    assert_nothing_written(before)
