"""Heartbeats written behind Heartbeat's back: beats of other machines, or of the past."""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb


def insert_beat(url: str, process: str, beat_at: str, counters: dict, *, host: str = "far-away",
                pid: int = 4242, started_at: str = "2 hours") -> None:
    """A beat written behind Heartbeat's back, dated in the past by the server's clock."""
    with psycopg.connect(url) as conn:
        conn.execute(
            """
            INSERT INTO process_beats
                (process, host, pid, started_at, beat_at, interval_seconds, counters)
            VALUES
                (%(process)s, %(host)s, %(pid)s, now() - %(started)s::INTERVAL,
                 now() - %(ago)s::INTERVAL, 5, %(counters)s)
            """,
            {"process": process, "host": host, "pid": pid, "started": started_at,
             "ago": beat_at, "counters": Jsonb(counters)},
        )
