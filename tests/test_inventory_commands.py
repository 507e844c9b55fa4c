"""Inventory commands and reads against a real PostgreSQL: good paths, every bad input
(typed error, nothing written), idempotency, permissions, and the reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from queries import inventory, locations, stock, transfers
from queries.actor import Actor
from queries.db import fetch_all, fetch_one, run_transaction
from queries.errors import (
    AlreadyDone,
    Forbidden,
    InsufficientStock,
    InvalidInput,
    InvalidQuantity,
    InvalidTransition,
    NotFound,
)
from queries.idempotency import new_key
from queries.invariants import check_invariants
from queries.reservations import release, reserve
from tests import factories
from tests.factories import ADMIN, HQ, MANAGER_EU, SUPPORT_EU, count_rows
from tests.table_counts import assert_nothing_written, table_state

MANAGER_NA = Actor("manager.na", "inventory_manager", ("NA",), "Nora Manager")


def build_world() -> None:
    """Added to the small world: an inactive location and product, a product stocked nowhere."""
    factories.add_location("WH-OLD-1", "EU", active=False)
    factories.add_product("SKU-OLD", active=False)
    factories.add_product("SKU-NEW")


@pytest.fixture
def commands_world(world_with) -> str:
    return world_with(build_world)


def on_hand(location_id: str, sku: str) -> dict:
    return fetch_one("SELECT on_hand, reserved, incoming FROM stock "
                     "WHERE location_id = %s AND sku = %s", (location_id, sku))


def ledger_rows() -> int:
    return count_rows("stock_movements")


def assert_invariants_hold() -> None:
    report = check_invariants()
    assert report.ok, [v.sentence() for v in report.violations]


# --- adjust ---------------------------------------------------------------------------


def test_adjust_changes_on_hand_and_writes_one_ledger_row_with_reason(commands_world):
    before = ledger_rows()
    result = inventory.adjust_stock(MANAGER_EU, location_id="WH-BER-1", sku="SKU-1", qty=-4,
                                    reason="damaged", reference="RMA-7", idempotency_key=new_key())
    assert result["on_hand"] == 96 and result["already_applied"] is False
    assert ledger_rows() == before + 1
    row = fetch_one("SELECT kind, reason, delta_on_hand, actor, ref_type, ref_id "
                    "FROM stock_movements ORDER BY created_at DESC LIMIT 1")
    assert row == {"kind": "adjustment", "reason": "damaged", "delta_on_hand": -4,
                   "actor": "manager.eu", "ref_type": "reference", "ref_id": "RMA-7"}
    assert_invariants_hold()


def test_adjust_received_starts_stocking_a_new_sku(commands_world):
    inventory.adjust_stock(MANAGER_EU, location_id="WH-BER-1", sku="SKU-NEW", qty=12,
                           reason="received", idempotency_key=new_key())
    assert on_hand("WH-BER-1", "SKU-NEW")["on_hand"] == 12
    assert_invariants_hold()


def test_other_reason_with_a_note_is_accepted(commands_world):
    inventory.adjust_stock(MANAGER_EU, location_id="WH-BER-1", sku="SKU-2", qty=3,
                           reason="other", note="found behind the shelf", idempotency_key=new_key())
    assert on_hand("WH-BER-1", "SKU-2")["on_hand"] == 103


def test_same_key_twice_adjusts_once(commands_world):
    key = new_key()
    first = inventory.adjust_stock(MANAGER_EU, location_id="WH-PAR-1", sku="SKU-1", qty=5,
                                   reason="received", idempotency_key=key)
    again = inventory.adjust_stock(MANAGER_EU, location_id="WH-PAR-1", sku="SKU-1", qty=5,
                                   reason="received", idempotency_key=key)
    assert first["already_applied"] is False and again["already_applied"] is True
    assert again["on_hand"] == first["on_hand"] == 105
    assert on_hand("WH-PAR-1", "SKU-1")["on_hand"] == 105


# --- count ----------------------------------------------------------------------------


def test_count_records_the_difference_as_a_count_row(commands_world):
    result = inventory.record_count(MANAGER_EU, location_id="WH-BER-1", sku="SKU-3", counted=93,
                                    idempotency_key=new_key())
    assert result["difference"] == -7 and result["on_hand"] == 93
    row = fetch_one("SELECT kind, delta_on_hand FROM stock_movements WHERE kind = 'count'")
    assert row == {"kind": "count", "delta_on_hand": -7}
    assert_invariants_hold()


def test_counting_the_same_bin_twice_with_the_same_key_applies_once(commands_world):
    key = new_key()
    inventory.record_count(MANAGER_EU, location_id="WH-BER-1", sku="SKU-3", counted=90,
                           idempotency_key=key)
    inventory.adjust_stock(MANAGER_EU, location_id="WH-BER-1", sku="SKU-3", qty=5,
                           reason="received", idempotency_key=new_key())
    again = inventory.record_count(MANAGER_EU, location_id="WH-BER-1", sku="SKU-3", counted=90,
                                   idempotency_key=key)
    assert again["already_applied"] is True
    assert on_hand("WH-BER-1", "SKU-3")["on_hand"] == 95  # the repeat did not reset it to 90
    assert count_rows("stock_movements WHERE kind = 'count'") == 1


def test_count_below_what_is_reserved_is_refused(commands_world):
    run_transaction(lambda cur: reserve(cur, location_id="WH-BER-1", sku="SKU-1", qty=30,
                                        actor="support.eu", order_id="o-1"))
    before = table_state()
    with pytest.raises(InsufficientStock, match="30 are reserved"):
        inventory.record_count(MANAGER_EU, location_id="WH-BER-1", sku="SKU-1", counted=20,
                               idempotency_key=new_key())
    assert_nothing_written(before)


# --- bulk count -----------------------------------------------------------------------

GOOD_SHEET = "location,sku,counted\nWH-BER-1,SKU-1,90\nWH-BER-1,SKU-2,100\nWH-PAR-1,SKU-3,111\n"


def test_bulk_count_preview_shows_differences_and_apply_is_one_transaction(commands_world):
    sheet = inventory.parse_count_csv(GOOD_SHEET.encode())
    preview = inventory.preview_bulk_count(MANAGER_EU, sheet)
    assert preview["errors"] == []
    assert [(r["row"], r["difference"]) for r in preview["rows"]] == [(2, -10), (3, 0), (4, 11)]
    assert preview["changed"] == 2 and preview["net_difference"] == 1
    result = inventory.apply_bulk_count(MANAGER_EU, sheet, idempotency_key=new_key())
    assert result == {"counted": 3, "changed": 2, "net_difference": 1, "already_applied": False}
    assert on_hand("WH-BER-1", "SKU-1")["on_hand"] == 90
    assert on_hand("WH-PAR-1", "SKU-3")["on_hand"] == 111
    assert_invariants_hold()


def test_bulk_count_parse_errors_name_row_and_column():
    sheet = inventory.parse_count_csv(
        "Location,SKU,Counted\nWH-BER-1,SKU-1,ten\nWH-BER-1,,4\nWH-BER-1,SKU-2,-1\n"
        "WH-PAR-1,SKU-1,5\nWH-PAR-1,SKU-1,6\n")
    assert [str(e) for e in sheet.errors] == [
        "Row 2, column counted: The count must be a whole number, not 'ten'.",
        "Row 3, column sku: is empty.",
        "Row 4, column counted: The count cannot be negative (-1).",
        "Row 6, column sku: SKU-1 at WH-PAR-1 is already counted in row 5.",
    ]
    assert [line.row for line in sheet.lines] == [5]


@pytest.mark.parametrize("content,message", [
    ("", "Row 1: The sheet is empty"),
    ("where,sku,counted\nWH-BER-1,SKU-1,3\n", "Row 1, column location: The header has no 'location'"),
    ("location,sku,counted\n", "Row 2: The sheet has a header but no rows."),
])
def test_bulk_count_sheet_shape_errors(content, message):
    sheet = inventory.parse_count_csv(content)
    assert str(sheet.errors[0]).startswith(message)


def test_bulk_count_database_errors_apply_nothing(commands_world):
    sheet = inventory.parse_count_csv(
        "location,sku,counted\nWH-BER-1,SKU-1,50\nNOPE-1,SKU-1,3\nWH-BER-1,SKU-404,1\n"
        "ST-NYC-1,SKU-1,7\nWH-OLD-1,SKU-1,1\nWH-PAR-1,SKU-OLD,1\n")
    preview = inventory.preview_bulk_count(MANAGER_EU, sheet)
    assert [str(e) for e in preview["errors"]] == [
        "Row 3, column location: there is no location 'NOPE-1'.",
        "Row 4, column sku: there is no product 'SKU-404'.",
        "Row 5, column location: you may only count stock in EU, not in NA.",
        "Row 6, column location: WH-OLD-1 is inactive.",
        "Row 7, column sku: SKU-OLD is an inactive product.",
    ]
    before = table_state()
    with pytest.raises(InvalidInput, match=r"the sheet has 5 problems\. Row 3, column location"):
        inventory.apply_bulk_count(MANAGER_EU, sheet, idempotency_key=new_key())
    assert_nothing_written(before)
    assert on_hand("WH-BER-1", "SKU-1")["on_hand"] == 100  # the good row was not applied either


def test_bulk_count_with_parse_errors_is_refused_whole(commands_world):
    sheet = inventory.parse_count_csv("location,sku,counted\nWH-BER-1,SKU-1,50\nWH-BER-1,SKU-2,x\n")
    before = table_state()
    with pytest.raises(InvalidInput, match="Row 3, column counted"):
        inventory.apply_bulk_count(MANAGER_EU, sheet, idempotency_key=new_key())
    assert_nothing_written(before)


def test_bulk_count_same_key_twice_applies_once(commands_world):
    sheet = inventory.parse_count_csv(GOOD_SHEET)
    key = new_key()
    inventory.apply_bulk_count(MANAGER_EU, sheet, idempotency_key=key)
    before = table_state()
    again = inventory.apply_bulk_count(MANAGER_EU, sheet, idempotency_key=key)
    assert again["already_applied"] is True
    assert_nothing_written(before)


# --- transfers ------------------------------------------------------------------------


def create(qty=10, source="WH-BER-1", destination="WH-PAR-1", sku="SKU-1", actor=MANAGER_EU,
           key=None) -> dict:
    return transfers.create_transfer(actor, from_location_id=source, to_location_id=destination,
                                     sku=sku, qty=qty, idempotency_key=key or new_key())


def test_ship_then_receive_moves_stock_through_incoming(commands_world):
    created = create(10)
    assert isinstance(created["transfer_id"], str) and created["status"] == "in_transit"
    assert on_hand("WH-BER-1", "SKU-1") == {"on_hand": 90, "reserved": 0, "incoming": 0}
    assert on_hand("WH-PAR-1", "SKU-1") == {"on_hand": 100, "reserved": 0, "incoming": 10}
    assert_invariants_hold()
    received = transfers.receive_transfer(MANAGER_EU, transfer_id=created["transfer_id"],
                                          idempotency_key=new_key())
    assert received["received_qty"] == 10 and received["shortfall"] == 0
    assert on_hand("WH-PAR-1", "SKU-1") == {"on_hand": 110, "reserved": 0, "incoming": 0}
    kinds = [r["kind"] for r in fetch_all(
        "SELECT kind FROM stock_movements WHERE ref_type = 'transfer' ORDER BY kind")]
    assert kinds == ["transfer_in", "transfer_in_transit", "transfer_out"]
    assert_invariants_hold()


def test_transfer_to_a_location_without_the_sku_creates_its_stock_row(commands_world):
    inventory.adjust_stock(MANAGER_EU, location_id="WH-BER-1", sku="SKU-NEW", qty=8,
                           reason="received", idempotency_key=new_key())
    created = create(3, sku="SKU-NEW")
    assert on_hand("WH-PAR-1", "SKU-NEW") == {"on_hand": 0, "reserved": 0, "incoming": 3}
    transfers.receive_transfer(MANAGER_EU, transfer_id=created["transfer_id"],
                               idempotency_key=new_key())
    assert on_hand("WH-PAR-1", "SKU-NEW")["on_hand"] == 3
    assert_invariants_hold()


def test_short_receipt_writes_the_shortfall_off_as_a_loss_with_its_reason(commands_world):
    created = create(10)
    result = transfers.receive_transfer(MANAGER_EU, transfer_id=created["transfer_id"],
                                        received_qty=7, shortfall_reason="damaged",
                                        idempotency_key=new_key())
    assert result["shortfall"] == 3
    assert on_hand("WH-PAR-1", "SKU-1") == {"on_hand": 107, "reserved": 0, "incoming": 0}
    loss = fetch_one("SELECT kind, reason, delta_on_hand, delta_incoming FROM stock_movements "
                     "WHERE kind = 'transfer_shortfall'")
    assert loss == {"kind": "transfer_shortfall", "reason": "damaged", "delta_on_hand": 0,
                    "delta_incoming": -3}
    total = fetch_one("SELECT sum(on_hand + incoming) AS units FROM stock WHERE sku = 'SKU-1'")
    assert total["units"] == 300 - 3
    assert_invariants_hold()


def test_nothing_arrived_is_a_full_shortfall(commands_world):
    created = create(4)
    transfers.receive_transfer(MANAGER_EU, transfer_id=created["transfer_id"], received_qty=0,
                               shortfall_reason="theft_or_loss", idempotency_key=new_key())
    assert on_hand("WH-PAR-1", "SKU-1") == {"on_hand": 100, "reserved": 0, "incoming": 0}
    assert_invariants_hold()


def test_cancel_returns_the_stock_to_the_source(commands_world):
    created = create(25)
    result = transfers.cancel_transfer(MANAGER_EU, transfer_id=created["transfer_id"],
                                       idempotency_key=new_key())
    assert result["status"] == "cancelled"
    assert on_hand("WH-BER-1", "SKU-1") == {"on_hand": 100, "reserved": 0, "incoming": 0}
    assert on_hand("WH-PAR-1", "SKU-1") == {"on_hand": 100, "reserved": 0, "incoming": 0}
    assert_invariants_hold()


def test_the_destination_manager_may_cancel_a_transfer_from_another_region(commands_world):
    created = create(5, source="ST-NYC-1", destination="WH-BER-1", actor=MANAGER_NA)
    transfers.cancel_transfer(MANAGER_EU, transfer_id=created["transfer_id"],
                              idempotency_key=new_key())
    assert on_hand("ST-NYC-1", "SKU-1")["on_hand"] == 100


def test_receiving_twice_with_the_same_key_applies_once(commands_world):
    created = create(10)
    key = new_key()
    transfers.receive_transfer(MANAGER_EU, transfer_id=created["transfer_id"], idempotency_key=key)
    again = transfers.receive_transfer(MANAGER_EU, transfer_id=created["transfer_id"],
                                       idempotency_key=key)
    assert again["already_applied"] is True
    assert on_hand("WH-PAR-1", "SKU-1")["on_hand"] == 110


def test_create_transfer_same_key_twice_ships_once(commands_world):
    key = new_key()
    first = create(10, key=key)
    again = create(10, key=key)
    assert again["transfer_id"] == first["transfer_id"] and again["already_applied"] is True
    assert count_rows("transfers") == 1
    assert on_hand("WH-BER-1", "SKU-1")["on_hand"] == 90


def test_closing_a_closed_transfer_says_what_happened(commands_world):
    received = create(5)
    transfers.receive_transfer(MANAGER_EU, transfer_id=received["transfer_id"],
                               idempotency_key=new_key())
    cancelled = create(5)
    transfers.cancel_transfer(MANAGER_EU, transfer_id=cancelled["transfer_id"],
                              idempotency_key=new_key())
    before = table_state()
    with pytest.raises(AlreadyDone, match="was already received by manager.eu"):
        transfers.receive_transfer(MANAGER_EU, transfer_id=received["transfer_id"],
                                   idempotency_key=new_key())
    with pytest.raises(InvalidTransition, match="was received .*can no longer be cancelled"):
        transfers.cancel_transfer(MANAGER_EU, transfer_id=received["transfer_id"],
                                  idempotency_key=new_key())
    with pytest.raises(AlreadyDone, match="was already cancelled"):
        transfers.cancel_transfer(MANAGER_EU, transfer_id=cancelled["transfer_id"],
                                  idempotency_key=new_key())
    with pytest.raises(InvalidTransition, match="can no longer be received"):
        transfers.receive_transfer(MANAGER_EU, transfer_id=cancelled["transfer_id"],
                                   idempotency_key=new_key())
    assert_nothing_written(before)


# --- every bad input: the error type, and nothing written ------------------------------


def _call(command, defaults: dict, overrides: dict):
    args = defaults | overrides
    actor = args.pop("actor", MANAGER_EU)
    return lambda: command(actor, idempotency_key=new_key(), **args)


def _adjust(**overrides):
    return _call(inventory.adjust_stock, {"location_id": "WH-BER-1", "sku": "SKU-1", "qty": 5,
                                          "reason": "received"}, overrides)


def _count(**overrides):
    return _call(inventory.record_count, {"location_id": "WH-BER-1", "sku": "SKU-1",
                                          "counted": 5}, overrides)


def _create(**overrides):
    return _call(transfers.create_transfer, {"from_location_id": "WH-BER-1",
                                             "to_location_id": "WH-PAR-1", "sku": "SKU-1",
                                             "qty": 5}, overrides)


BAD_INPUTS = {
    "adjust zero": (_adjust(qty=0), InvalidQuantity),
    "adjust non-integer": (_adjust(qty=2.5), InvalidQuantity),
    "adjust text quantity": (_adjust(qty="5"), InvalidQuantity),
    "adjust boolean quantity": (_adjust(qty=True), InvalidQuantity),
    "adjust more than available": (_adjust(qty=-101, reason="damaged"), InsufficientStock),
    "adjust unknown location": (_adjust(location_id="NOPE"), NotFound),
    "adjust inactive location": (_adjust(location_id="WH-OLD-1"), InvalidInput),
    "adjust unknown sku": (_adjust(sku="SKU-404"), NotFound),
    "adjust inactive sku": (_adjust(sku="SKU-OLD"), InvalidInput),
    "adjust empty sku": (_adjust(sku="  "), InvalidInput),
    "adjust unknown reason": (_adjust(reason="gift"), InvalidInput),
    "adjust other without note": (_adjust(reason="other"), InvalidInput),
    "adjust damaged upwards": (_adjust(reason="damaged"), InvalidInput),
    "adjust received downwards": (_adjust(qty=-1), InvalidInput),
    "adjust remove unstocked": (_adjust(sku="SKU-NEW", qty=-1, reason="correction"),
                                InsufficientStock),
    "adjust other region": (_adjust(location_id="ST-NYC-1"), Forbidden),
    "adjust as support": (_adjust(actor=SUPPORT_EU), Forbidden),
    "adjust as hq": (_adjust(actor=HQ), Forbidden),
    "count negative": (_count(counted=-1), InvalidQuantity),
    "count non-integer": (_count(counted=1.5), InvalidQuantity),
    "count unknown sku": (_count(sku="SKU-404"), NotFound),
    "count other region": (_count(location_id="ST-NYC-1"), Forbidden),
    "transfer zero": (_create(qty=0), InvalidQuantity),
    "transfer negative": (_create(qty=-3), InvalidQuantity),
    "transfer non-integer": (_create(qty=1.25), InvalidQuantity),
    "transfer more than available": (_create(qty=101), InsufficientStock),
    "transfer same location": (_create(to_location_id="WH-BER-1"), InvalidInput),
    "transfer unknown source": (_create(from_location_id="NOPE"), NotFound),
    "transfer unknown destination": (_create(to_location_id="NOPE"), NotFound),
    "transfer inactive destination": (_create(to_location_id="WH-OLD-1"), InvalidInput),
    "transfer unknown sku": (_create(sku="SKU-404"), NotFound),
    "transfer inactive sku": (_create(sku="SKU-OLD"), InvalidInput),
    "transfer unstocked at source": (_create(sku="SKU-NEW"), InsufficientStock),
    "transfer from other region": (_create(from_location_id="ST-NYC-1"), Forbidden),
    "transfer as support": (_create(actor=SUPPORT_EU), Forbidden),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_raises_a_typed_error_and_writes_nothing(commands_world, name):
    command, error = BAD_INPUTS[name]
    before = table_state()
    with pytest.raises(error) as caught:
        command()
    assert str(caught.value).endswith(".")  # a sentence for the page
    assert_nothing_written(before)


@pytest.mark.parametrize("case", [
    "over-receipt", "short without reason", "other without note", "negative received",
    "unknown transfer", "not a uuid", "other region", "as hq",
])
def test_bad_receipts_raise_and_write_nothing(commands_world, case):
    created = create(10)
    args = {"transfer_id": created["transfer_id"], "idempotency_key": new_key()}
    actor, error = MANAGER_EU, None
    if case == "over-receipt":
        args["received_qty"], error = 11, InvalidQuantity
    elif case == "short without reason":
        args["received_qty"], error = 8, InvalidInput
    elif case == "other without note":
        args.update(received_qty=8, shortfall_reason="other")
        error = InvalidInput
    elif case == "negative received":
        args["received_qty"], error = -1, InvalidQuantity
    elif case == "unknown transfer":
        args["transfer_id"], error = "00000000-0000-0000-0000-000000000000", NotFound
    elif case == "not a uuid":
        args["transfer_id"], error = "T-1", NotFound
    elif case == "other region":
        actor, error = MANAGER_NA, Forbidden
    elif case == "as hq":
        actor, error = HQ, Forbidden
    before = table_state()
    with pytest.raises(error):
        transfers.receive_transfer(actor, **args)
    assert_nothing_written(before)


def test_cancel_by_a_manager_of_neither_end_is_forbidden(commands_world):
    created = create(10)
    before = table_state()
    with pytest.raises(Forbidden, match="only cancel transfers in NA"):
        transfers.cancel_transfer(MANAGER_NA, transfer_id=created["transfer_id"],
                                  idempotency_key=new_key())
    assert_nothing_written(before)


# --- reads ----------------------------------------------------------------------------


def test_stock_for_a_location_with_status_and_search(commands_world):
    inventory.adjust_stock(MANAGER_EU, location_id="WH-BER-1", sku="SKU-2", qty=-96,
                           reason="damaged", idempotency_key=new_key())
    inventory.adjust_stock(MANAGER_EU, location_id="WH-BER-1", sku="SKU-3", qty=-100,
                           reason="theft_or_loss", idempotency_key=new_key())
    rows = {r["sku"]: r for r in stock.stock_at_location(MANAGER_EU, "WH-BER-1")}
    assert {sku: r["status"] for sku, r in rows.items()} == {
        "SKU-1": "ok", "SKU-2": "low", "SKU-3": "stockout"}
    assert rows["SKU-2"]["available"] == 4 and rows["SKU-2"]["reorder_point"] == 5
    assert [r["sku"] for r in stock.stock_at_location(MANAGER_EU, "WH-BER-1", "sku-3")] == ["SKU-3"]
    assert stock.stock_at_location(MANAGER_EU, "WH-BER-1", "100%") == []
    assert [r["sku"] for r in stock.stock_at_location(MANAGER_EU, "WH-BER-1", only_low=True)] == [
        "SKU-2", "SKU-3"]
    assert [(r["sku"], r["status"]) for r in stock.low_stock(MANAGER_EU)] == [
        ("SKU-3", "stockout"), ("SKU-2", "low")]
    assert [r["sku"] for r in stock.stockouts(MANAGER_EU)] == ["SKU-3"]
    assert stock.location_totals(MANAGER_EU, "WH-BER-1")["stockouts"] == 1


def test_reads_are_limited_to_the_actors_regions(commands_world):
    assert {r["id"] for r in locations.visible(MANAGER_EU)} == {"WH-BER-1", "WH-PAR-1"}
    assert {r["id"] for r in locations.visible(ADMIN)} == {"WH-BER-1", "WH-PAR-1", "ST-NYC-1"}
    with pytest.raises(Forbidden):
        stock.stock_at_location(MANAGER_EU, "ST-NYC-1")
    with pytest.raises(NotFound):
        stock.stock_at_location(MANAGER_EU, "NOPE")
    inventory.adjust_stock(MANAGER_NA, location_id="ST-NYC-1", sku="SKU-1", qty=-100,
                           reason="damaged", idempotency_key=new_key())
    assert stock.stockouts(MANAGER_EU) == []
    assert [r["location_id"] for r in stock.stockouts(HQ)] == ["ST-NYC-1"]


def test_ledger_running_balance_and_as_of(commands_world):
    inventory.adjust_stock(MANAGER_EU, location_id="WH-BER-1", sku="SKU-1", qty=-10,
                           reason="damaged", idempotency_key=new_key())
    middle = fetch_one("SELECT now() AS t")["t"]
    created = create(20)
    transfers.cancel_transfer(MANAGER_EU, transfer_id=created["transfer_id"],
                              idempotency_key=new_key())
    inventory.record_count(MANAGER_EU, location_id="WH-BER-1", sku="SKU-1", counted=85,
                           idempotency_key=new_key())
    history = stock.ledger_with_running_balance(MANAGER_EU, "WH-BER-1", "SKU-1")
    assert [(r["kind"], r["on_hand"]) for r in history] == [
        ("adjustment", 100), ("adjustment", 90), ("transfer_out", 70), ("transfer_return", 90),
        ("count", 85)]
    assert stock.ledger_with_running_balance(MANAGER_EU, "WH-BER-1", "SKU-1", limit=2)[0][
        "on_hand"] == 90
    as_of = stock.stock_as_of(MANAGER_EU, "WH-BER-1", "SKU-1", middle)
    assert (as_of["on_hand"], as_of["movements"]) == (90, 2)
    now = stock.stock_as_of(MANAGER_EU, "WH-BER-1", "SKU-1", datetime.now(UTC))
    assert now["on_hand"] == 85
    before_anything = stock.stock_as_of(MANAGER_EU, "WH-BER-1", "SKU-1", datetime(2000, 1, 1, tzinfo=UTC))
    assert before_anything["on_hand"] == 0 and before_anything["movements"] == 0


def test_open_transfers_in_and_out(commands_world):
    out = create(5)
    incoming = create(6, source="WH-PAR-1", destination="WH-BER-1", sku="SKU-2")
    done = create(7)
    transfers.receive_transfer(MANAGER_EU, transfer_id=done["transfer_id"], idempotency_key=new_key())
    rows = transfers.open_transfers(MANAGER_EU, "WH-BER-1")
    assert {(r["transfer_id"], r["direction"], r["qty"]) for r in rows} == {
        (out["transfer_id"], "out", 5), (incoming["transfer_id"], "in", 6)}
    assert transfers.transfer_by_id(MANAGER_EU, done["transfer_id"])["status"] == "received"
    with pytest.raises(Forbidden):
        transfers.open_transfers(MANAGER_EU, "ST-NYC-1")


# --- reserve / release (the primitives the orders issue builds on) ----------------------


def _in_tx(fn, **kwargs):
    return run_transaction(lambda cur: fn(cur, actor="support.eu", order_id="o-7", **kwargs))


def test_reserve_and_release_move_only_reserved(commands_world):
    _in_tx(reserve, location_id="WH-BER-1", sku="SKU-1", qty=60)
    assert on_hand("WH-BER-1", "SKU-1") == {"on_hand": 100, "reserved": 60, "incoming": 0}
    assert stock.stock_of(MANAGER_EU, "WH-BER-1", "SKU-1")["available"] == 40
    _in_tx(release, location_id="WH-BER-1", sku="SKU-1", qty=25)
    assert on_hand("WH-BER-1", "SKU-1")["reserved"] == 35
    # What is reserved cannot be adjusted away or shipped elsewhere.
    with pytest.raises(InsufficientStock, match="Only 65 of SKU-1 available"):
        create(66)


@pytest.mark.parametrize("fn,qty,error", [
    ("reserve", 101, InsufficientStock),  # available would go below zero
    ("reserve", 0, InvalidQuantity),
    ("reserve", -1, InvalidQuantity),
    ("reserve", 1.5, InvalidQuantity),
    ("release", 1, InsufficientStock),  # nothing is reserved
])
def test_bad_reservations_raise_and_write_nothing(commands_world, fn, qty, error):
    before = table_state()
    with pytest.raises(error):
        _in_tx({"reserve": reserve, "release": release}[fn], location_id="WH-BER-1",
               sku="SKU-1", qty=qty)
    assert_nothing_written(before)
    assert on_hand("WH-BER-1", "SKU-1") == {"on_hand": 100, "reserved": 0, "incoming": 0}
