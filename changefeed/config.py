"""Settings shared by the relay and the consumers, read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from changefeed import TABLES
from queries.cockroach_setup import RegionMap, parse_region_map

# How long a consumer or admin client waits for a first broker before it gives up; the caller
# then reports the stream as unreachable and tries again with backoff (stack/outage.py).
# kafka-python's default is 30 s, which would leave the Live page saying "Connecting…" that long.
BOOTSTRAP_TIMEOUT_MS = 5_000


def topic_prefix() -> str:
    return os.environ.get("STOCKROOM_TOPIC_PREFIX", "")


def topic_for(table: str, prefix: str | None = None) -> str:
    return (topic_prefix() if prefix is None else prefix) + table


def table_for(topic: str, prefix: str | None = None) -> str:
    prefix = topic_prefix() if prefix is None else prefix
    return topic[len(prefix):] if prefix and topic.startswith(prefix) else topic


def bootstrap_servers() -> str | None:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None


def _float_env(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _int_env(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass
class RelayConfig:
    database_url: str
    bootstrap: str
    topic_prefix: str = ""
    slot: str | None = None             # default: stockroom_cdc_<database>
    publication: str = "stockroom_cdc"
    partitions: int = 4                 # for topics the relay creates
    resolved_interval: float = 2.0      # seconds between resolved markers
    resolved_margin: float = 0.25       # how far behind the server clock a resolved marker stays
    batch_changes: int = 5000           # decoded messages per peek
    poll_interval: float = 0.05         # pause after a peek that found nothing
    tables: tuple[str, ...] = field(default_factory=lambda: TABLES)
    # STOCKROOM_REGIONS, so that the home_region the relay derives for REGIONAL BY ROW tables
    # equals what CockroachDB computes with the same setting (queries/cockroach_setup.py).
    region_map: RegionMap = field(default_factory=RegionMap)

    @classmethod
    def from_env(cls) -> RelayConfig:
        url = os.environ.get("DATABASE_URL")
        bootstrap = bootstrap_servers()
        if not url or not bootstrap:
            raise RuntimeError(
                "DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS must both be set "
                '(eval "$(python manage.py env)").'
            )
        from changefeed import security

        try:
            security.from_env()   # bad TLS/SASL settings: refused at start, in a sentence
        except security.KafkaSettingsError as exc:
            raise RuntimeError(str(exc)) from None
        return cls(
            database_url=url,
            bootstrap=bootstrap,
            topic_prefix=topic_prefix(),
            slot=os.environ.get("STOCKROOM_CDC_SLOT") or None,
            publication=os.environ.get("STOCKROOM_CDC_PUBLICATION", "stockroom_cdc"),
            partitions=_int_env("STOCKROOM_TOPIC_PARTITIONS", 4),
            resolved_interval=_float_env("STOCKROOM_RESOLVED_INTERVAL", 2.0),
            resolved_margin=_float_env("STOCKROOM_RESOLVED_MARGIN", 0.25),
            batch_changes=_int_env("STOCKROOM_RELAY_BATCH", 5000),
            poll_interval=_float_env("STOCKROOM_RELAY_POLL", 0.05),
            region_map=parse_region_map(os.environ.get("STOCKROOM_REGIONS")),
        )

    def topic(self, table: str) -> str:
        return self.topic_prefix + table
