"""The PostgreSQL relay against a real PostgreSQL and a real Tansu broker.

Every test has its own topic prefix and its own slot (slot names are server-wide), and drops
its slot at the end.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest
from kafka.errors import KafkaError

from changefeed.encoding import parse_hlc
from changefeed.relay import BrokerUnavailable
from queries.db import run_transaction
from stack.broker import EmbeddedBroker, tansu_binary
from stack.ports import free_port, wait_for_port
from stack.processes import terminate
from tests import factories
from tests.cdc_helpers import (
    Message,
    RelayThread,
    TopicReader,
    relay_config,
    relay_process,
    unique_prefix,
)

STOCK_COLUMNS = ["location_id", "sku", "on_hand", "reserved", "incoming", "reorder_point",
                 "version", "updated_at"]


def stock_row(location_id: str, sku: str) -> dict:
    return run_transaction(lambda cur: cur.execute(
        "SELECT location_id, sku, on_hand, reserved, incoming, reorder_point, version "
        "FROM stock WHERE location_id = %s AND sku = %s", (location_id, sku)).fetchone())


def scanned(reader: TopicReader, table: str, count: int):
    return lambda messages: len([m for m in messages if not m.is_resolved and m.table == table]) >= count


def last_per_key(messages: list[Message], table: str) -> dict[tuple, dict]:
    latest: dict[tuple, dict] = {}
    for m in messages:
        if not m.is_resolved and m.table == table:
            latest[tuple(m.key)] = m.value
    return latest


# CockroachDB's own reference partitions for its Kafka sink (cockroachdb/cockroach,
# pkg/ccl/changefeedccl kafka sink test: "if an upgrade occurs while a changefeed is running,
# partitioning remains the same ... Changing these values is a breaking change"), out of 1031.
COCKROACH_PARTITIONS_OF_1031 = {
    b"0": 1003, b"01": 351, b"10": 940, b"a": 292, b"\x00": 732, b"\xff \xff": 164,
    b"a" * 2048: 755, b"a" * 2047 + b"A": 592,
}
# Where the nine stock keys of the small world land among 3 partitions (the relay's key bytes,
# placed by that partitioner; written down once so that any other hash shows up).
STOCK_KEY_PARTITIONS = {
    ("WH-BER-1", "SKU-1"): 1, ("WH-BER-1", "SKU-2"): 1, ("WH-BER-1", "SKU-3"): 1,
    ("WH-PAR-1", "SKU-1"): 0, ("WH-PAR-1", "SKU-2"): 2, ("WH-PAR-1", "SKU-3"): 1,
    ("ST-NYC-1", "SKU-1"): 0, ("ST-NYC-1", "SKU-2"): 2, ("ST-NYC-1", "SKU-3"): 2,
}


def test_a_key_lands_on_the_partition_a_cockroachdb_changefeed_gives_it():
    from changefeed.encoding import Partitioner, fnv1a_32, partition_for

    assert fnv1a_32(b"") == 0x811C9DC5 and fnv1a_32(b"a") == 0xE40C292C  # FNV's published values
    cached = Partitioner()
    for key, expected in COCKROACH_PARTITIONS_OF_1031.items():
        assert partition_for(key, 1031) == cached(key, 1031) == expected, key
    for (location_id, sku), expected in STOCK_KEY_PARTITIONS.items():
        key = f'["{location_id}", "{sku}"]'.encode()
        assert partition_for(key, 3) == cached(key, 3) == expected, key


def test_initial_scan_then_an_update_arrives_with_key_after_before_and_commit_time(world, kafka, slot):
    prefix = unique_prefix()
    reader = TopicReader(kafka, prefix)
    with RelayThread(relay_config(world, kafka, prefix, slot)):
        assert reader.read_until(scanned(reader, "stock", 9), 60), "the initial scan did not arrive"
        scan = reader.changes("stock")
        assert {tuple(m.key) for m in scan} == {(loc, sku) for loc in ("WH-BER-1", "WH-PAR-1", "ST-NYC-1")
                                                 for sku in ("SKU-1", "SKU-2", "SKU-3")}
        assert all(m.value["before"] is None for m in scan)
        # Each key is on the partition Kafka's partitioner gives it, in the real broker.
        assert {tuple(m.key): m.partition for m in scan} == STOCK_KEY_PARTITIONS

        with psycopg.connect(world, autocommit=True) as conn:
            with conn.transaction():
                started = conn.execute(
                    "SELECT (extract(epoch FROM now()) * 1000000)::int8").fetchone()[0]
                conn.execute("UPDATE stock SET reserved = 4, version = version + 1, updated_at = now() "
                             "WHERE location_id = 'WH-BER-1' AND sku = 'SKU-2'")
            committed = conn.execute(
                "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::int8").fetchone()[0]

        def updated_row_arrived(messages):
            return any(m.key == ["WH-BER-1", "SKU-2"] and m.value["before"] is not None
                       for m in messages if not m.is_resolved)

        assert reader.read_until(updated_row_arrived, 30)
    reader.close()
    message = next(m for m in reader.changes("stock")
                   if m.key == ["WH-BER-1", "SKU-2"] and m.value["before"] is not None)
    after, before = message.value["after"], message.value["before"]
    assert set(message.value) == {"after", "before", "updated"}
    assert list(after) == sorted(STOCK_COLUMNS)  # sorted names, as CockroachDB writes them
    assert after["reserved"] == 4 and before["reserved"] == 0
    assert after["version"] == before["version"] + 1
    assert after["on_hand"] == 100 and isinstance(after["on_hand"], int)
    assert after["updated_at"].endswith("Z") and "T" in after["updated_at"]
    wall, logical = parse_hlc(message.value["updated"])
    assert len(message.value["updated"].split(".")[1]) == 10
    assert started * 1000 <= wall <= committed * 1000 and logical == 0
    assert stock_row("WH-BER-1", "SKU-2")["version"] == after["version"]


def test_a_delete_has_after_null_and_the_old_row_as_before(world, kafka, slot):
    prefix = unique_prefix()
    factories.add_location("WH-TMP-1")
    run_transaction(lambda cur: cur.execute(
        "INSERT INTO stock (location_id, sku, on_hand) VALUES ('WH-TMP-1', 'SKU-3', 7)"))
    reader = TopicReader(kafka, prefix)
    with RelayThread(relay_config(world, kafka, prefix, slot)):
        assert reader.read_until(scanned(reader, "stock", 10), 60)
        run_transaction(lambda cur: cur.execute(
            "DELETE FROM stock WHERE location_id = 'WH-TMP-1' AND sku = 'SKU-3'"))
        assert reader.read_until(lambda ms: any(m.key == ["WH-TMP-1", "SKU-3"] and
                                                m.value.get("after", 1) is None for m in ms), 30)
    reader.close()
    delete = [m for m in reader.changes("stock") if m.key == ["WH-TMP-1", "SKU-3"]][-1]
    assert delete.value["after"] is None
    assert delete.value["before"]["on_hand"] == 7 and delete.value["before"]["sku"] == "SKU-3"
    assert parse_hlc(delete.value["updated"])[0] > 0


def test_a_row_written_twice_in_one_transaction_is_sent_once_with_its_last_value(world, kafka, slot):
    prefix = unique_prefix()
    reader = TopicReader(kafka, prefix)
    with RelayThread(relay_config(world, kafka, prefix, slot)):
        assert reader.read_until(scanned(reader, "stock", 9), 60)

        def twice(cur):
            for _ in range(2):
                cur.execute("UPDATE stock SET on_hand = on_hand + 1, version = version + 1 "
                            "WHERE location_id = 'ST-NYC-1' AND sku = 'SKU-1'")

        run_transaction(twice)
        # A later transaction on the same key is the marker: same key, same partition, so
        # once it is read, anything the first transaction produced has been read too.
        run_transaction(lambda cur: cur.execute(
            "UPDATE stock SET on_hand = 500, version = version + 1 "
            "WHERE location_id = 'ST-NYC-1' AND sku = 'SKU-1'"))
        assert reader.read_until(lambda ms: any(
            m.key == ["ST-NYC-1", "SKU-1"] and (m.value["after"] or {}).get("on_hand") == 500
            for m in ms if not m.is_resolved), 30)
    reader.close()
    updates = sorted((m for m in reader.changes("stock")
                      if m.key == ["ST-NYC-1", "SKU-1"] and m.value["before"]), key=lambda m: m.offset)
    assert [(m.value["before"]["on_hand"], m.value["after"]["on_hand"]) for m in updates] == [
        (100, 102), (102, 500)]


def test_resolved_markers_reach_every_partition_never_decrease_and_hold(world, kafka, slot):
    prefix = unique_prefix()
    reader = TopicReader(kafka, prefix)
    stop_writes = threading.Event()

    def writer():
        while not stop_writes.is_set():
            run_transaction(lambda cur: cur.execute(
                "UPDATE stock SET on_hand = on_hand + 1, version = version + 1 WHERE sku = 'SKU-1'"))
            time.sleep(0.02)

    with RelayThread(relay_config(world, kafka, prefix, slot)) as relay:
        assert reader.read_until(scanned(reader, "stock", 9), 60)
        thread = threading.Thread(target=writer)
        thread.start()
        try:
            partitions = None

            def three_markers_everywhere(messages):
                nonlocal partitions
                partitions = {(t, p) for t, n in relay.partitions.items() for p in range(n)}
                counts = {tp: 0 for tp in partitions}
                for m in messages:
                    if m.is_resolved:
                        counts[(m.topic, m.partition)] += 1
                return bool(counts) and min(counts.values()) >= 3

            assert reader.read_until(three_markers_everywhere, 60)
        finally:
            stop_writes.set()
            thread.join()
    reader.close()
    assert len(partitions) == 5 * 3
    by_partition: dict[tuple, list[Message]] = {}
    for m in reader.messages:
        by_partition.setdefault((m.topic, m.partition), []).append(m)
    for messages in by_partition.values():
        messages.sort(key=lambda m: m.offset)
        resolved = [parse_hlc(m.value["resolved"]) for m in messages if m.is_resolved]
        assert resolved == sorted(resolved)
        # The promise itself: no change at or below a resolved timestamp follows it.
        highest = (0, 0)
        for m in messages:
            if m.is_resolved:
                highest = max(highest, parse_hlc(m.value["resolved"]))
            else:
                assert parse_hlc(m.value["updated"]) > highest, (m, highest)
    assert all(m.key is None for m in reader.messages if m.is_resolved)


def test_one_key_keeps_its_order_across_a_thousand_updates(world, kafka, slot):
    prefix = unique_prefix()
    reader = TopicReader(kafka, prefix)
    with RelayThread(relay_config(world, kafka, prefix, slot, batch_changes=200)):
        assert reader.read_until(scanned(reader, "stock", 9), 60)
        with psycopg.connect(world, autocommit=True) as conn:
            for _ in range(1000):
                conn.execute("UPDATE stock SET on_hand = on_hand + 1, version = version + 1 "
                             "WHERE location_id = 'WH-PAR-1' AND sku = 'SKU-3'")

        def all_there(messages):
            return sum(1 for m in messages if not m.is_resolved and m.key == ["WH-PAR-1", "SKU-3"]
                       and m.value["before"] is not None) >= 1000

        assert reader.read_until(all_there, 90)
    reader.close()
    updates = [m for m in reader.changes("stock")
               if m.key == ["WH-PAR-1", "SKU-3"] and m.value["before"] is not None]
    assert len({m.partition for m in updates}) == 1
    updates.sort(key=lambda m: m.offset)
    assert [m.value["after"]["on_hand"] for m in updates] == list(range(101, 1101))
    stamps = [parse_hlc(m.value["updated"]) for m in updates]
    assert all(a < b for a, b in zip(stamps, stamps[1:], strict=False))
    assert all(m.value["before"]["on_hand"] + 1 == m.value["after"]["on_hand"] for m in updates)


def _seed_rows(locations: int = 5, skus: int = 10) -> list[tuple[str, str]]:
    for i in range(locations):
        factories.add_location(f"WH-K{i}")
    for j in range(skus):
        factories.add_product(f"SKU-K{j}")
    keys = [(f"WH-K{i}", f"SKU-K{j}") for i in range(locations) for j in range(skus)]

    def body(cur):
        for loc, sku in keys:
            cur.execute("INSERT INTO stock (location_id, sku, on_hand) VALUES (%s, %s, 1000)",
                        (loc, sku))

    run_transaction(body)
    return keys


def test_sigkill_of_the_relay_in_the_middle_of_ten_thousand_changes_loses_nothing(
        db, kafka, slot, tmp_path):
    keys = _seed_rows()             # 50 rows, each updated 200 times: 10,000 changes
    prefix = unique_prefix()
    reader = TopicReader(kafka, prefix)
    log = tmp_path / "relay.log"
    # Small batches, so the relay is always in the middle of one (published, not yet
    # confirmed) while it works through the backlog.
    relay = relay_process(db, kafka, prefix, slot, log, STOCKROOM_RELAY_BATCH="300")
    restarted = None
    try:
        assert reader.read_until(scanned(reader, "stock", 50), 60), log.read_text()
        killed = threading.Event()

        def writer():
            # 1,000 transactions of 10 rows, as fast as they commit; the relay dies while it
            # works through the first half.
            with psycopg.connect(db, autocommit=True) as conn:
                for round_no in range(200):
                    if round_no == 100:
                        killed.wait(60)
                    for batch in range(0, len(keys), 10):
                        with conn.transaction():
                            for loc, sku in keys[batch:batch + 10]:
                                conn.execute("UPDATE stock SET version = version + 1 "
                                             "WHERE location_id = %s AND sku = %s", (loc, sku))

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            assert reader.read_until(lambda ms: len(reader.changes("stock")) >= 50 + 1000, 60)
            relay.send_signal(signal.SIGKILL)
            relay.wait(10)
        finally:
            killed.set()
        restarted = relay_process(db, kafka, prefix, slot, log, STOCKROOM_RELAY_BATCH="300")
        thread.join()
        expected = {(loc, sku, version) for loc, sku in keys for version in range(2, 202)}

        def every_change_seen(messages):
            seen = {(m.key[0], m.key[1], m.value["after"]["version"]) for m in messages
                    if not m.is_resolved and m.table == "stock"}
            return expected <= seen

        assert reader.read_until(every_change_seen, 120), log.read_text()[-3000:]
    finally:
        for process in (relay, restarted):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(20)
        reader.close()


def test_the_relay_survives_a_broker_restart_and_the_last_message_of_each_key_is_the_row(
        world, slot, tmp_path):
    broker = EmbeddedBroker(Path(tmp_path / "kafka"), free_port())
    broker.start()
    prefix = unique_prefix()
    try:
        with RelayThread(relay_config(world, broker.bootstrap, prefix, slot)) as relay:
            reader = TopicReader(broker.bootstrap, prefix)
            assert reader.read_until(scanned(reader, "stock", 9), 60)
            reader.close()

            def move(location_id: str, sku: str, delta: int):
                run_transaction(lambda cur: cur.execute(
                    "UPDATE stock SET on_hand = on_hand + %s, version = version + 1 "
                    "WHERE location_id = %s AND sku = %s", (delta, location_id, sku)))

            move("WH-BER-1", "SKU-1", -10)
            broker.stop()
            move("WH-BER-1", "SKU-1", -5)        # while the broker is down
            move("WH-PAR-1", "SKU-2", 7)
            broker.start()
            move("ST-NYC-1", "SKU-3", -1)        # after it is back
            rows = {(r["location_id"], r["sku"]): r for r in run_transaction(lambda cur: cur.execute(
                "SELECT location_id, sku, on_hand, reserved, incoming, reorder_point, version "
                "FROM stock").fetchall())}

            reader = TopicReader(broker.bootstrap, prefix)

            def matches_database(messages):
                latest = last_per_key(messages, "stock")
                return set(latest) == set(rows) and all(
                    latest[key]["after"] is not None and
                    all(latest[key]["after"][c] == row[c] for c in row) for key, row in rows.items())

            assert reader.read_until(matches_database, 90), last_per_key(reader.messages, "stock")
            reader.close()
            # The re-scan counts itself once every table is out; stock is the first of them,
            # so the reader can be satisfied a moment before the counter moves.
            deadline = time.monotonic() + 30
            while relay.stats.scans < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert relay.stats.scans >= 2, relay.stats
    finally:
        broker.stop()


class Killed(Exception):
    """Stands for SIGKILL at an exact point: the relay object is abandoned, nothing cleans up."""


def test_a_relay_killed_in_the_middle_of_its_scan_scans_again_when_it_restarts(world, kafka, slot):
    """The need to re-emit every row (a new slot, a broker that lost its topics) is recorded in
    the slot itself and confirmed only after the scan: the next relay finds it and finishes."""
    from changefeed.relay import Relay
    from changefeed.stream_check import check_stream, wait_until_caught_up
    from queries import orders
    from queries.actor import SYSTEM
    from tests.order_helpers import customer

    orders.place_order(SYSTEM, customer(), [("SKU-1", 2), ("SKU-2", 1)])
    prefix = unique_prefix()
    config = relay_config(world, kafka, prefix, slot)
    first = Relay(config)
    assert first.open_database()      # a new slot: every row must be emitted
    first.open_broker()
    first.need_scan = True
    published = []

    def publish_then_die(outgoing):
        if published:                 # stock went out; the process dies on the orders
            raise Killed()
        Relay.publish(first, outgoing)
        published.append(len(outgoing))

    first.publish = publish_then_die
    with pytest.raises(Killed):
        first.scan_if_needed()
    first.close()
    assert published == [9]           # the nine stock rows, nothing more

    with RelayThread(config) as second:
        assert wait_until_caught_up(world, slot, 60)
        deadline = time.monotonic() + 60
        while second.stats.scans < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert second.stats.scans == 1
        assert wait_until_caught_up(world, slot, 60)
        result = check_stream(world, kafka, prefix=prefix, timeout=60)
    assert result.ok, "\n".join(result.summary_lines())
    assert result.tables["stock"].keys == 9


def test_a_publish_the_broker_never_acknowledged_leaves_the_slot_and_a_restart_sends_it_again(
        world, slot, tmp_path):
    """The slot is confirmed only after the broker's ack. A private broker sits behind a proxy
    (it advertises the proxy's port, so every client connection goes through it); closing the
    proxy makes the broker unreachable without losing its topics. A batch published then is
    never acknowledged: the cycle fails, the slot stays where it was, and the next relay
    publishes that batch again."""
    from kafka import KafkaProducer

    from changefeed.relay import Relay, producer_settings
    from changefeed.stream_check import wait_until_caught_up
    from queries import replication
    from tests.flaky_proxy import FlakyProxy

    broker_port, door_port = free_port(), free_port()
    broker = subprocess.Popen(
        [tansu_binary(), "broker", "--listener-url", f"tcp://127.0.0.1:{broker_port}",
         "--advertised-listener-url", f"tcp://127.0.0.1:{door_port}",
         "--storage-engine", "memory://tansu/"],
        stdout=open(tmp_path / "tansu.log", "ab"), stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True)
    door = FlakyProxy(broker_port, port=door_port)
    bootstrap = f"127.0.0.1:{door_port}"
    prefix = unique_prefix()
    config = relay_config(world, bootstrap, prefix, slot)
    first = Relay(config)
    try:
        assert wait_for_port(broker_port, 20, lambda: broker.poll() is None)
        first.open_database()
        first.open_broker()
        first.need_scan = True
        first.drain()                 # the first scan: the topics hold every row
        # The relay's own producer, with timeouts of a second instead of thirty, so the
        # unacknowledged batch fails fast. Metadata is fetched now, while the broker is there:
        # the sends below are accepted and only the acknowledgement is missing.
        first.producer.close()
        first.producer = KafkaProducer(**{**producer_settings(bootstrap), "request_timeout_ms": 1000,
                                          "delivery_timeout_ms": 2000, "max_block_ms": 2000})
        for topic in first.topics:
            assert first.producer.partitions_for(topic)
        with psycopg.connect(world, autocommit=True) as conn:
            conn.execute("UPDATE stock SET reserved = 3, version = version + 1 "
                         "WHERE location_id = 'WH-PAR-1' AND sku = 'SKU-1'")
            after_update = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]

        # The broker hangs from here on: connections stay open, nothing is acknowledged. (Closing
        # the proxy instead let a send through now and then: kafka-python had it on the wire.)
        broker.send_signal(signal.SIGSTOP)
        # A cycle may come before the update reaches the slot's stream and have nothing to
        # send; the first cycle that has it must fail, not confirm.
        deadline = time.monotonic() + 30
        with pytest.raises((BrokerUnavailable, KafkaError)):
            while time.monotonic() < deadline:
                first.cycle()
        with psycopg.connect(world, autocommit=True) as conn:
            confirmed = replication.slot_status(conn, slot)["confirmed_flush_lsn"]
            assert conn.execute("SELECT %s::pg_lsn < %s::pg_lsn",
                                (confirmed, after_update)).fetchone()[0], (confirmed, after_update)
        first.close()

        broker.send_signal(signal.SIGCONT)   # the broker is back, its topics intact
        reader = TopicReader(bootstrap, prefix)
        try:
            with RelayThread(config) as second:
                def update_arrived(messages):
                    return any(m.key == ["WH-PAR-1", "SKU-1"] and m.value["before"] is not None
                               and m.value["after"]["reserved"] == 3 for m in messages
                               if not m.is_resolved)

                assert reader.read_until(update_arrived, 60), reader.changes("stock")
                assert wait_until_caught_up(world, slot, 60)
                assert second.stats.scans == 0    # sent as the change it is, not re-scanned
        finally:
            reader.close()
    finally:
        first.close()
        door.close()
        broker.send_signal(signal.SIGCONT)
        terminate(broker.pid)
        broker.wait(10)


def test_an_orders_key_starts_with_its_home_region_as_on_a_regional_by_row_table(
        world, kafka, slot, monkeypatch):
    """orders is REGIONAL BY ROW AS home_region on CockroachDB, so its changefeed key is
    [home_region, id] and its rows carry home_region (queries/cockroach_setup.py). The relay
    emits that shape, with the home CockroachDB computes from the same STOCKROOM_REGIONS; a
    change of region is a delete under the old key and an insert under the new one. Tables
    that are not REGIONAL BY ROW keep their plain primary key."""
    from changefeed.stream_check import check_stream, wait_until_caught_up
    from queries import orders
    from queries.actor import SYSTEM
    from queries.cockroach_setup import parse_region_map
    from tests.order_helpers import customer

    regions = "EU=europe-west1,NA=us-east1"
    monkeypatch.setenv("STOCKROOM_REGIONS", regions)   # what check_stream renders rows with
    order_id = orders.place_order(SYSTEM, customer(), [("SKU-1", 2)])["order_id"]
    prefix = unique_prefix()
    reader = TopicReader(kafka, prefix)
    config = relay_config(world, kafka, prefix, slot, region_map=parse_region_map(regions))
    with RelayThread(config):
        assert reader.read_until(lambda ms: any(m.table == "orders" for m in ms), 60)
        run_transaction(lambda cur: cur.execute(
            "UPDATE orders SET region = 'NA', version = version + 1 WHERE id = %s", (order_id,)))
        assert reader.read_until(lambda ms: any(
            m.key == ["us-east1", order_id] for m in ms if not m.is_resolved) and any(
            m.table == "order_lines" for m in ms), 30)
        assert wait_until_caught_up(world, slot, 60)
        result = check_stream(world, kafka, prefix=prefix, timeout=60)
    reader.close()
    assert result.ok, "\n".join(result.summary_lines())
    scanned_order = next(m for m in reader.changes("orders") if m.key[-1] == order_id)
    assert scanned_order.key == ["europe-west1", order_id]
    after = scanned_order.value["after"]
    assert after["home_region"] == "europe-west1" and after["region"] == "EU"
    assert list(after) == sorted(after)              # home_region among the sorted fields
    moved = [m for m in reader.changes("orders") if m.key[-1] == order_id][1:]
    gone = next(m for m in moved if m.key == ["europe-west1", order_id])
    came = next(m for m in moved if m.key == ["us-east1", order_id])
    assert gone.value["after"] is None and gone.value["before"]["home_region"] == "europe-west1"
    assert came.value["before"] is None and came.value["after"]["home_region"] == "us-east1"
    assert came.value["after"]["region"] == "NA" and gone.value["updated"] == came.value["updated"]
    # Not REGIONAL BY ROW: the plain primary key, no home_region.
    line = next(m for m in reader.changes("order_lines") if m.key[0] == order_id)
    assert line.key == [order_id, 1] and "home_region" not in line.value["after"]
    assert all(len(m.key) == 2 and "home_region" not in m.value["after"]
               for m in reader.changes("stock"))


def test_without_a_region_map_the_orders_key_starts_with_the_business_region(world, kafka, slot):
    """PostgreSQL without STOCKROOM_REGIONS: the same shape, the row's own region as home."""
    from queries import orders
    from queries.actor import SYSTEM
    from tests.order_helpers import customer

    order_id = orders.place_order(SYSTEM, customer(), [("SKU-1", 1)])["order_id"]
    prefix = unique_prefix()
    reader = TopicReader(kafka, prefix)
    with RelayThread(relay_config(world, kafka, prefix, slot)):
        assert reader.read_until(lambda ms: any(m.table == "orders" for m in ms), 60)
    reader.close()
    message = next(m for m in reader.changes("orders") if m.key[-1] == order_id)
    assert message.key == ["EU", order_id] and message.value["after"]["home_region"] == "EU"
