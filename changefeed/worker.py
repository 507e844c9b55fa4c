"""The replenishment workflow worker: a consumer group on the stock topic.

Run it with `python -m changefeed.worker` (`manage.py up` starts it); it runs until SIGTERM.
For every stock change it checks whether the row is at or below its reorder point; when a row
crosses to low it records the crossing and writes one replenishment suggestion
(queries.replenishment), as SYSTEM, in one SERIALIZABLE transaction. Offsets are committed
after the batch is applied, so a crash re-delivers messages; applying a message twice changes
nothing (the database remembers the changefeed timestamp of the last message applied for each
row). Messages that leave a row on the same side of its reorder point need no write.
When a row's available quantity rises, back-ordered orders waiting for that SKU are tried
again (changefeed.backorders).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time

import psycopg
from kafka import ConsumerRebalanceListener, KafkaConsumer
from kafka.errors import KafkaError

from changefeed import backorders, security, topics
from changefeed.config import bootstrap_servers, topic_for
from changefeed.encoding import parse_hlc
from queries import heartbeats
from queries.actor import SYSTEM
from queries.errors import DatabaseUnavailable, OutcomeUnknown
from queries.heartbeats import Heartbeat
from queries.replenishment import StockLevel, observe_stock_level
from stack.outage import Outage

log = logging.getLogger("changefeed.worker")

GROUP_ID = "stockroom-replenishment"


def stock_level_from_message(value: bytes) -> StockLevel | None:
    """The stock row a message describes, or None (resolved markers, deletes)."""
    message = json.loads(value)
    after = message.get("after")
    if not after or "updated" not in message:
        return None
    return StockLevel(
        location_id=after["location_id"], sku=after["sku"], on_hand=int(after["on_hand"]),
        reserved=int(after["reserved"]), reorder_point=int(after["reorder_point"]),
        updated=parse_hlc(message["updated"]),
    )


def _report(suggestion: dict | None) -> dict | None:
    if suggestion:
        log.info("suggested %s x %s from %s to %s", suggestion["qty"], suggestion["sku"],
                 suggestion["from_location_id"] or "(no source in region)",
                 suggestion["location_id"])
    return suggestion


class _ForgetOnRebalance(ConsumerRebalanceListener):
    def __init__(self, known: dict):
        self.known = known

    def on_partitions_revoked(self, revoked) -> None:
        self.known.clear()

    def on_partitions_assigned(self, assigned) -> None:
        self.known.clear()


def consumer_settings(bootstrap: str, group_id: str) -> dict:
    return dict(
        bootstrap_servers=bootstrap,
        group_id=group_id,
        client_id="stockroom-worker",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        allow_auto_create_topics=False,
        # Tansu holds a group's first join for the rebalance timeout: keep it short.
        max_poll_interval_ms=int(os.environ.get("STOCKROOM_WORKER_POLL_INTERVAL_MS", 5000)),
        session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000,
        max_poll_records=100,
        request_timeout_ms=15_000,
        metadata_max_age_ms=5_000,   # notice the topic soon after the relay creates it
        **security.client_settings(),   # TLS and SASL (changefeed/security.py)
    )


class ReplenishmentWorker:
    def __init__(self, bootstrap: str, topic: str | None = None, group_id: str = GROUP_ID):
        self.bootstrap = bootstrap
        self.topic = topic or topic_for("stock")
        self.group_id = group_id
        self.consumer: KafkaConsumer | None = None
        self.admin = None
        self.topic_id: str | None = None
        self.processed = 0
        self.suggestions = 0
        self.database_writes = 0
        self.backorders_allocated = 0
        self.errors = 0
        self.database_outage = Outage("database", log)
        self.broker_outage = Outage("broker", log)
        self.heartbeat = Heartbeat(heartbeats.WORKER)
        self._last_check = 0.0
        # (location, sku) -> (is_low, updated) of the last message applied by this worker.
        # A message that leaves a row on the same side of its reorder point needs no write:
        # only crossings matter, and an older message would be ignored anyway. Forgotten
        # whenever partitions move, since another worker may have written meanwhile.
        self._known: dict[tuple[str, str], tuple[bool, tuple[int, int]]] = {}

    def _topic_was_recreated(self) -> bool:
        """After the embedded broker restarts, the topic comes back empty with a new id and
        the group's offsets are gone: start over from the topic's beginning (the re-scan)."""
        if self.admin is None:
            self.admin = topics.admin_client(self.bootstrap, "stockroom-worker-admin")
        found = topics.describe(self.admin, [self.topic]).get(self.topic)
        current = found[0] if found else None
        changed = self.topic_id is not None and current is not None and current != self.topic_id
        if current is not None:
            self.topic_id = current
        return changed

    def step(self, timeout_ms: int = 500) -> int:
        """Poll once, apply what came, commit. Returns the number of messages applied."""
        now = time.monotonic()
        if now - self._last_check >= 2.0:
            self._last_check = now
            if self._topic_was_recreated():
                log.info("%s was recreated (broker restart): reading it again", self.topic)
                self.close()
        if self.consumer is None:
            self.consumer = KafkaConsumer(**consumer_settings(self.bootstrap, self.group_id))
            self._known.clear()
            self.consumer.subscribe([self.topic], listener=_ForgetOnRebalance(self._known))
        batches = self.consumer.poll(timeout_ms=timeout_ms)
        count = 0
        risen: set[str] = set()
        for records in batches.values():
            for record in records:
                if self.apply(record.value):
                    self.suggestions += 1
                if sku := backorders.sku_with_more_available(record.value):
                    risen.add(sku)
                count += 1
        if risen:
            self.backorders_allocated += backorders.allocate_waiting_for(risen)
        if count:
            self.consumer.commit()
            self.processed += count
        return count

    def apply(self, value: bytes) -> dict | None:
        level = stock_level_from_message(value)
        if level is None:
            return None
        row = (level.location_id, level.sku)
        known = self._known.get(row)
        if known is not None and known[0] == level.is_low and level.updated > known[1]:
            self._known[row] = (level.is_low, level.updated)
            return None
        self.database_writes += 1
        observation = observe_stock_level(level, SYSTEM)
        if observation.applied:
            self._known[row] = (level.is_low, level.updated)
        else:
            self._known.pop(row, None)
        return _report(observation.suggestion)

    def run(self, stop: threading.Event) -> None:
        """Loop until stopped. Neither the database nor the broker going away ends it: each
        outage is logged once when it starts and once when it ends, with capped backoff.
        Messages not yet committed come again after a reconnect and are applied idempotently."""
        while not stop.is_set():
            try:
                self.step()
                self.database_outage.recovered()
                self.broker_outage.recovered()
                self.beat()
                continue
            except (KafkaError, OSError) as exc:
                wait = self.broker_outage.failed(exc)
            except (psycopg.Error, DatabaseUnavailable, OutcomeUnknown) as exc:
                # OutcomeUnknown too: the batch is not committed, so it comes again, and
                # applying a message twice changes nothing.
                wait = self.database_outage.failed(exc)
            self.errors += 1
            self.close()
            self.beat()
            stop.wait(wait)
        self.close()

    def beat(self) -> None:
        """The worker's heartbeat for the Operations page (at most once per interval; skipped
        while the database is known to be down, so it never waits)."""
        if self.database_outage.down:
            return
        self.heartbeat.beat({
            "operations": self.processed, "errors": self.errors,
            "suggestions": self.suggestions, "backorders_allocated": self.backorders_allocated,
            "database_writes": self.database_writes,
        })

    def close(self) -> None:
        for client in (self.consumer, self.admin):
            if client is not None:
                try:
                    client.close()
                except Exception:  # noqa: BLE001 - the broker may be gone
                    pass
        self.consumer = self.admin = None


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.CRITICAL)  # reported by the worker itself
    bootstrap = bootstrap_servers()
    if not bootstrap or not os.environ.get("DATABASE_URL"):
        log.error("DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS must both be set.")
        return 2
    try:
        security.from_env()   # refuse bad TLS/SASL settings now, in a sentence, not per retry
    except security.KafkaSettingsError as exc:
        log.error("%s", exc)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    worker = ReplenishmentWorker(bootstrap)
    log.info("watching %s as group %s", worker.topic, worker.group_id)
    worker.run(stop)
    log.info("stopped after %d messages, %d suggestions, %d back-orders allocated",
             worker.processed, worker.suggestions, worker.backorders_allocated)
    return 0


if __name__ == "__main__":
    sys.exit(main())
