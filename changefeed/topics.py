"""Topic metadata the relay and the consumers watch: a topic's id changes when the embedded
broker restarts (it keeps nothing) and the relay creates the topic again."""

from __future__ import annotations

from collections.abc import Iterable

from kafka.admin import KafkaAdminClient

from changefeed import security
from changefeed.config import BOOTSTRAP_TIMEOUT_MS


def admin_client(bootstrap: str, client_id: str) -> KafkaAdminClient:
    """With the TLS/SASL settings of the environment (changefeed/security.py). Every process
    builds its admin client before its other clients, so the TLS pre-flight runs here, and a
    refused SASL login is reported in a sentence rather than as "Unable to bootstrap"."""
    security.preflight(bootstrap)
    try:
        return KafkaAdminClient(bootstrap_servers=bootstrap, client_id=client_id,
                                request_timeout_ms=10_000,
                                bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
                                **security.client_settings())
    except Exception as exc:  # noqa: BLE001 - re-raised, explained when it is about SASL
        explained = security.explain_bootstrap_failure(exc, bootstrap)
        if explained is exc:
            raise
        raise explained from exc


def describe(admin: KafkaAdminClient, names: Iterable[str]) -> dict[str, tuple[str, int]]:
    """{topic: (topic id, partition count)} for those of the names that exist."""
    existing = set(admin.list_topics())
    present = [name for name in names if name in existing]
    found: dict[str, tuple[str, int]] = {}
    if present:
        for info in admin.describe_topics(present):
            if info.get("error_code", 0) == 0 and info.get("partitions"):
                found[info["name"]] = (str(info.get("topic_id")), len(info["partitions"]))
    return found
