"""Helpers for the change-stream tests: a relay in a thread or a subprocess, a topic reader,
and slot clean-up (slot names are global to the server and an abandoned slot pins WAL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from changefeed import TABLES
from changefeed.config import RelayConfig
from changefeed.relay import Relay
from queries import replication

ROOT = Path(__file__).resolve().parent.parent


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}_"


def unique_slot() -> str:
    return f"test_slot_{uuid.uuid4().hex[:12]}"


def drop_slot(database_url: str, slot: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        for _ in range(50):
            try:
                replication.drop_slot(conn, slot)
                return
            except psycopg.errors.ObjectInUse:
                time.sleep(0.1)  # a peek still holds it for a moment


def relay_config(database_url: str, bootstrap: str, prefix: str, slot: str, **overrides) -> RelayConfig:
    settings = dict(database_url=database_url, bootstrap=bootstrap, topic_prefix=prefix, slot=slot,
                    resolved_interval=0.3, poll_interval=0.02, partitions=3)
    settings.update(overrides)
    return RelayConfig(**settings)


class RelayThread:
    """The relay running in this process, in its own thread (its Kafka clients live there)."""

    def __init__(self, config: RelayConfig):
        self.relay = Relay(config)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.relay.run, args=(self.stop_event,), daemon=True)

    def __enter__(self) -> Relay:
        self.thread.start()
        return self.relay

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(30)


def relay_process(database_url: str, bootstrap: str, prefix: str, slot: str,
                  log_path: Path, **settings: str) -> subprocess.Popen:
    """`python -m changefeed.relay` as `manage.py up` runs it (settings: extra environment)."""
    env = {**os.environ, "DATABASE_URL": database_url, "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
           "STOCKROOM_TOPIC_PREFIX": prefix, "STOCKROOM_CDC_SLOT": slot,
           "STOCKROOM_RESOLVED_INTERVAL": "0.5", "STOCKROOM_RELAY_POLL": "0.02",
           "STOCKROOM_TOPIC_PARTITIONS": "3", **settings}
    log = open(log_path, "ab")
    return subprocess.Popen([sys.executable, "-m", "changefeed.relay"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


@dataclass(frozen=True)
class Message:
    topic: str
    partition: int
    offset: int
    key: list | None
    value: dict

    @property
    def table(self) -> str:
        return self.topic.split("_", 1)[1]

    @property
    def is_resolved(self) -> bool:
        return "resolved" in self.value


class TopicReader:
    """Reads the tables' topics from the beginning, without a group, into self.messages."""

    def __init__(self, bootstrap: str, prefix: str, tables: tuple[str, ...] = TABLES):
        self.topics = [prefix + t for t in tables]
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                      allow_auto_create_topics=False, fetch_max_wait_ms=100,
                                      metadata_max_age_ms=1000)
        self.messages: list[Message] = []
        self._assigned: set[TopicPartition] = set()

    def _assign_new_partitions(self) -> None:
        partitions = set()
        for topic in self.topics:
            for p in self.consumer.partitions_for_topic(topic) or ():
                partitions.add(TopicPartition(topic, p))
        new = partitions - self._assigned
        if new:
            positions = {tp: self.consumer.position(tp) for tp in self._assigned}
            self.consumer.assign(list(partitions))
            for tp, offset in positions.items():
                self.consumer.seek(tp, offset)
            self.consumer.seek_to_beginning(*new)
            self._assigned = partitions

    def poll(self) -> int:
        self._assign_new_partitions()
        if not self._assigned:
            time.sleep(0.2)
            return 0
        count = 0
        for tp, records in self.consumer.poll(timeout_ms=300, max_records=5000).items():
            for r in records:
                self.messages.append(Message(tp.topic, tp.partition, r.offset,
                                             json.loads(r.key) if r.key else None,
                                             json.loads(r.value)))
                count += 1
        return count

    def read_until(self, condition: Callable[[list[Message]], bool], timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if condition(self.messages):
                return True
        return condition(self.messages)

    def changes(self, table: str | None = None) -> list[Message]:
        return [m for m in self.messages if not m.is_resolved
                and (table is None or m.table == table)]

    def close(self) -> None:
        self.consumer.close()


def produce(bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes, int]]) -> None:
    """Send (key, value, partition) messages and wait for the acks."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False,
                             allow_auto_create_topics=False)
    try:
        for key, value, partition in messages:
            producer.send(topic, key=key, value=value, partition=partition)
        producer.flush(30)
    finally:
        producer.close()


def create_topics(bootstrap: str, names: list[str], partitions: int = 3) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    finally:
        admin.close()
