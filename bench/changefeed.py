"""`python manage.py bench changefeed`: how fast the change stream is, measured side by side.

Starts its own embedded PostgreSQL and Tansu in a temporary directory, then:

1. Latency: the relay runs as `python -m changefeed.relay` (as `manage.py up` starts it); a
   writer commits a steady 500 changes/s (50 transactions/s of 10 rows) for 20 s; a consumer
   measures commit -> receipt for every change, using the message's own `updated` (the
   server's commit time; same host, same clock). Reports p50 / p99 / max. Target: p99 < 1 s.
2. Throughput: 50,000 changes are committed while the relay is stopped; then the relay drains
   them (peek, decode, render, publish with acks=all, confirm the slot), and a raw kafka-python
   producer sends the very same messages to the same topics and partitions with the same
   settings and batch size; then the relay drains another 50,000 (relay, raw, relay, so the
   broker's growing topics favour neither). Reports both rates and the ratio. Target: relay
   >= half of raw.

Run directly: `python -m bench.changefeed [--rate 500] [--seconds 20] [--changes 50000]`.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from changefeed.config import RelayConfig
from changefeed.encoding import parse_hlc
from changefeed.relay import Relay, producer_settings
from queries import replication
from queries.migrate import migrate
from stack.broker import EmbeddedBroker
from stack.ports import free_port
from stack.postgres import EmbeddedPostgres

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "bench_"
SLOT = "stockroom_bench"
LOCATIONS, SKUS = 20, 50          # 1,000 stock rows
ROWS_PER_TRANSACTION = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=int, default=500, help="changes per second (latency run)")
    parser.add_argument("--seconds", type=float, default=20, help="length of the latency run")
    parser.add_argument("--changes", type=int, default=50_000, help="changes in the throughput run")


def _option(args, name: str, default):
    value = getattr(args, name, None)
    return default if value is None else value


def _seed(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO locations (id, name, kind, region, city, country, lat, lon) "
            "SELECT 'WH-' || g, 'Warehouse ' || g, 'warehouse', 'EU', 'City', 'XX', 50, 10 "
            "FROM generate_series(1, %s) AS g", (LOCATIONS,))
        conn.execute(
            "INSERT INTO products (sku, name, category, unit_cost, unit_price, reorder_point) "
            "SELECT 'SKU-' || g, 'Product ' || g, 'Bench', 5, 10, 5 FROM generate_series(1, %s) AS g",
            (SKUS,))
        conn.execute(
            "INSERT INTO stock (location_id, sku, on_hand, reorder_point) "
            "SELECT l.id, p.sku, 100000, 5 FROM locations AS l CROSS JOIN products AS p")
        return [tuple(r) for r in conn.execute("SELECT location_id, sku FROM stock ORDER BY 1, 2")]


def _update(conn: psycopg.Connection, keys: list[tuple[str, str]]) -> None:
    with conn.transaction():
        for location_id, sku in keys:
            conn.execute("UPDATE stock SET on_hand = on_hand - 1, version = version + 1, "
                         "updated_at = now() WHERE location_id = %s AND sku = %s",
                         (location_id, sku))


def _stock_consumer(bootstrap: str) -> tuple[KafkaConsumer, list[TopicPartition]]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             allow_auto_create_topics=False, fetch_max_wait_ms=20,
                             fetch_min_bytes=1)
    partitions = [TopicPartition(PREFIX + "stock", p)
                  for p in sorted(consumer.partitions_for_topic(PREFIX + "stock") or ())]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    return consumer, partitions


def _wait_for_scan(bootstrap: str, rows: int, timeout: float = 120) -> None:
    """Until the relay has created the topics and re-emitted every stock row."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        probe = KafkaConsumer(bootstrap_servers=bootstrap, allow_auto_create_topics=False)
        ready = bool(probe.partitions_for_topic(PREFIX + "stock"))
        probe.close()
        if ready:
            break
        time.sleep(0.5)
    consumer, _ = _stock_consumer(bootstrap)
    seen = 0
    while seen < rows and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            seen += sum(1 for r in records if r.key)
    consumer.close()
    if seen < rows:
        raise RuntimeError(f"the relay's initial scan did not arrive ({seen} of {rows} rows)")


