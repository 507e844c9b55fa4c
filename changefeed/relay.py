"""The CDC relay: PostgreSQL logical decoding -> Kafka, in CockroachDB changefeed format.

Run it with `python -m changefeed.relay` (`manage.py up` starts it); it runs until SIGTERM.

How it keeps DESIGN.md section 4:

* It reads the slot with pg_logical_slot_peek_binary_changes (pgoutput, a publication limited
  to the five tables), whole transactions in commit order, many at once.
* Each change becomes one message: key = JSON array of the primary key, value = after / before
  (REPLICA IDENTITY FULL gives the old row) / updated = the commit time as an HLC string.
  A row changed several times in one transaction is sent once, as a changefeed does.
* Keys of REGIONAL BY ROW tables (queries/cockroach_setup.REGIONAL_BY_ROW; of the watched
  tables, `orders`) have CockroachDB's shape. There the table's primary key is partitioned by
  its region column, which leads the key and appears in the row
  (https://www.cockroachlabs.com/docs/stable/changefeeds-in-multi-region-deployments), so an
  order's key is `["europe-west1", "<id>"]` and `after`/`before` carry `"home_region"`. The
  relay emits the same: `home_region` derived from the row's `region` through
  STOCKROOM_REGIONS (`EU=europe-west1,...`), or the business region itself (`["EU", "<id>"]`)
  when it is not set. An order whose region changes gets a new key: a delete of the old key
  and an insert of the new one, as CockroachDB emits a re-homed row. Consumers identify rows
  by `after`/`before` (or the key's last elements), never by key position 0. order_lines and
  order_events stay REGIONAL BY TABLE, so their keys are their plain primary keys.
* A message's partition comes from the FNV-1a hash of its key, as CockroachDB's Kafka sink
  places it, so a key always lands on one partition and per-key order holds; the producer
  keeps one request in flight.
* Only after the broker acknowledged the whole batch (acks=all, flush, every future checked)
  does the relay advance the slot. A crash before that republishes the batch on restart:
  at least once, duplicates carry the same `updated` so consumers drop them.
* Every `resolved_interval` it sends {"resolved": R} to every partition of every topic. R is
  the server clock of an earlier peek minus a small margin, and it is only sent once every
  commit that could carry a smaller timestamp has been decoded and acknowledged.
* The embedded broker keeps nothing on disk. When topics vanish, their ids change, or the
  offsets it returns go backwards, the relay recreates the topics and re-emits every row of
  the five tables from one REPEATABLE READ snapshot (like a changefeed's initial scan), then
  continues from its slot; transactions already inside that snapshot are skipped, later ones
  are stamped no earlier than the scan, so the last message of every key equals its row.
  The same scan runs when the relay creates the slot or the topics for the first time.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass, field

import psycopg
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from changefeed import security, topics
from changefeed.config import RelayConfig
from changefeed.encoding import Partitioner, RowFormat, envelope, hlc, resolved_envelope, table_row_format
from changefeed.pgoutput import Decoder, Relation, Transaction, lsn_to_int, lsn_to_text
from queries import heartbeats, replication
from queries.dialect import dialect_of
from queries.heartbeats import Heartbeat
from stack.outage import Outage

log = logging.getLogger("changefeed.relay")


class BrokerReset(Exception):
    """The broker lost what it had: the relay must recreate its topics and rescan."""


class BrokerUnavailable(Exception):
    pass


class CockroachDetected(Exception):
    pass


@dataclass(slots=True)
class Outgoing:
    topic: str
    partition: int
    key: bytes | None
    value: bytes


@dataclass
class RelayStats:
    published: int = 0          # change messages acknowledged
    transactions: int = 0
    resolved_sent: int = 0      # resolved markers acknowledged (one per partition)
    scans: int = 0
    scanned_rows: int = 0
    broker_resets: int = 0
    broker_errors: int = 0
    database_errors: int = 0
    last_resolved: str | None = None
    # Commit -> broker acknowledgement of the newest transaction of the last batch, in seconds;
    # 0 when a peek finds nothing waiting. Reported in the relay's heartbeat.
    lag_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def producer_settings(bootstrap: str) -> dict:
    """acks=all; one request in flight so a retried batch cannot overtake a later one; TLS and
    SASL from the environment (changefeed/security.py)."""
    return dict(
        bootstrap_servers=bootstrap,
        client_id="stockroom-relay",
        acks="all",
        enable_idempotence=False,   # the embedded broker forgets producer ids on restart
        retries=3,
        max_in_flight_requests_per_connection=1,
        allow_auto_create_topics=False,
        linger_ms=2,
        batch_size=512 * 1024,
        max_request_size=8 * 1024 * 1024,
        request_timeout_ms=10_000,
        delivery_timeout_ms=30_000,
        max_block_ms=10_000,
        reconnect_backoff_max_ms=2_000,
        **security.client_settings(),
    )


class Relay:
    def __init__(self, config: RelayConfig):
        self.config = config
        self.slot = config.slot
        self.db: psycopg.Connection | None = None
        self.admin: KafkaAdminClient | None = None
        self.producer: KafkaProducer | None = None
        self.stats = RelayStats()
        self.need_scan = False
        self._scan_request_in_wal = False   # the pending scan was asked for in the slot itself
        self.partitions: dict[str, int] = {}
        self.topic_ids: dict[str, str] = {}
        self._last_offsets: dict[tuple[str, int], int] = {}
        self._formats: dict[tuple, RowFormat] = {}
        self._partition = Partitioner()
        self._primary_keys: dict[str, list[str]] = {}
        # Updates are never stamped before this (wall, logical): the last scan's time + 1.
        self._floor = (0, 0)
        self._scan_mark: replication.SnapshotMark | None = None
        self._pending_resolved: list[tuple[int, int]] = []   # (server clock ns, insert LSN)
        self._resolvable = 0
        self._last_resolved = (0, 0)
        self._last_resolved_at = 0.0
        self._last_standby_snapshot = 0.0
        self._last_tick = time.monotonic()
        self.database_outage = Outage("database", log)
        self.broker_outage = Outage("broker", log)
        self.heartbeat = Heartbeat(heartbeats.RELAY)

    # ---- database ------------------------------------------------------------------------

    def open_database(self) -> bool:
        """Connect, make sure the publication and slot exist. True if the slot is new."""
        conn = replication.connect(self.config.database_url)
        if dialect_of(conn).is_cockroach:
            version = conn.info.parameter_status("crdb_version") or "CockroachDB"
            conn.close()
            raise CockroachDetected(version)
        self.db = conn
        if self.slot is None:
            self.slot = replication.default_slot_name(replication.database_name(conn))
        replication.set_replica_identity_full(conn, self.config.tables)
        replication.ensure_publication(conn, self.config.publication, self.config.tables)
        created = replication.ensure_slot(conn, self.slot)
        self._primary_keys = {t: replication.primary_key_columns(conn, t) for t in self.config.tables}
        self._formats.clear()
        log.info("reading slot %s (publication %s)%s", self.slot, self.config.publication,
                 " — created now" if created else "")
        return created

    def close_database(self) -> None:
        if self.db is not None:
            try:
                self.db.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
        self.db = None

    # ---- broker ----------------------------------------------------------------------------

    @property
    def topics(self) -> list[str]:
        return [self.config.topic(t) for t in self.config.tables]

    def open_broker(self) -> bool:
        """Connect; create missing topics. True if the topics are new (the broker lost them)."""
        self.admin = topics.admin_client(self.config.bootstrap, "stockroom-relay-admin")
        changed = self.ensure_topics()
        self.producer = KafkaProducer(**producer_settings(self.config.bootstrap))
        self._last_offsets.clear()
        return changed

    def close_broker(self) -> None:
        for client in (self.producer, self.admin):
            if client is None:
                continue
            try:
                client.close(timeout=1) if client is self.producer else client.close()
            except Exception:  # noqa: BLE001 - the broker may be gone
                pass
        self.producer = self.admin = None
        self._last_offsets.clear()

    def _describe_topics(self) -> dict[str, tuple[str, int]]:
        return topics.describe(self.admin, self.topics)

    def ensure_topics(self) -> bool:
        found = self._describe_topics()
        missing = [t for t in self.topics if t not in found]
        if missing:
            log.info("creating topics %s with %d partitions", ", ".join(missing),
                     self.config.partitions)
            try:
                self.admin.create_topics(
                    [NewTopic(t, self.config.partitions, 1) for t in missing])
            except TopicAlreadyExistsError:
                pass
            found = self._describe_topics()
            absent = [t for t in self.topics if t not in found]
            if absent:
                raise BrokerUnavailable(f"topics {absent} could not be created")
        changed = bool(missing) or any(
            self.topic_ids.get(t) not in (None, found[t][0]) for t in self.topics)
        self.topic_ids = {t: found[t][0] for t in self.topics}
        self.partitions = {t: found[t][1] for t in self.topics}
        return changed

    def check_topics(self) -> None:
        found = self._describe_topics()
        for topic in self.topics:
            if topic not in found:
                raise BrokerReset(f"topic {topic} is gone")
            if found[topic][0] != self.topic_ids.get(topic):
                raise BrokerReset(f"topic {topic} was recreated")

    def publish(self, outgoing: list[Outgoing]) -> None:
        """Send and wait until the broker acknowledged every message (acks=all)."""
        if not outgoing:
            return
        send = self.producer.send
        futures = [send(m.topic, key=m.key, value=m.value, partition=m.partition) for m in outgoing]
        self.producer.flush(timeout=60)
        went_back = None
        last = self._last_offsets
        for future in futures:
            if not future.is_done or future.failed():
                raise BrokerUnavailable(f"produce failed: {future.exception!r}")
            meta = future.value
            where = (meta.topic, meta.partition)
            if meta.offset <= last.get(where, -1):
                went_back = where
            last[where] = meta.offset
        if went_back:
            raise BrokerReset(f"offsets went back on {went_back[0]}[{went_back[1]}]")

    # ---- changes -----------------------------------------------------------------------------

    def _format(self, relation: Relation) -> RowFormat:
        columns = tuple((c.name, c.type_oid) for c in relation.columns)
        cache_key = (relation.name, columns)
        row_format = self._formats.get(cache_key)
        if row_format is None:
            primary_key = self._primary_keys.get(relation.name)
            if not primary_key:
                primary_key = replication.primary_key_columns(self.db, relation.name)
                self._primary_keys[relation.name] = primary_key
            row_format = self.row_format(relation.name, columns, primary_key)
            self._formats[cache_key] = row_format
        return row_format

    def row_format(self, table: str, columns, primary_key: list[str]) -> RowFormat:
        """A REGIONAL BY ROW table's rows carry home_region and their key starts with it,
        as on CockroachDB (see the module docstring)."""
        return table_row_format(table, columns, primary_key, self.config.region_map)

    def updated_for(self, txn: Transaction) -> str:
        return hlc(*max((txn.commit_time_micros * 1000, 0), self._floor))

    def messages_for(self, txn: Transaction, updated: str) -> list[Outgoing]:
        """One message per changed key: before = the row before the transaction, after = the
        row after it (a changefeed emits a row written twice in one transaction once)."""
        per_key: dict[tuple[str, str], list] = {}

        def merge(topic: str, key: str, before: str | None, after: str | None) -> None:
            entry = per_key.get((topic, key))
            if entry is None:
                per_key[(topic, key)] = [before, after]
            else:
                entry[1] = after

        for change in txn.changes:
            row_format = self._format(change.relation)
            topic = self.config.topic_prefix + change.relation.name
            if change.kind == "insert":
                merge(topic, row_format.key(change.new), None, row_format.row(change.new))
            elif change.kind == "delete":
                merge(topic, row_format.key(change.old), row_format.row(change.old), None)
            else:
                new_key = row_format.key(change.new)
                old_key = row_format.key(change.old) if change.old is not None else new_key
                before = row_format.row(change.old) if change.old is not None else None
                if old_key != new_key:  # a primary key update: a delete and an insert
                    merge(topic, old_key, before, None)
                    merge(topic, new_key, None, row_format.row(change.new))
                else:
                    merge(topic, new_key, before, row_format.row(change.new))
        out = []
        for (topic, key), (before, after) in per_key.items():
            key_bytes = key.encode()
            out.append(Outgoing(topic, self._partition(key_bytes, self.partitions[topic]), key_bytes,
                                envelope(after, before, updated).encode()))
        return out

    def cycle(self) -> int:
        """Peek a batch, publish it, wait for the acks, confirm the slot. Returns rows read."""
        position = replication.wal_position(self.db)
        rows = replication.peek_changes(self.db, self.slot, self.config.publication,
                                        self.config.batch_changes)
        decoder = Decoder()
        transactions = [t for t in map(decoder.feed, rows) if t is not None]
        outgoing: list[Outgoing] = []
        mark = self._scan_mark
        mark_lsn = lsn_to_int(mark.insert_lsn) if mark else 0
        confirmed: list[Transaction] = []
        for txn in transactions:
            if mark is not None and txn.commit_lsn < mark_lsn and mark.visible(txn.xid):
                confirmed.append(txn)
                continue  # already in the scan (a scan request before it included)
            if (replication.TICK_PREFIX, b"scan") in txn.messages:
                # A scan was asked for (by this relay before a scan of its own, or by
                # `manage.py changefeed setup`). The slot is not confirmed past the request
                # until the scan is done: a relay killed mid-scan finds it again and rescans.
                self.need_scan = True
                self._scan_request_in_wal = True
                break
            if txn.changes:
                outgoing.extend(self.messages_for(txn, self.updated_for(txn)))
            confirmed.append(txn)
        self.publish(outgoing)
        if confirmed:
            replication.advance_slot(self.db, self.slot, lsn_to_text(confirmed[-1].end_lsn))
        self.stats.published += len(outgoing)
        self.stats.transactions += len(confirmed)
        if confirmed:
            self.stats.lag_seconds = max(0.0, time.time() - confirmed[-1].commit_time_micros / 1e6)
        elif not rows:
            self.stats.lag_seconds = 0.0
        if self.need_scan:
            self._housekeeping(len(rows))
            return len(rows)  # stopped at a scan request: the rest waits for the scan
        if len(rows) < self.config.batch_changes:
            # Decoding reached the flush position read before the peek.
            flushed = lsn_to_int(position.flush_lsn)
            if mark is not None and flushed >= mark_lsn:
                self._scan_mark = None
            self._pending_resolved.append((position.clock_nanos, lsn_to_int(position.insert_lsn)))
            ready = [clock for clock, lsn in self._pending_resolved if lsn <= flushed]
            if ready:
                self._pending_resolved = [p for p in self._pending_resolved if p[1] > flushed]
                margin = int(self.config.resolved_margin * 1e9)
                self._resolvable = max(self._resolvable, max(ready) - margin)
            del self._pending_resolved[:-100]
        self._housekeeping(len(rows))
        return len(rows)

    def drain(self) -> int:
        """Cycle (and scan, when asked) until the slot has nothing more; returns the messages
        published."""
        before = self.stats.published
        while True:
            self.scan_if_needed()
            if not self.cycle() and not self.need_scan:
                break
        return self.stats.published - before

    def _housekeeping(self, rows: int) -> None:
        now = time.monotonic()
        if rows and now - self._last_standby_snapshot >= 1.0:
            replication.log_standby_snapshot(self.db)
            self._last_standby_snapshot = now
        if rows:
            self._last_tick = now
        elif now - self._last_tick >= 10.0:
            replication.emit_tick(self.db)
            self._last_tick = now

    # ---- resolved markers and scans -----------------------------------------------------------

    def maybe_resolve(self, force: bool = False) -> bool:
        now = time.monotonic()
        if not force and now - self._last_resolved_at < self.config.resolved_interval:
            return False
        self._last_resolved_at = now
        self.check_topics()
        if self._resolvable <= 0:
            return False
        value = max((self._resolvable, 0), self._last_resolved)
        payload = resolved_envelope(hlc(*value)).encode()
        outgoing = [Outgoing(topic, partition, None, payload)
                    for topic in self.topics for partition in range(self.partitions[topic])]
        self.publish(outgoing)
        self._last_resolved = value
        self.stats.resolved_sent += len(outgoing)
        self.stats.last_resolved = hlc(*value)
        return True

    def scan(self) -> int:
        """Publish every row of every table as of one snapshot (after a broker reset)."""
        log.info("scanning %s to re-emit the current state", ", ".join(self.config.tables))
        rows = 0
        with replication.consistent_snapshot(self.config.database_url) as snapshot:
            mark = snapshot.mark()
            updated = hlc(mark.clock_nanos, 0)
            for table in self.config.tables:
                columns = replication.table_columns(self.db, table)
                row_format = self.row_format(table, columns, self._primary_keys[table])
                topic = self.config.topic(table)
                partitions = self.partitions[topic]
                for chunk in snapshot.rows(table, [name for name, _ in columns]):
                    outgoing = []
                    for values in chunk:
                        key = row_format.key(values).encode()
                        outgoing.append(Outgoing(topic, self._partition(key, partitions), key,
                                                 envelope(row_format.row(values), None,
                                                          updated).encode()))
                    self.publish(outgoing)
                    rows += len(outgoing)
        self._floor = max(self._floor, (mark.clock_nanos, 1))
        self._scan_mark = mark
        self.stats.scans += 1
        self.stats.scanned_rows += rows
        log.info("scan done: %d rows as of %s", rows, updated)
        return rows

    # ---- the loop -------------------------------------------------------------------------------

    def scan_if_needed(self) -> None:
        if not self.need_scan:
            return
        if not self._scan_request_in_wal:
            # Recorded in the slot first, so that the need survives this process.
            replication.request_scan(self.db)
        self.scan()
        self.need_scan = False
        self._scan_request_in_wal = False

    def step(self) -> int:
        """One turn of the loop: connect as needed, rescan if needed, one cycle, resolved."""
        if self.db is None:
            if self.open_database():
                self.need_scan = True
        if self.producer is None:
            if self.open_broker():
                self.need_scan = True
        self.scan_if_needed()
        rows = self.cycle()
        self.maybe_resolve()
        return rows

    def run(self, stop: threading.Event) -> None:
        """Loop until stopped. Neither the database nor the broker going away ends it: each
        outage is logged once when it starts and once when it ends, with capped backoff."""
        while not stop.is_set():
            try:
                rows = self.step()
                self.database_outage.recovered()
                self.broker_outage.recovered()
                self.beat()
                if rows == 0:
                    stop.wait(self.config.poll_interval)
                continue
            except BrokerReset as exc:
                log.warning("the broker lost its data (%s): recreating topics and rescanning", exc)
                self.stats.broker_resets += 1
                self.close_broker()
                self.need_scan = True
                wait = 0.2
            except (KafkaError, BrokerUnavailable, OSError) as exc:
                self.stats.broker_errors += 1
                self.stats.errors.append(repr(exc))
                self.close_broker()
                wait = self.broker_outage.failed(exc)
            except psycopg.Error as exc:  # lost connection, slot dropped under us, ...
                self.stats.database_errors += 1
                self.stats.errors.append(repr(exc))
                self.close_database()
                wait = self.database_outage.failed(exc)
            del self.stats.errors[:-20]
            self.beat()
            stop.wait(wait)
        self.close()

    def beat(self) -> None:
        """The relay's heartbeat for the Operations page (written at most once per interval;
        skipped while its own database connection is known to be down, so it never waits)."""
        if self.database_outage.down:
            return
        stats = self.stats
        self.heartbeat.beat({
            "operations": stats.published, "transactions": stats.transactions,
            "errors": stats.broker_errors + stats.database_errors, "retries": stats.broker_resets,
            "scans": stats.scans, "lag_seconds": stats.lag_seconds,
        })

    def close(self) -> None:
        self.close_broker()
        self.close_database()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.CRITICAL)  # the relay reports trouble itself
    try:
        config = RelayConfig.from_env()
    except RuntimeError as exc:
        log.error("%s", exc)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    relay = Relay(config)
    try:
        relay.run(stop)
    except CockroachDetected:
        log.info("DATABASE_URL is CockroachDB: its changefeed publishes the change stream "
                 "(python manage.py changefeed setup). The relay has nothing to do and idles.")
        stop.wait()
    log.info("stopped: %s", relay.stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
