"""A live tail of the change stream for the app: one background thread per process.

The thread reads every table topic without a consumer group (assign + seek), starting a
little before the end of each partition, and keeps:

* a bounded buffer of recent changes, deduplicated: per (topic, key) only a message with a
  greater `updated` (compared as an (int, int) pair, never a float) is kept, so repeats after
  a relay restart and replays older than what was seen are dropped;
* changes per second per table (by commit second), the newest `updated` (lag = now - newest),
  and the latest resolved marker of every partition (watermark = their minimum);
* stockout events: a stock row whose available (on_hand - reserved) fell to zero.

Streamlit calls cannot be made from this thread; pages read `snapshot()` from a fragment.
A kafka-python consumer is not thread-safe, so it is created and used only inside the thread.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from kafka import KafkaConsumer, TopicPartition

from changefeed import TABLES, security, topics
from changefeed.config import BOOTSTRAP_TIMEOUT_MS
from changefeed.encoding import parse_hlc
from queries.cockroach_setup import HOME_REGION_COLUMN
from stack.outage import Outage

log = logging.getLogger("changefeed.tail")


@dataclass(frozen=True)
class ChangeEvent:
    seq: int
    table: str
    topic: str
    key: list
    updated: str
    updated_pair: tuple[int, int]
    after: dict | None
    before: dict | None
    received_at: float

    @property
    def commit_seconds(self) -> float:
        return self.updated_pair[0] / 1e9

    @property
    def row_key(self) -> list:
        """The row's own key, whichever shape the message key has: a REGIONAL BY ROW table's
        key starts with the row's home region on CockroachDB and from the relay
        (changefeed/relay.py), so that leading element is dropped when the row says it is its
        home (`home_region` in after/before). Dedup still uses the whole key, as DESIGN.md
        section 4 says: a re-homed row is a delete and an insert under two keys."""
        row = self.after if self.after is not None else self.before
        home = (row or {}).get(HOME_REGION_COLUMN)
        if home is not None and len(self.key) > 1 and self.key[0] == home:
            return self.key[1:]
        return self.key

    @property
    def operation(self) -> str:
        if self.after is None:
            return "delete"
        return "insert" if self.before is None else "update"


@dataclass(frozen=True)
class TailSnapshot:
    status: str                      # "connecting", "live", or the reason it cannot read
    bootstrap: str
    recent: list[ChangeEvent]        # newest first
    rates: list[dict]                # {"second": int, "table": str, "changes": int}
    newest_updated: tuple[int, int] | None
    watermark: tuple[int, int] | None
    partitions: int
    partitions_without_resolved: int
    received: int
    duplicates_dropped: int
    stockouts: list[ChangeEvent] = field(default_factory=list)

    def lag_seconds(self, now: float | None = None) -> float | None:
        if self.newest_updated is None:
            return None
        return max(0.0, (now if now is not None else time.time()) - self.newest_updated[0] / 1e9)

    def watermark_age_seconds(self, now: float | None = None) -> float | None:
        if self.watermark is None:
            return None
        return max(0.0, (now if now is not None else time.time()) - self.watermark[0] / 1e9)


def available(row: dict | None) -> int | None:
    if not row or "on_hand" not in row or "reserved" not in row:
        return None
    return int(row["on_hand"]) - int(row["reserved"])


def is_stockout(event: ChangeEvent) -> bool:
    """A stock row whose available just reached zero (it had some before)."""
    if event.table != "stock" or event.after is None or event.before is None:
        return False
    before, after = available(event.before), available(event.after)
    return before is not None and after is not None and before > 0 and after <= 0


class ChangeTail:
    def __init__(self, bootstrap: str, topic_prefix: str = "", tables: tuple[str, ...] = TABLES,
                 buffer_size: int = 500, history_per_partition: int = 50,
                 rate_window_seconds: int = 60, max_tracked_keys: int = 200_000):
        self.bootstrap = bootstrap
        self.topic_prefix = topic_prefix
        self.tables = tables
        self.history_per_partition = history_per_partition
        self.rate_window_seconds = rate_window_seconds
        self.max_tracked_keys = max_tracked_keys
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._recent: deque[ChangeEvent] = deque(maxlen=buffer_size)
        self._stockouts: deque[ChangeEvent] = deque(maxlen=100)
        self._latest: OrderedDict[tuple[str, bytes], tuple[int, int]] = OrderedDict()
        self._resolved: dict[tuple[str, int], tuple[int, int]] = {}
        self._rates: dict[tuple[int, str], int] = {}
        self._newest: tuple[int, int] | None = None
        self._status = "connecting"
        self._seq = 0
        self._received = 0
        self._duplicates = 0
        self._assigned: dict[str, tuple[str, int]] = {}
        self.outage = Outage("change stream", log, max_wait=10.0)

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self) -> ChangeTail:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="stockroom-change-tail",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ---- what pages read ----------------------------------------------------------------------

    def snapshot(self, recent: int = 100) -> TailSnapshot:
        with self._lock:
            events = list(self._recent)[-recent:][::-1]
            rates = [{"second": second, "table": table, "changes": count}
                     for (second, table), count in sorted(self._rates.items())]
            watermark, missing, partitions = self._watermark_locked()
            return TailSnapshot(
                status=self._status, bootstrap=self.bootstrap, recent=events, rates=rates,
                newest_updated=self._newest, watermark=watermark, partitions=partitions,
                partitions_without_resolved=missing, received=self._received,
                duplicates_dropped=self._duplicates, stockouts=list(self._stockouts),
            )

    def _watermark_locked(self) -> tuple[tuple[int, int] | None, int, int]:
        partitions = [(topic, p) for topic, (_, count) in self._assigned.items()
                      for p in range(count)]
        seen = [self._resolved[tp] for tp in partitions if tp in self._resolved]
        return (min(seen) if seen else None), len(partitions) - len(seen), len(partitions)

    # ---- ingesting ----------------------------------------------------------------------------

    def ingest(self, topic: str, partition: int, key: bytes | None, value: bytes,
               received_at: float | None = None) -> ChangeEvent | None:
        """Take one message; returns the change kept, or None (resolved, duplicate, stale)."""
        message = json.loads(value)
        with self._lock:
            self._received += 1
            if "resolved" in message:
                pair = parse_hlc(message["resolved"])
                where = (topic, partition)
                if pair > self._resolved.get(where, (0, 0)):
                    self._resolved[where] = pair
                return None
            pair = parse_hlc(message["updated"])
            seen_key = (topic, key or b"")
            last = self._latest.get(seen_key)
            if last is not None and pair <= last:
                self._duplicates += 1
                return None
            self._latest[seen_key] = pair
            self._latest.move_to_end(seen_key)
            if len(self._latest) > self.max_tracked_keys:
                self._latest.popitem(last=False)
            self._seq += 1
            table = topic[len(self.topic_prefix):] if topic.startswith(self.topic_prefix) else topic
            event = ChangeEvent(
                seq=self._seq, table=table, topic=topic,
                key=json.loads(key) if key else [], updated=message["updated"],
                updated_pair=pair, after=message.get("after"), before=message.get("before"),
                received_at=received_at if received_at is not None else time.time(),
            )
            self._recent.append(event)
            if self._newest is None or pair > self._newest:
                self._newest = pair
            second = pair[0] // 1_000_000_000
            self._rates[(second, table)] = self._rates.get((second, table), 0) + 1
            self._prune_rates_locked()
            if is_stockout(event):
                self._stockouts.append(event)
            return event

    def _prune_rates_locked(self) -> None:
        if len(self._rates) < 4 * self.rate_window_seconds * max(1, len(self.tables)):
            return
        horizon = int(time.time()) - self.rate_window_seconds
        for stale in [k for k in self._rates if k[0] < horizon]:
            del self._rates[stale]

    # ---- the thread -------------------------------------------------------------------------------

    def _set_status(self, status: str) -> None:
        with self._lock:
            self._status = status

    def _run(self) -> None:
        consumer = admin = None
        last_check = 0.0
        while not self._stop.is_set():
            try:
                if consumer is None:
                    # The admin client first: it checks TLS and explains a refused SASL login.
                    admin = topics.admin_client(self.bootstrap, "stockroom-tail-admin")
                    consumer = KafkaConsumer(
                        bootstrap_servers=self.bootstrap, client_id="stockroom-tail",
                        group_id=None, enable_auto_commit=False, allow_auto_create_topics=False,
                        request_timeout_ms=10_000, fetch_max_wait_ms=200,
                        reconnect_backoff_max_ms=2_000, bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
                        **security.client_settings(),   # TLS and SASL from the environment
                    )
                    self._assigned = {}
                    last_check = 0.0
                now = time.monotonic()
                if now - last_check >= 2.0:
                    last_check = now
                    self._follow_topics(consumer, admin)
                if not self._assigned:
                    self._set_status("waiting for the relay to create the topics")
                    self._stop.wait(1.0)
                    continue
                batches = consumer.poll(timeout_ms=300, max_records=2000)
                received_at = time.time()
                for tp, records in batches.items():
                    for record in records:
                        self.ingest(tp.topic, tp.partition, record.key, record.value, received_at)
                self._set_status("live")
                self.outage.recovered()
            except Exception as exc:  # noqa: BLE001 - any failure: report it, reconnect
                self._set_status(f"cannot read the change stream at {self.bootstrap}: {exc}")
                _close_quietly(consumer, admin)
                consumer = admin = None
                self._stop.wait(self.outage.failed(exc))
        _close_quietly(consumer, admin)

    def _follow_topics(self, consumer: KafkaConsumer, admin) -> None:
        """Assign every partition of the table topics. A topic seen for the first time, or
        recreated (new id: the embedded broker restarted and the relay re-emitted every row),
        is read from a little before its end: this is a view of recent changes, not a copy."""
        wanted = [self.topic_prefix + table for table in self.tables]
        found = topics.describe(admin, wanted)
        if found == self._assigned:
            return
        positions = {tp: consumer.position(tp) for tp in consumer.assignment()}
        partitions = [TopicPartition(t, p) for t, (_, count) in found.items() for p in range(count)]
        consumer.assign(partitions)
        unchanged = {t for t in found if self._assigned.get(t) == found[t]}
        fresh = [tp for tp in partitions if tp.topic not in unchanged or tp not in positions]
        for tp in partitions:
            if tp not in fresh:
                consumer.seek(tp, positions[tp])
        if fresh:
            ends = consumer.end_offsets(fresh)
            for tp in fresh:
                consumer.seek(tp, max(0, ends.get(tp, 0) - self.history_per_partition))
        with self._lock:
            for tp in fresh:
                self._resolved.pop((tp.topic, tp.partition), None)
            self._assigned = found


def _close_quietly(*clients) -> None:
    """Close Kafka clients on the way out or before reconnecting; a failing close changes nothing."""
    for client in clients:
        if client is None:
            continue
        try:
            client.close()
        except Exception:  # noqa: BLE001
            pass
