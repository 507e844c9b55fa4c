"""Consumers of the change stream: the replenishment worker, the app's tail, the Live page."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from changefeed.encoding import hlc, partition_for
from changefeed.stream_check import wait_until_caught_up
from changefeed.tail import ChangeTail
from changefeed.worker import ReplenishmentWorker
from components.live import describe_change, live_summary, new_stockouts, stockout_message
from queries.db import run_transaction
from tests import factories
from tests.apptest import open_app
from tests.cdc_helpers import (
    RelayThread,
    create_topics,
    drop_slot,
    produce,
    relay_config,
    unique_prefix,
    unique_slot,
)

PARTITIONS = 3


def stock_after(location_id: str, sku: str, on_hand: int, reserved: int = 0,
                reorder_point: int = 5, version: int = 2) -> dict:
    return {"location_id": location_id, "sku": sku, "on_hand": on_hand, "reserved": reserved,
            "incoming": 0, "reorder_point": reorder_point, "version": version,
            "updated_at": "2026-01-01T00:00:00Z"}


def stock_message(after: dict | None, before: dict | None, updated: str,
                  home: str | None = None) -> tuple[bytes, bytes, int]:
    """A stock message; with `home`, shaped as a REGIONAL BY ROW table's message on
    CockroachDB (key led by the home region, rows carrying home_region), which consumers must
    handle exactly as the plain shape (queries/cockroach_setup.py)."""
    row = after or before
    key = json.dumps(([home] if home else []) + [row["location_id"], row["sku"]]).encode()
    if home:
        after, before = ({**r, "home_region": home} if r else r for r in (after, before))
    value = json.dumps({"after": after, "before": before, "updated": updated}).encode()
    return key, value, partition_for(key, PARTITIONS)


def suggestions() -> list[dict]:
    return run_transaction(lambda cur: cur.execute(
        "SELECT location_id, sku, from_location_id, qty, status, source_key, created_by "
        "FROM replenishment_suggestions ORDER BY created_at").fetchall())


def run_worker_until(worker: ReplenishmentWorker, processed: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while worker.processed < processed and time.monotonic() < deadline:
        worker.step(timeout_ms=500)


@pytest.fixture
def stock_topic(kafka):
    prefix = unique_prefix()
    create_topics(kafka, [prefix + "stock"], PARTITIONS)
    return prefix + "stock"


# ---- the workflow worker ------------------------------------------------------------------------

@pytest.mark.parametrize("home", [None, "europe-west1"], ids=["plain key", "regional key"])
def test_the_worker_writes_one_suggestion_for_a_duplicated_message(world, kafka, stock_topic, home):
    low = stock_message(stock_after("WH-BER-1", "SKU-1", 3), stock_after("WH-BER-1", "SKU-1", 10),
                        hlc(1_800_000_000_000_000_000), home)
    produce(kafka, stock_topic, [low, low])
    worker = ReplenishmentWorker(kafka, topic=stock_topic, group_id=f"g-{uuid.uuid4().hex}")
    try:
        run_worker_until(worker, 2)
    finally:
        worker.close()
    assert worker.processed == 2
    rows = suggestions()
    assert len(rows) == 1
    row = rows[0]
    # Same region (EU), largest surplus: WH-PAR-1 (100 - 5). Enough to reach 2 x reorder point.
    assert (row["location_id"], row["sku"], row["from_location_id"]) == ("WH-BER-1", "SKU-1", "WH-PAR-1")
    assert row["qty"] == 10 - 3 and row["status"] == "open" and row["created_by"] == "system"


def test_one_suggestion_per_low_episode_and_none_while_one_is_open(world, kafka, stock_topic):
    def at(on_hand: int, before: int, t: int):
        return stock_message(stock_after("ST-NYC-1", "SKU-2", on_hand),
                             stock_after("ST-NYC-1", "SKU-2", before), hlc(1_800_000_000_000_000_000 + t))

    produce(kafka, stock_topic, [
        at(4, 9, 1),    # falls to the reorder point: episode 1
        at(2, 4, 2),    # keeps falling: same episode
        at(9, 2, 3),    # recovers
        at(1, 9, 4),    # falls again while the first suggestion is still open: nothing new
        at(1, 9, 4),    # duplicate
        at(0, 1, 3),    # older than what was applied: ignored
    ])
    worker = ReplenishmentWorker(kafka, topic=stock_topic, group_id=f"g-{uuid.uuid4().hex}")
    try:
        run_worker_until(worker, 6)
        assert worker.database_writes < worker.processed  # "still low" needs no write
        rows = suggestions()
        assert [r["source_key"] for r in rows] == ["ST-NYC-1/SKU-2/episode-1"]
        # No NA location has a surplus: the suggestion says so (no source) and asks for 10 - 4.
        assert rows[0]["from_location_id"] is None and rows[0]["qty"] == 6

        run_transaction(lambda cur: cur.execute(
            "UPDATE replenishment_suggestions SET status = 'dismissed', decided_by = 'test'"))
        produce(kafka, stock_topic, [at(8, 1, 5), at(3, 8, 6)])  # recovers, falls: episode 3
        run_worker_until(worker, 8)
    finally:
        worker.close()
    assert [r["source_key"] for r in suggestions()] == ["ST-NYC-1/SKU-2/episode-1",
                                                        "ST-NYC-1/SKU-2/episode-3"]


def test_a_stock_change_flows_from_the_database_through_the_relay_to_a_suggestion(world, kafka):
    prefix, slot = unique_prefix(), unique_slot()
    try:
        with RelayThread(relay_config(world, kafka, prefix, slot)):
            run_transaction(lambda cur: cur.execute(
                "UPDATE stock SET reserved = 97, version = version + 1 "
                "WHERE location_id = 'WH-PAR-1' AND sku = 'SKU-3'"))
            worker = ReplenishmentWorker(kafka, topic=prefix + "stock", group_id=f"g-{uuid.uuid4().hex}")
            try:
                deadline = time.monotonic() + 60
                while not suggestions() and time.monotonic() < deadline:
                    worker.step(timeout_ms=500)
            finally:
                worker.close()
    finally:
        drop_slot(world, slot)
    rows = suggestions()
    assert len(rows) == 1
    row = rows[0]
    assert (row["location_id"], row["from_location_id"], row["qty"]) == ("WH-PAR-1", "WH-BER-1", 7)


# ---- the tail -------------------------------------------------------------------------------------

def test_the_tail_drops_duplicates_and_tracks_lag_watermark_and_stockouts(db, kafka, stock_topic):
    prefix = stock_topic[: -len("stock")]
    now_ns = time.time_ns()
    first = stock_message(stock_after("WH-BER-1", "SKU-1", 5), stock_after("WH-BER-1", "SKU-1", 9),
                          hlc(now_ns - 2_000_000_000))
    stockout = stock_message(stock_after("WH-BER-1", "SKU-1", 0), stock_after("WH-BER-1", "SKU-1", 5),
                             hlc(now_ns - 1_000_000_000))
    other = stock_message(stock_after("WH-PAR-1", "SKU-1", 50), None, hlc(now_ns - 1_500_000_000))
    resolved = [(None, json.dumps({"resolved": hlc(now_ns - 3_000_000_000 + p)}).encode(), p)
                for p in range(PARTITIONS)]
    produce(kafka, stock_topic, [first, stockout, first, stockout, other] + resolved)

    tail = ChangeTail(kafka, topic_prefix=prefix, tables=("stock",)).start()
    try:
        deadline = time.monotonic() + 30
        while tail.snapshot().received < 5 + PARTITIONS and time.monotonic() < deadline:
            time.sleep(0.2)
        snapshot = tail.snapshot()
    finally:
        tail.stop()
    assert snapshot.status == "live"
    assert snapshot.received == 5 + PARTITIONS
    assert snapshot.duplicates_dropped == 2
    assert len(snapshot.recent) == 3
    assert [e.key for e in snapshot.recent if e.key[0] == "WH-BER-1"] == [["WH-BER-1", "SKU-1"]] * 2
    assert snapshot.newest_updated == (now_ns - 1_000_000_000, 0)
    assert snapshot.watermark == (now_ns - 3_000_000_000, 0)  # the minimum over partitions
    assert snapshot.partitions == PARTITIONS and snapshot.partitions_without_resolved == 0
    assert [stockout_message(e) for e in snapshot.stockouts] == ["SKU-1 is out of stock at WH-BER-1."]

    summary = live_summary(snapshot, now=now_ns / 1e9)
    assert summary.lag_seconds == pytest.approx(1.0)
    assert summary.watermark_age_seconds == pytest.approx(3.0)
    assert [row["change"] for row in summary.ticker if row["key"] == "WH-BER-1 / SKU-1"] == [
        "on_hand 5 → 0", "on_hand 9 → 5"]
    assert any(row["change"].startswith("new: location_id WH-PAR-1") for row in summary.ticker)
    assert summary.rates["changes"].sum() == 3
    assert set(summary.rates["table"]) == {"stock"}

    # The first look only sets the toast baseline; a later stockout is new.
    fresh, seen = new_stockouts(snapshot, None)
    assert fresh == [] and seen == snapshot.stockouts[-1].seq
    assert new_stockouts(snapshot, seen - 1)[0] == snapshot.stockouts


def test_the_tail_and_the_live_page_treat_both_order_key_shapes_alike(db, kafka):
    """An orders message keyed [home_region, id] (CockroachDB's REGIONAL BY ROW key, and the
    relay's) and one keyed [id]: the same row for the tail and the Live page's ticker. Dedup
    stays on the whole key, as CockroachDB's (topic, key, updated) contract has it."""
    prefix = unique_prefix()
    create_topics(kafka, [prefix + "orders"], PARTITIONS)
    order_id = str(uuid.uuid4())
    now_ns = time.time_ns()
    before = {"id": order_id, "region": "EU", "status": "pending", "version": 1}
    after = {**before, "status": "allocated", "version": 2}

    def message(key: list, home: str | None, updated: int):
        rows = [{**r, "home_region": home} if home else r for r in (after, before)]
        value = {"after": rows[0], "before": rows[1], "updated": hlc(updated)}
        key_bytes = json.dumps(key).encode()
        return key_bytes, json.dumps(value).encode(), partition_for(key_bytes, PARTITIONS)

    regional = message(["europe-west1", order_id], "europe-west1", now_ns - 2_000_000_000)
    plain = message([order_id], None, now_ns - 1_000_000_000)
    produce(kafka, prefix + "orders", [regional, plain, regional])   # the repeat is dropped
    tail = ChangeTail(kafka, topic_prefix=prefix, tables=("orders",)).start()
    try:
        deadline = time.monotonic() + 30
        while tail.snapshot().received < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        snapshot = tail.snapshot()
    finally:
        tail.stop()
    assert snapshot.received == 3 and snapshot.duplicates_dropped == 1
    # Two keys on two partitions: the order they are read in is not defined.
    assert sorted(e.key for e in snapshot.recent) == sorted([[order_id], ["europe-west1", order_id]])
    assert [e.row_key for e in snapshot.recent] == [[order_id], [order_id]]
    assert {e.operation for e in snapshot.recent} == {"update"}
    ticker = live_summary(snapshot, now=now_ns / 1e9).ticker
    assert [(row["table"], row["key"], row["change"]) for row in ticker] == [
        ("orders", order_id, "status pending → allocated"),
        ("orders", order_id, "status pending → allocated"),
    ]


def test_describe_change_names_only_what_changed():
    from changefeed.tail import ChangeEvent

    def event(after, before):
        return ChangeEvent(1, "orders", "orders", ["o1"], "1.0000000000", (1, 0), after, before, 0.0)

    assert describe_change(event({"status": "shipped", "version": 3}, {"status": "picking", "version": 2})) \
        == "status picking → shipped"
    assert describe_change(event(None, {"status": "x"})) == "deleted"


# ---- the Live page ------------------------------------------------------------------------------

def live_page(monkeypatch, bootstrap: str | None) -> AppTest:
    if bootstrap is None:
        monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    else:
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
    return open_app(factories.HQ, "pages/live.py", check=False)


def rerun_until(at: AppTest, condition, timeout: float = 60) -> bool:
    """Rerun the page (as its two-second fragment timer would) until condition(at) holds."""
    deadline = time.monotonic() + timeout
    while True:
        at.run()
        if condition(at):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def ticker_changes(at: AppTest, key: str) -> list[str]:
    """The Latest changes rows of one key, as the page shows them (newest first)."""
    if not at.dataframe:
        return []
    table = at.dataframe[0].value
    return list(table.loc[table["key"] == key, "change"])


def test_the_live_page_shows_a_committed_change_once(world, kafka, monkeypatch):
    prefix, slot = unique_prefix(), unique_slot()
    monkeypatch.setenv("STOCKROOM_TOPIC_PREFIX", prefix)

    def reserve(qty: int) -> None:
        run_transaction(lambda cur: cur.execute(
            "UPDATE stock SET reserved = %s, version = version + 1 "
            "WHERE location_id = 'WH-BER-1' AND sku = 'SKU-2'", (qty,)))

    try:
        with RelayThread(relay_config(world, kafka, prefix, slot)):
            assert wait_until_caught_up(world, slot, 60)   # the first scan is out
            reserve(4)
            at = live_page(monkeypatch, kafka)
            assert not at.exception, at.exception
            assert at.title[0].value == "Live"
            # The real condition, not an idle "Connecting…" page: the change is on screen.
            assert rerun_until(at, lambda at: "reserved 0 → 4" in ticker_changes(
                at, "WH-BER-1 / SKU-2")), [i.value for i in at.info]
            assert not at.info and not at.warning   # live: neither connecting nor failing
            assert [m.label for m in at.metric][:2] == ["Messages read", "Lag"]
            assert int(at.metric[0].value.replace(",", "")) >= 10  # the scan's rows and more
            # Absence proven by a later change to the same key: once it shows, the first one
            # (same key, same partition, earlier offset) has had every chance to repeat.
            reserve(6)
            assert rerun_until(at, lambda at: "reserved 4 → 6" in ticker_changes(
                at, "WH-BER-1 / SKU-2"))
            assert ticker_changes(at, "WH-BER-1 / SKU-2").count("reserved 0 → 4") == 1
            assert not at.exception, at.exception
    finally:
        st.cache_resource.clear()  # stops the page's tail thread
        drop_slot(world, slot)


def test_the_live_page_explains_when_the_stream_is_not_configured(db, monkeypatch):
    at = live_page(monkeypatch, None)
    assert not at.exception, at.exception
    assert "KAFKA_BOOTSTRAP_SERVERS" in at.info[0].value


def test_the_live_page_says_so_when_the_broker_is_unreachable(db, monkeypatch):
    from stack.ports import free_port

    bootstrap = f"127.0.0.1:{free_port()}"
    try:
        at = live_page(monkeypatch, bootstrap)
        assert not at.exception, at.exception
        # Past "Connecting…": the tail tried, failed, and the page names the address it tried.
        assert rerun_until(at, lambda at: any(
            f"Cannot read the change stream at {bootstrap}" in w.value for w in at.warning), 30), (
            [i.value for i in at.info], [w.value for w in at.warning])
        assert not at.info and not at.exception
    finally:
        st.cache_resource.clear()


@pytest.mark.parametrize("home", [None, "europe-west1"], ids=["plain key", "regional key"])
def test_a_back_order_allocates_itself_when_stock_for_it_comes_in(world, kafka, stock_topic, home):
    from queries import orders
    from queries.stock_ledger import apply_movement
    from tests.order_helpers import assert_reservations_exact, customer, order_row

    waiting = orders.place_order(factories.ADMIN, customer(), [("SKU-2", 150)])["order_id"]
    other = orders.place_order(factories.ADMIN, customer(), [("SKU-3", 150)])["order_id"]
    assert order_row(waiting)["status"] == order_row(other)["status"] == "pending"
    run_transaction(lambda cur: apply_movement(
        cur, location_id="WH-BER-1", sku="SKU-2", kind="adjustment", reason="received",
        delta_on_hand=60, actor="test"))
    produce(kafka, stock_topic, [
        # A re-scan row (no before) and a fall name nothing; the receipt names SKU-2.
        stock_message(stock_after("WH-PAR-1", "SKU-3", 100), None, hlc(1_800_000_000_000_000_001),
                      home),
        stock_message(stock_after("WH-PAR-1", "SKU-3", 90), stock_after("WH-PAR-1", "SKU-3", 100),
                      hlc(1_800_000_000_000_000_002), home),
        stock_message(stock_after("WH-BER-1", "SKU-2", 160), stock_after("WH-BER-1", "SKU-2", 100),
                      hlc(1_800_000_000_000_000_003), home),
    ])
    worker = ReplenishmentWorker(kafka, topic=stock_topic, group_id=f"g-{uuid.uuid4().hex}")
    try:
        run_worker_until(worker, 3)
    finally:
        worker.close()
    assert worker.backorders_allocated == 1
    assert order_row(waiting)["status"] == "allocated"
    assert order_row(waiting)["fulfilment_location_id"] == "WH-BER-1"
    assert order_row(other)["status"] == "pending"  # still short of SKU-3
    assert_reservations_exact()


@pytest.mark.parametrize("after, before, sku", [
    (stock_after("W", "S", 10), stock_after("W", "S", 5), "S"),             # received
    (stock_after("W", "S", 10, reserved=2), stock_after("W", "S", 10, reserved=4), "S"),  # released
    (stock_after("W", "S", 4), stock_after("W", "S", 5), None),             # sold
    (stock_after("W", "S", 10), None, None),                                # re-scan / new bin
    (None, stock_after("W", "S", 10), None),                                # deleted
])
def test_which_stock_messages_name_a_sku_for_back_orders(after, before, sku):
    from changefeed.backorders import sku_with_more_available

    _, value, _ = stock_message(after, before, hlc(1_800_000_000_000_000_000))
    assert sku_with_more_available(value) == sku
