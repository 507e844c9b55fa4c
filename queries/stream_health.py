"""How the change stream is doing, as the operations page shows it (read-only)."""

from __future__ import annotations

import os

import psycopg

from queries import changefeed_jobs, replication
from queries.db import database_url
from queries.dialect import dialect_of


def change_stream_health() -> dict:
    """On PostgreSQL: the relay's slot (position, unconfirmed bytes, retained WAL).
    On CockroachDB: the changefeed jobs."""
    with psycopg.connect(database_url(), autocommit=True) as conn:
        if dialect_of(conn).is_cockroach:
            return {"engine": "cockroachdb", "jobs": changefeed_jobs.changefeed_jobs(conn)}
        slot = os.environ.get("STOCKROOM_CDC_SLOT") or replication.default_slot_name(
            replication.database_name(conn))
        return {"engine": "postgresql", "slot": slot,
                "status": replication.slot_status(conn, slot)}
