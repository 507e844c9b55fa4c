"""How the change stream is doing, as the operations page shows it (read-only)."""

from __future__ import annotations

import os

from queries import changefeed_jobs, replication
from queries.db import read
from queries.dialect import dialect_of


def change_stream_health() -> dict:
    """On PostgreSQL: the relay's slot (position, unconfirmed bytes, retained WAL).
    On CockroachDB: the changefeed jobs. A read like any other: retried through a lost
    connection."""

    def body(cur) -> dict:
        conn = cur.connection
        if dialect_of(conn).is_cockroach:
            return {"engine": "cockroachdb", "jobs": changefeed_jobs.changefeed_jobs(conn)}
        slot = os.environ.get("STOCKROOM_CDC_SLOT") or replication.default_slot_name(
            replication.database_name(conn))
        return {"engine": "postgresql", "slot": slot,
                "status": replication.slot_status(conn, slot)}

    return read(body)
