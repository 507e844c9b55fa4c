"""Long-running processes ride through outages and say so once per outage, not once per try."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from pathlib import Path

import pytest

from changefeed.tail import ChangeTail
from changefeed.worker import ReplenishmentWorker
from queries.db import run_transaction
from queries.heartbeats import latest_beats
from stack.broker import EmbeddedBroker
from stack.outage import Outage
from stack.ports import free_port
from tests.cdc_helpers import RelayThread, drop_slot, relay_config, unique_prefix, unique_slot
from tests.conftest import server_directory


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(caplog):
    clock = FakeClock()
    outage = Outage("broker", logging.getLogger("test.outage"), first_wait=0.2, max_wait=5.0,
                    clock=clock)
    caplog.set_level(logging.INFO, logger="test.outage")
    waits = []
    for _ in range(12):
        waits.append(outage.failed(ConnectionRefusedError("connection refused")))
        clock.now += 1.0
    assert outage.down and outage.outages == 1 and outage.failures == 12
    assert all(0.1 <= w <= 5.0 for w in waits) and max(waits) > 2.5  # grew, and stayed capped
    assert outage.recovered() == pytest.approx(12.0)
    assert outage.recovered() is None  # nothing more to end
    outage.failed("gone again")
    clock.now += 2.0
    assert outage.unavailable_seconds() == pytest.approx(14.0)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "broker unavailable (ConnectionRefusedError: connection refused); retrying with backoff up to 5 s",
        "broker back after 12.0 s (12 failed attempts)",
        "broker unavailable (gone again); retrying with backoff up to 5 s",
    ]


def suggestions() -> int:
    return run_transaction(lambda cur: cur.execute(
        "SELECT count(*) AS n FROM replenishment_suggestions").fetchone()["n"])


def make_low(location_id: str, sku: str) -> None:
    run_transaction(lambda cur: cur.execute(
        "UPDATE stock SET reserved = 97, version = version + 1 "
        "WHERE location_id = %s AND sku = %s", (location_id, sku)))


def wait_for(condition, timeout: float = 90) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def warnings_from(caplog, logger: str, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger and text in r.getMessage()]


@pytest.mark.timeout(300)
def test_relay_worker_and_tail_ride_through_a_late_broker_and_a_database_restart(
        world, pg_server, caplog, monkeypatch):
    """The broker is not there when they start; later the database restarts. All three carry
    on by themselves, and the relay says one line at the start and one at the end of each."""
    caplog.set_level(logging.INFO)
    monkeypatch.setenv("STOCKROOM_HEARTBEAT_SECONDS", "0.5")
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker = EmbeddedBroker(server_directory("stockroom-test-late-broker-"), port)
    prefix, slot = unique_prefix(), unique_slot()
    tail = ChangeTail(bootstrap, topic_prefix=prefix).start()
    worker = ReplenishmentWorker(bootstrap, topic=prefix + "stock", group_id=f"g-{uuid.uuid4().hex}")
    stop_worker = threading.Event()
    worker_thread = threading.Thread(target=worker.run, args=(stop_worker,), daemon=True)
    try:
        with RelayThread(relay_config(world, bootstrap, prefix, slot)) as relay:
            worker_thread.start()
            assert wait_for(lambda: relay.broker_outage.down and worker.broker_outage.down)
            broker.start()
            make_low("WH-PAR-1", "SKU-3")
            assert wait_for(lambda: suggestions() == 1), "the worker did not act after the broker came"
            assert wait_for(lambda: any(e.table == "stock" for e in tail.snapshot().recent))

            pg_server.restart()
            make_low("WH-BER-1", "SKU-2")
            assert wait_for(lambda: suggestions() == 2), "the worker did not act after the restart"
            assert wait_for(lambda: any(e.key == ["WH-BER-1", "SKU-2"] for e in tail.snapshot().recent))
            assert wait_for(lambda: not relay.database_outage.down and relay.database_outage.outages == 1)
            assert worker_thread.is_alive() and tail.running
            assert tail.snapshot().status == "live"
            # Both report themselves to the Operations page, with the work they did (by their
            # next beat: a beat may have been written just before the work was counted).
            def both_report_work() -> bool:
                beats = {b["process"]: b["counters"] for b in latest_beats()}
                return all(beats.get(p, {}).get("operations", 0) > 0 for p in ("relay", "worker"))

            assert wait_for(both_report_work), latest_beats()
    finally:
        stop_worker.set()
        worker_thread.join(30)
        tail.stop()
        broker.stop()
        drop_slot(world, slot)
    relay_log = "changefeed.relay"
    assert len(warnings_from(caplog, relay_log, "broker unavailable")) == 1
    assert len(warnings_from(caplog, relay_log, "broker back after")) == 1
    assert len(warnings_from(caplog, relay_log, "database unavailable")) == 1
    assert len(warnings_from(caplog, relay_log, "database back after")) == 1
    assert len(warnings_from(caplog, "changefeed.worker", "broker unavailable")) == 1
    assert len(warnings_from(caplog, "changefeed.tail", "change stream unavailable")) == 1
    assert not Path(broker.log_file).read_text().count("panicked")
