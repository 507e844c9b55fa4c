"""Does the change stream hold the database? A verifier for DESIGN.md section 4's promise.

The contract ends with: "the last message of every key on a topic equals that row in the
database". This module checks exactly that, for the relay's stream (embedded PostgreSQL):

1. It reads every table topic from its beginning to its end (no consumer group, nothing is
   committed) and keeps, per (topic, key), the message with the highest `updated`, compared
   as an (int, int) pair; a message whose `updated` is not greater than the one kept is a
   duplicate and is dropped, as every consumer of the stream does.
2. It reads every row of the tables from one REPEATABLE READ snapshot and renders each row
   and its key exactly as the relay renders them (changefeed.encoding.RowFormat, columns and
   primary key from the catalog, values in their text form in a UTC session).
3. Every difference counts as a lost change:
   - ``differs``: the newest message of a key is not the row as it is now (older values, or a
     delete while the row exists);
   - ``missing``: a row has no message at all;
   - ``stale``: the newest message of a key is a live row, but that row no longer exists
     (its delete never arrived).
   A key whose newest message is a delete and whose row is gone is in order.

Run it when writes have stopped and the relay has caught up (`wait_until_caught_up`), or a
difference may only be a change still in flight. From Python:

    from changefeed.stream_check import check_stream, wait_until_caught_up
    wait_until_caught_up(url, slot, timeout=60)
    result = check_stream(url, bootstrap, prefix="")
    print("\\n".join(result.summary_lines()))
    assert result.ok

On CockroachDB the changefeed renders rows itself (types, `crdb_region` in keys), so this
verifier, which renders rows the way the relay does, is meant for the relay's stream only.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
from kafka import KafkaConsumer, TopicPartition

from changefeed import TABLES, security
from changefeed.encoding import parse_hlc, table_row_format
from changefeed.pgoutput import lsn_to_int
from queries import replication
from queries.cockroach_setup import parse_region_map

DIFFERS = "differs"
MISSING = "missing"
STALE = "stale"


def _parse(text: str | bytes) -> object:
    """JSON with exact decimals, so 12.50 and 12.5 are told apart only by their value."""
    return json.loads(text, parse_float=Decimal)


@dataclass(frozen=True)
class Difference:
    """One key whose newest message does not hold its row."""

    table: str
    key: str                      # the key as the relay renders it, e.g. '["WH-1", "SKU-1"]'
    kind: str                     # DIFFERS, MISSING or STALE
    row: dict | None              # the row now (None: it does not exist)
    message: dict | None          # the newest message's `after` (None: a delete, or no message)
    updated: str | None           # the newest message's `updated` (None: no message)

    def sentence(self) -> str:
        if self.kind == MISSING:
            return f"{self.table} {self.key}: the row has no message on the topic"
        if self.kind == STALE:
            return (f"{self.table} {self.key}: the row is gone but the newest message "
                    f"(updated {self.updated}) still carries it")
        if self.message is None:
            return (f"{self.table} {self.key}: the newest message (updated {self.updated}) is a "
                    f"delete but the row exists")
        changed = sorted(name for name in set(self.row or {}) | set(self.message)
                         if (self.row or {}).get(name) != self.message.get(name))
        shown = ", ".join(f"{name} {self.message.get(name)!r} (message) vs "
                          f"{(self.row or {}).get(name)!r} (row)" for name in changed[:4])
        return f"{self.table} {self.key}: newest message (updated {self.updated}) differs: {shown}"


@dataclass
class TableResult:
    table: str
    topic: str
    rows: int = 0                 # rows in the database
    keys: int = 0                 # distinct keys on the topic
    messages: int = 0             # change messages read (resolved markers not counted)
    differs: int = 0
    missing: int = 0
    stale: int = 0

    @property
    def lost(self) -> int:
        return self.differs + self.missing + self.stale


@dataclass
class StreamCheck:
    """What check_stream found: counts per table and the first few differences."""

    tables: dict[str, TableResult] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)   # the first `examples`
    complete: bool = True         # every topic was read to its end before the deadline
    missing_topics: list[str] = field(default_factory=list)
    messages_read: int = 0        # everything read, resolved markers included
    seconds: float = 0.0

    @property
    def lost(self) -> int:
        return sum(t.lost for t in self.tables.values())

    @property
    def ok(self) -> bool:
        return self.complete and self.lost == 0

    def summary_lines(self) -> list[str]:
        lines = [f"{'table':<14}{'rows':>9}{'keys':>9}{'messages':>10}{'differs':>9}"
                 f"{'missing':>9}{'stale':>7}"]
        for t in self.tables.values():
            lines.append(f"{t.table:<14}{t.rows:>9}{t.keys:>9}{t.messages:>10}{t.differs:>9}"
                         f"{t.missing:>9}{t.stale:>7}")
        if not self.complete:
            lines.append("the topics could not be read to their end before the deadline")
        if self.missing_topics:
            lines.append("topics not found: " + ", ".join(self.missing_topics))
        lines.extend(d.sentence() for d in self.differences)
        verdict = "ok" if self.ok else f"{self.lost} lost change(s)"
        lines.append(f"stream check: {verdict} ({self.messages_read} messages read in "
                     f"{self.seconds:.1f} s)")
        return lines


@dataclass
class _Newest:
    updated: tuple[int, int]
    updated_text: str
    after: dict | None


@dataclass
class TopicContents:
    """The newest message per key of each topic, as read by newest_messages."""

    newest: dict[str, dict[str, _Newest]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)     # change messages per topic
    messages_read: int = 0
    complete: bool = True
    missing_topics: list[str] = field(default_factory=list)


def newest_messages(bootstrap: str, topics: Sequence[str], *, timeout: float = 120.0,
                    topic_wait: float = 5.0) -> TopicContents:
    """Read the topics from the beginning to their end; keep the newest message per key.

    "The end" is the end offsets asked for after the last poll that still brought changes:
    the embedded broker's end offsets can lag what it holds, so reading stops only once every
    partition reached them *and* a poll brought no more change messages (resolved markers keep
    arriving while the relay runs and do not count). Polls are short and everything runs
    against a deadline; `complete` is False if the deadline came first. A topic that does not
    exist after `topic_wait` seconds is listed in `missing_topics` and counts as empty.
    """
    contents = TopicContents(newest={t: {} for t in topics}, counts={t: 0 for t in topics})
    deadline = time.monotonic() + timeout
    security.preflight(bootstrap)   # bounded TLS check (kafka-python's handshake has no deadline)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             allow_auto_create_topics=False, fetch_max_wait_ms=100,
                             request_timeout_ms=5_000, metadata_max_age_ms=1_000,
                             max_partition_fetch_bytes=4 * 1024 * 1024,
                             client_id="stockroom-stream-check", **security.client_settings())
    try:
        partitions: list[TopicPartition] = []
        for topic in topics:
            found = consumer.partitions_for_topic(topic)
            wait_until = min(deadline, time.monotonic() + topic_wait)
            while not found and time.monotonic() < wait_until:
                time.sleep(0.2)
                found = consumer.partitions_for_topic(topic)
            if not found:
                contents.missing_topics.append(topic)
                continue
            partitions.extend(TopicPartition(topic, p) for p in sorted(found))
        if not partitions:
            return contents
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        while True:
            if time.monotonic() >= deadline:
                contents.complete = False
                return contents
            batch = consumer.poll(timeout_ms=300, max_records=20_000)
            changes = 0
            for tp, records in batch.items():
                newest = contents.newest[tp.topic]
                for record in records:
                    contents.messages_read += 1
                    if record.key is None:
                        continue  # a resolved marker
                    changes += 1
                    value = _parse(record.value)
                    updated_text = value["updated"]
                    updated = parse_hlc(updated_text)
                    key = record.key.decode()
                    kept = newest.get(key)
                    if kept is None or updated > kept.updated:
                        newest[key] = _Newest(updated, updated_text, value.get("after"))
                    contents.counts[tp.topic] += 1
            if all(consumer.position(tp) >= end[tp] for tp in partitions):
                if changes == 0:
                    return contents
                end = consumer.end_offsets(partitions)
    finally:
        consumer.close()


def current_rows(url: str, tables: Sequence[str], region_map=None) -> dict[str, dict[str, dict]]:
    """{table: {key: row}} for every row, rendered as the relay renders it, from one snapshot
    (REGIONAL BY ROW tables with their home_region, through region_map, by default
    STOCKROOM_REGIONS as the relay reads it)."""
    if region_map is None:
        region_map = parse_region_map(os.environ.get("STOCKROOM_REGIONS"))
    conn = replication.connect(url, application_name="stockroom-stream-check")
    try:
        formats = {}
        for table in tables:
            columns = replication.table_columns(conn, table)
            formats[table] = (table_row_format(table, columns,
                                               replication.primary_key_columns(conn, table),
                                               region_map),
                              [name for name, _ in columns])
    finally:
        conn.close()
    rows: dict[str, dict[str, dict]] = {}
    with replication.consistent_snapshot(url) as snapshot:
        for table in tables:
            row_format, names = formats[table]
            found = rows[table] = {}
            for chunk in snapshot.rows(table, names):
                for values in chunk:
                    found[row_format.key(values)] = _parse(row_format.row(values))
    return rows


def compare(rows: dict[str, dict[str, dict]], contents: TopicContents, topics: dict[str, str],
            examples: int = 10) -> StreamCheck:
    """Rows (current_rows) against the newest messages (newest_messages); topics: table -> topic."""
    result = StreamCheck(complete=contents.complete, missing_topics=list(contents.missing_topics),
                         messages_read=contents.messages_read)

    def note(difference: Difference) -> None:
        table = result.tables[difference.table]
        setattr(table, difference.kind, getattr(table, difference.kind) + 1)
        if len(result.differences) < examples:
            result.differences.append(difference)

    for table, topic in topics.items():
        table_rows = rows.get(table, {})
        newest = contents.newest.get(topic, {})
        result.tables[table] = TableResult(table, topic, rows=len(table_rows), keys=len(newest),
                                           messages=contents.counts.get(topic, 0))
        for key, row in table_rows.items():
            kept = newest.get(key)
            if kept is None:
                note(Difference(table, key, MISSING, row, None, None))
            elif kept.after != row:
                note(Difference(table, key, DIFFERS, row, kept.after, kept.updated_text))
        for key, kept in newest.items():
            if key not in table_rows and kept.after is not None:
                note(Difference(table, key, STALE, None, kept.after, kept.updated_text))
    return result


def check_stream(url: str, bootstrap: str, *, prefix: str = "",
                 tables: Sequence[str] = TABLES, timeout: float = 120.0,
                 examples: int = 10) -> StreamCheck:
    """Compare the newest message of every key with every row of the tables (module doc).

    The topics are read first and the database second, so a change committed in between shows
    up as a difference: run it on a quiet system, after wait_until_caught_up.
    """
    started = time.perf_counter()
    topics = {table: prefix + table for table in tables}
    contents = newest_messages(bootstrap, list(topics.values()), timeout=timeout)
    rows = current_rows(url, tables)
    result = compare(rows, contents, topics, examples)
    result.seconds = time.perf_counter() - started
    return result


def wait_until_caught_up(url: str, slot: str, timeout: float = 60.0) -> bool:
    """Wait until the relay confirmed everything written before this call; False on timeout
    (also when the slot does not exist by then: the relay creates it when it first starts).

    The relay confirms its slot only after the broker acknowledged, so once the slot's
    confirmed position passes the server's current WAL position every change before it is on
    the topics (and a new relay's first scan, which comes before its first confirmation). A
    small transactional tick (which the relay reads and skips) is committed first so there is
    a commit at or past that position for the relay to confirm.
    """
    deadline = time.monotonic() + timeout
    target = None
    ticked = False
    while time.monotonic() < deadline:
        try:
            with replication.connect(url, application_name="stockroom-stream-check") as conn:
                if target is None:
                    # A slot created after the target would already stand past it before the
                    # relay published anything: take the target once the slot exists.
                    if replication.slot_status(conn, slot) is None:
                        time.sleep(0.1)
                        continue
                    target = lsn_to_int(replication.wal_position(conn).insert_lsn)
                if not ticked:
                    replication.emit_tick(conn)
                    ticked = True
                while time.monotonic() < deadline:
                    status = replication.slot_status(conn, slot)
                    if status is None:
                        return False  # dropped meanwhile
                    # Strictly past: a slot created at the target stands there unread.
                    if lsn_to_int(status["confirmed_flush_lsn"]) > target:
                        return True
                    time.sleep(0.1)
        except psycopg.OperationalError:  # the server may be restarting; try again
            time.sleep(0.5)
    return False