def latency_run(url: str, bootstrap: str, keys: list, rate: int, seconds: float,
                log_path: Path) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
           "STOCKROOM_TOPIC_PREFIX": PREFIX, "STOCKROOM_CDC_SLOT": SLOT,
           "STOCKROOM_RESOLVED_INTERVAL": "1"}
    with open(log_path, "ab") as log:
        relay = subprocess.Popen([sys.executable, "-m", "changefeed.relay"], cwd=ROOT, env=env,
                                 stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_scan(bootstrap, len(keys))
        consumer, partitions = _stock_consumer(bootstrap)
        consumer.seek_to_end(*partitions)
        for tp in partitions:
            consumer.position(tp)
        latencies: list[float] = []
        expected = int(rate * seconds) // ROWS_PER_TRANSACTION * ROWS_PER_TRANSACTION
        done = threading.Event()

        def consume():
            while not done.is_set() and len(latencies) < expected:
                for records in consumer.poll(timeout_ms=200).values():
                    now = time.time()
                    for r in records:
                        if r.key:  # resolved markers have no key
                            wall, _ = parse_hlc(_updated(r.value))
                            latencies.append(now - wall / 1e9)

        reader = threading.Thread(target=consume)
        reader.start()
        interval = ROWS_PER_TRANSACTION / rate
        behind = 0
        with psycopg.connect(url, autocommit=True) as conn:
            start = time.monotonic()
            for i in range(expected // ROWS_PER_TRANSACTION):
                due = start + i * interval
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                else:
                    behind += 1
                first = (i * ROWS_PER_TRANSACTION) % len(keys)
                _update(conn, keys[first:first + ROWS_PER_TRANSACTION])
            elapsed = time.monotonic() - start
        reader.join(60)
        done.set()
        reader.join()
        consumer.close()
    finally:
        relay.terminate()
        relay.wait(30)
    latencies.sort()
    return {
        "changes": expected, "received": len(latencies), "seconds": elapsed,
        "achieved_rate": expected / elapsed, "late_transactions": behind,
        "p50": _percentile(latencies, 50), "p99": _percentile(latencies, 99),
        "max": latencies[-1] if latencies else float("nan"),
    }


def _updated(value: bytes) -> str:
    marker = b'"updated": "'
    start = value.rindex(marker) + len(marker)
    return value[start:value.index(b'"', start)].decode()


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


def _backlog(url: str, keys: list, changes: int) -> int:
    """Commit `changes` row changes (1,000 per statement) while the relay is not reading."""
    statements = max(1, changes // len(keys))
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(statements):
            conn.execute("UPDATE stock SET on_hand = on_hand - 1, version = version + 1, "
                         "updated_at = now()")
    return statements * len(keys)


def _relay_drain(url: str, bootstrap: str, record: list | None = None) -> tuple[int, float]:
    relay = Relay(RelayConfig(database_url=url, bootstrap=bootstrap, topic_prefix=PREFIX, slot=SLOT))
    relay.open_database()
    relay.open_broker()
    if record is not None:
        publish = relay.publish

        def recording_publish(outgoing):
            record.append(list(outgoing))
            publish(outgoing)

        relay.publish = recording_publish
    start = time.perf_counter()
    published = relay.drain()
    seconds = time.perf_counter() - start
    relay.close()
    return published, seconds


def _raw_send(bootstrap: str, batches: list, one_flush: bool = False) -> tuple[int, float]:
    """The recorded messages through a plain producer with the relay's settings: flushing
    after each of the relay's batches, or (one_flush) only once at the end."""
    producer = KafkaProducer(**producer_settings(bootstrap))
    if one_flush:
        batches = [[m for batch in batches for m in batch]]
    start = time.perf_counter()
    for batch in batches:
        futures = [producer.send(m.topic, key=m.key, value=m.value, partition=m.partition)
                   for m in batch]
        producer.flush(timeout=60)
        failed = [f for f in futures if f.failed()]
        if failed:
            raise RuntimeError(f"raw producer failed: {failed[0].exception!r}")
    seconds = time.perf_counter() - start
    producer.close()
    return sum(len(b) for b in batches), seconds


def throughput_run(url: str, bootstrap: str, keys: list, changes: int) -> dict:
    """Relay drains a backlog (its messages are recorded), the raw producer sends those same
    messages, then the relay drains a second backlog: relay, raw, relay, so neither side
    gets the broker at its emptiest. The relay's rate is over both of its runs."""
    recorded: list = []
    total = _backlog(url, keys, changes)
    first, first_seconds = _relay_drain(url, bootstrap, recorded)
    raw_count, raw_seconds = _raw_send(bootstrap, recorded)
    _, single_seconds = _raw_send(bootstrap, recorded, one_flush=True)
    total += _backlog(url, keys, changes)
    second, second_seconds = _relay_drain(url, bootstrap)
    published, relay_seconds = first + second, first_seconds + second_seconds
    return {"changes": total, "published": published, "relay_seconds": relay_seconds,
            "relay_rate": published / relay_seconds, "raw_messages": raw_count,
            "raw_seconds": raw_seconds, "raw_rate": raw_count / raw_seconds,
            "raw_single_seconds": single_seconds, "raw_single_rate": raw_count / single_seconds,
            "batches": len(recorded)}


def run(args: argparse.Namespace | None = None) -> int:
    rate = int(_option(args, "rate", 500))
    seconds = float(_option(args, "seconds", 20))
    changes = int(_option(args, "changes", 50_000))
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="stockroom-bench-") as tmp:
        directory = Path(tmp)
        postgres = EmbeddedPostgres(directory / "pg", free_port())
        broker = EmbeddedBroker(directory / "kafka", free_port())
        print("Starting embedded PostgreSQL and Tansu in", directory)
        postgres.start()
        broker.start()
        try:
            migrate(postgres.url)
            keys = _seed(postgres.url)
            print(f"Seeded {len(keys):,} stock rows.\n")
            print(f"1. Latency, commit -> consumer, {rate} changes/s for {seconds:g} s "
                  "(relay as a subprocess) …")
            latency = latency_run(postgres.url, broker.bootstrap, keys, rate, seconds,
                                  directory / "relay.log")
            print(f"   {latency['received']:,} of {latency['changes']:,} changes received; "
                  f"writer achieved {latency['achieved_rate']:.0f} changes/s")
            print(f"   p50 {latency['p50'] * 1000:7.1f} ms")
            print(f"   p99 {latency['p99'] * 1000:7.1f} ms   target < 1000 ms: "
                  f"{'MET' if latency['p99'] < 1.0 else 'MISSED'}")
            print(f"   max {latency['max'] * 1000:7.1f} ms\n")
            print(f"2. Throughput, {changes:,} committed changes, same messages, same broker …")
            result = throughput_run(postgres.url, broker.bootstrap, keys, changes)
            best_raw = max(result["raw_rate"], result["raw_single_rate"])
            ratio = result["relay_rate"] / best_raw
            print(f"   relay: peek, decode, render, publish (acks=all), confirm  "
                  f"{result['relay_rate']:8,.0f} changes/s   ({result['published']:,} in "
                  f"{result['relay_seconds']:.2f} s over two runs)")
            print(f"   raw kafka-python producer, flush per relay batch       "
                  f"{result['raw_rate']:8,.0f} messages/s  ({result['raw_messages']:,} in "
                  f"{result['raw_seconds']:.2f} s, {result['batches']} batches)")
            print(f"   raw kafka-python producer, one flush at the end         "
                  f"{result['raw_single_rate']:8,.0f} messages/s  ({result['raw_messages']:,} in "
                  f"{result['raw_single_seconds']:.2f} s)")
            print(f"   ratio relay / faster raw  {ratio:.2f}   target >= 0.50: "
                  f"{'MET' if ratio >= 0.5 else 'MISSED'}")
        finally:
            try:
                with psycopg.connect(postgres.url, autocommit=True) as conn:
                    replication.drop_slot(conn, SLOT)
            except psycopg.Error:
                pass
            broker.stop()
            postgres.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
