"""Heartbeats: written and throttled, harmless while the database is down, pruned, and read back
as counter increases that survive a restart without going negative."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import psycopg

from queries import db as dbmod
from queries.heartbeats import (
    Heartbeat,
    counter_increases,
    latest_beats,
    per_minute,
    process_health,
    throughput,
)
from stack.ports import free_port
from tests import factories
from tests.heartbeat_helpers import insert_beat


def test_a_beat_is_written_then_throttled_unless_forced(db):
    heartbeat = Heartbeat("worker", every=3600)
    assert heartbeat.beat({"operations": 1, "errors": 0})
    assert not heartbeat.beat({"operations": 2, "errors": 0})   # within the interval
    assert factories.count_rows("process_beats") == 1
    assert heartbeat.beat({"operations": 3, "errors": 1}, force=True)
    assert factories.count_rows("process_beats") == 2

    [latest] = latest_beats()
    assert (latest["process"], latest["host"], latest["pid"]) == (
        "worker", socket.gethostname(), heartbeat.pid)
    assert latest["counters"] == {"operations": 3, "errors": 1}
    assert latest["interval_seconds"] == 3600


def test_only_numbers_are_stored_and_a_bad_counter_does_not_raise(db):
    heartbeat = Heartbeat("simulator")
    assert heartbeat.beat({"operations": 5, "note": "hello", "lag_seconds": float("nan"),
                           "flag": True, "retries": 0.5})
    assert latest_beats()[0]["counters"] == {"operations": 5, "retries": 0.5}


def test_the_interval_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("STOCKROOM_HEARTBEAT_SECONDS", "2.5")
    assert Heartbeat("relay").every == 2.5
    assert Heartbeat("relay", every=7).every == 7
    monkeypatch.setenv("STOCKROOM_HEARTBEAT_SECONDS", "soon")
    assert Heartbeat("relay").every == 5.0


def test_a_beat_returns_false_and_does_not_raise_when_the_database_is_down(monkeypatch):
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere?connect_timeout=1"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("STOCKROOM_RECONNECT_SECONDS", "0.5")
    heartbeat = Heartbeat("relay", every=0.01)
    try:
        assert heartbeat.beat({"operations": 1}) is False
        assert heartbeat.beat({"operations": 1}, force=True) is False
    finally:
        dbmod.close_pools()
    monkeypatch.delenv("DATABASE_URL")
    assert heartbeat.beat({"operations": 1}, force=True) is False   # not configured at all


def test_a_writer_prunes_beats_older_than_two_hours(db):
    insert_beat(db, "relay", "3 hours", {"operations": 1}, started_at="4 hours")
    insert_beat(db, "relay", "90 minutes", {"operations": 2}, started_at="4 hours")
    assert Heartbeat("worker").beat({"operations": 0})
    with psycopg.connect(db) as conn:
        kept = conn.execute("SELECT process, counters FROM process_beats ORDER BY beat_at").fetchall()
    assert kept == [("relay", {"operations": 2}), ("worker", {"operations": 0})]


def beat(process: str, pid: int, minute: int, second: int, counters: dict,
         started_minute: int = 0) -> dict:
    moment = datetime(2026, 11, 25, 10, minute, second, tzinfo=UTC)
    return {"process": process, "host": "h", "pid": pid,
            "started_at": datetime(2026, 11, 25, 10, started_minute, tzinfo=UTC),
            "beat_at": moment, "counters": counters}


def test_counter_increases_never_go_negative_across_a_restart():
    old = [beat("worker", 1, 0, 5, {"errors": 4}), beat("worker", 1, 0, 10, {"errors": 6}),
           beat("worker", 1, 0, 15, {"errors": 9})]
    # The worker restarts (new pid): its counters begin again at zero.
    new = [beat("worker", 2, 0, 30, {"errors": 1}, started_minute=0),
           beat("worker", 2, 0, 35, {"errors": 1}), beat("worker", 2, 0, 40, {"errors": 3})]
    first = {("worker", "h", 2, new[0]["started_at"]): new[0]["beat_at"]}
    increases = counter_increases(old + new, "errors", first)
    assert [n for _, n in increases] == [2, 3, 1, 0, 2]
    assert all(n >= 0 for _, n in increases)
    # Without knowing the new series' first beat, it only sets a baseline.
    assert [n for _, n in counter_increases(new + old, "errors")] == [2, 3, 0, 2]
    # A counter that goes down within a series counts as restarted from zero, never negative.
    odd = [beat("relay", 7, 1, 0, {"retries": 10}), beat("relay", 7, 1, 5, {"retries": 4})]
    assert [n for _, n in counter_increases(odd, "retries")] == [4]


def test_per_minute_sums_processes_and_fills_quiet_minutes():
    beats = [beat("relay", 1, 0, 10, {"errors": 0, "retries": 5}),
             beat("relay", 1, 0, 50, {"errors": 1, "retries": 7}),
             beat("worker", 2, 0, 20, {"errors": 2}), beat("worker", 2, 0, 40, {"errors": 5}),
             beat("worker", 2, 2, 0, {"errors": 6})]
    since = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    rows = per_minute(beats, ("errors", "retries"), since, since + timedelta(minutes=3))
    assert [(r["minute"].minute, r["errors"], r["retries"]) for r in rows] == [
        (0, 4.0, 2.0), (1, 0.0, 0.0), (2, 1.0, 0.0), (3, 0.0, 0.0)]


def test_throughput_is_measured_over_the_last_minute_of_beats():
    beats = [beat("relay", 1, 0, s, {"operations": 10 * s}) for s in range(0, 60, 5)]
    beats += [beat("relay", 1, 1, s, {"operations": 600 + 20 * s}) for s in range(0, 60, 5)]
    assert throughput(beats) == 20.0        # the last minute only, not the slower first one
    assert throughput(beats[:1]) is None
    assert throughput(beats[:2]) == 10.0


def test_process_health_reads_what_heartbeats_wrote(db):
    relay = Heartbeat("relay", every=3600)
    assert relay.beat({"operations": 10, "errors": 0, "retries": 1, "lag_seconds": 0.2})
    assert relay.beat({"operations": 30, "errors": 1, "retries": 3, "lag_seconds": 0.05},
                      force=True)
    health = process_health()
    [row] = health.processes
    assert (row["process"], row["state"], row["errors"], row["retries"]) == (
        "relay", "beating", 1.0, 3.0)
    assert row["ops_per_s"] is not None and row["ops_per_s"] > 0
    assert sum(r["errors"] for r in health.per_minute) == 1.0
    assert sum(r["retries"] for r in health.per_minute) == 3.0   # the first beat counts from 0
    assert [p["lag_seconds"] for p in health.lag] == [0.2, 0.05]


def test_a_restarted_process_replaces_its_old_row_but_a_vanished_one_stays(db):
    insert_beat(db, "worker", "10 minutes", {"operations": 5}, host=socket.gethostname(), pid=1)
    insert_beat(db, "simulator", "10 minutes", {"operations": 5}, host="elsewhere", pid=2)
    Heartbeat("worker").beat({"operations": 0})
    rows = process_health().processes
    assert [(r["process"], r["host"], r["state"]) for r in rows] == [
        ("simulator", "elsewhere", "not beating"), ("worker", socket.gethostname(), "beating")]
