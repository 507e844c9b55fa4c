"""Heartbeats of the long-running processes, wherever they run, for the Operations page.

The relay, the worker and the simulator may run on several machines, so "is it running?" cannot
be answered by looking for a pid on the machine that serves the page. Instead each process
records a heartbeat every few seconds in `process_beats` (migration 0010): its name, host, pid,
when it started, and a JSONB of counters. The page reads them back from any machine.

    heartbeat = Heartbeat("relay")          # once, at start
    while running:
        ...do work...
        heartbeat.beat({"operations": published, "errors": errors, "retries": retries,
                        "lag_seconds": lag})   # often; it writes at most once per interval

Process names: "relay" (changefeed/relay.py), "worker" (changefeed/worker.py) and "simulator"
(stack/simulate.py); the change stream's Relay tile looks for "relay".

Counter names the Operations page understands (others are stored and ignored):

* ``operations`` -- cumulative units of work since the process started: messages published
  (and acknowledged) for the relay, messages applied for the worker, commands committed for the
  simulator. Its rate is the process's throughput (operations per second).
* ``errors`` -- cumulative failures since the process started (summed per minute on the page).
* ``retries`` -- cumulative retries since the process started (summed per minute on the page).
* ``lag_seconds`` -- a gauge, relay only: commit -> broker acknowledgement of its most recent
  batch, 0 when idle. Charted over the last hour.

Cumulative counters start at zero when a process starts. A restart is a new series (host, pid,
started_at), so a counter going back to zero is never read as a negative change.

The interval is `every` seconds, else STOCKROOM_HEARTBEAT_SECONDS, else 5. A process whose last
beat is older than three of its own intervals is shown as not beating. Ages use the database's
clock (beat_at is the server's now()), so machines whose clocks disagree still compare fairly.
Writers prune rows older than two hours, at most once a minute each, so no separate job exists.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from psycopg.types.json import Jsonb

from queries.db import read, run_transaction

log = logging.getLogger(__name__)

DEFAULT_SECONDS = 5.0
STALE_AFTER_BEATS = 3           # missed beats before a process counts as not beating
KEEP = timedelta(hours=2)       # history kept: the page shows one hour, with room to spare
PRUNE_EVERY_SECONDS = 60.0      # how often one writer deletes what is older than KEEP
RATE_WINDOW_SECONDS = 60.0      # throughput is measured over about the last minute of beats

RELAY, WORKER, SIMULATOR = "relay", "worker", "simulator"
PAGE_COUNTERS = ("operations", "errors", "retries", "lag_seconds")


def heartbeat_seconds() -> float:
    """The beat interval from STOCKROOM_HEARTBEAT_SECONDS (default 5 s)."""
    try:
        seconds = float(os.environ.get("STOCKROOM_HEARTBEAT_SECONDS", DEFAULT_SECONDS))
    except ValueError:
        return DEFAULT_SECONDS
    return seconds if seconds > 0 and math.isfinite(seconds) else DEFAULT_SECONDS


def _numbers(counters: Mapping[str, object]) -> dict[str, float]:
    """Only finite numbers are stored: JSONB refuses NaN, and the page sums what it reads."""
    clean = {}
    for name, value in counters.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            continue
        clean[str(name)] = value
    return clean


class Heartbeat:
    """One process instance's heartbeat. Create it once at start; call beat() as often as
    convenient. beat() never raises: a heartbeat must not take down the process it reports on
    while the database is away (the process's own outage handling reports that)."""

    def __init__(self, process: str, every: float | None = None):
        self.process = process
        self.every = float(every) if every is not None else heartbeat_seconds()
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.started_at = datetime.now(UTC)
        self._lock = threading.Lock()
        self._last_attempt: float | None = None   # monotonic; failed attempts count too
        self._last_prune: float | None = None
        self._failing = False

    def beat(self, counters: Mapping[str, float], force: bool = False) -> bool:
        """Record a beat if `every` seconds passed since the last attempt (or force). Returns
        True if a row was written. Attempts are throttled whether or not they succeeded, so a
        database that is down is asked once per interval, not once per loop iteration. While
        it is unreachable one attempt can wait up to STOCKROOM_RECONNECT_SECONDS (the retry
        window of queries.db.run_transaction)."""
        now = time.monotonic()
        if not force and self._last_attempt is not None and now - self._last_attempt < self.every:
            return False
        if not self._lock.acquire(blocking=False):
            return False  # another thread of this process is writing a beat right now
        try:
            self._last_attempt = now
            prune = self._last_prune is None or now - self._last_prune >= PRUNE_EVERY_SECONDS
            try:
                run_transaction(lambda cur: self._write(cur, dict(counters), prune),
                                max_attempts=3)
            except Exception as exc:  # noqa: BLE001 -- a heartbeat never raises, by contract
                (log.debug if self._failing else log.info)(
                    "heartbeat of %s not recorded: %s", self.process, exc)
                self._failing = True
                return False
            if self._failing:
                log.info("heartbeat of %s recorded again", self.process)
            self._failing = False
            if prune:
                self._last_prune = now
            return True
        finally:
            self._lock.release()

    def _write(self, cur, counters: dict, prune: bool) -> None:
        if prune:
            cur.execute(
                """
                DELETE FROM process_beats
                WHERE beat_at < now() - %(keep)s::INTERVAL
                """,
                {"keep": f"{int(KEEP.total_seconds())} seconds"},
            )
        cur.execute(
            """
            INSERT INTO process_beats
                (process, host, pid, started_at, beat_at, interval_seconds, counters)
            VALUES
                (%(process)s, %(host)s, %(pid)s, %(started_at)s, now(), %(every)s, %(counters)s)
            ON CONFLICT (process, host, pid, started_at, beat_at) DO NOTHING
            """,
            {"process": self.process, "host": self.host, "pid": self.pid,
             "started_at": self.started_at, "every": self.every,
             "counters": Jsonb(_numbers(counters))},
        )


# --- reads -----------------------------------------------------------------------------------

def _latest_beats(cur) -> list[dict]:
    cur.execute(
        """
        SELECT b.process, b.host, b.pid, b.started_at, s.first_beat_at, b.beat_at,
               b.interval_seconds, b.counters
        FROM (
            SELECT process, host, pid, started_at,
                   min(beat_at) AS first_beat_at, max(beat_at) AS last_beat_at
            FROM process_beats
            GROUP BY process, host, pid, started_at
        ) AS s
        JOIN process_beats AS b
          ON b.process = s.process AND b.host = s.host AND b.pid = s.pid
         AND b.started_at = s.started_at AND b.beat_at = s.last_beat_at
        ORDER BY b.process, b.host, b.pid, b.started_at
        """
    )
    return cur.fetchall()


def _beat_history(cur, since: datetime) -> list[dict]:
    cur.execute(
        """
        SELECT process, host, pid, started_at, beat_at, counters
        FROM process_beats
        WHERE beat_at >= %(since)s
        ORDER BY process, host, pid, started_at, beat_at
        """,
        {"since": since},
    )
    return cur.fetchall()


def _server_clock(cur, since_minutes: float) -> dict:
    cur.execute(
        """
        SELECT now() AS read_at,
               now() - %(window)s::INTERVAL AS since
        """,
        {"window": f"{int(since_minutes * 60)} seconds"},
    )
    return cur.fetchone()


def latest_beats() -> list[dict]:
    """The last beat of every process instance (series) still kept, with its first beat."""
    return read(_latest_beats)


def beat_history(since_minutes: float = 60) -> list[dict]:
    """Every beat of the last `since_minutes`, ordered by series and time."""
    return read(lambda cur: _beat_history(cur, _server_clock(cur, since_minutes)["since"]))


# --- what the page shows (pure functions of the rows read) ------------------------------------

Series = tuple[str, str, int, datetime]


def series_of(beat: Mapping) -> Series:
    """One process instance: a restart (new pid or start time) is a new series."""
    return (beat["process"], beat["host"], beat["pid"], beat["started_at"])


def _value(beat: Mapping, name: str) -> float | None:
    value = (beat.get("counters") or {}).get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def counter_increases(beats: Iterable[Mapping], name: str,
                      first_beat_at: Mapping[Series, datetime] | None = None,
                      ) -> list[tuple[datetime, float]]:
    """(beat_at, increase) of a cumulative counter at each beat, never negative.

    Increases are taken between consecutive beats of the same series only; a new series
    (a restart) never subtracts from the old one. A series' very first beat (as given by
    first_beat_at) counts its whole value, since its counters started at zero with the
    process; a series seen first in mid-life only sets the baseline. Should a counter go down
    within a series, it is read as restarted from zero, as Prometheus reads counter resets."""
    first_beat_at = first_beat_at or {}
    previous: dict[Series, float] = {}
    increases = []
    for beat in sorted(beats, key=lambda b: (series_of(b), b["beat_at"])):
        value = _value(beat, name)
        if value is None:
            continue
        key = series_of(beat)
        if key in previous:
            before = previous[key]
            increases.append((beat["beat_at"], value - before if value >= before else value))
        elif first_beat_at.get(key) == beat["beat_at"]:
            increases.append((beat["beat_at"], value))
        previous[key] = value
    return increases


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def per_minute(beats: list[Mapping], names: Iterable[str], since: datetime, until: datetime,
               first_beat_at: Mapping[Series, datetime] | None = None) -> list[dict]:
    """Per minute from since to until: each counter's increase summed across processes.
    Every minute has a row (zeros included), so a chart shows quiet minutes as quiet."""
    names = list(names)
    totals: dict[datetime, dict[str, float]] = defaultdict(lambda: dict.fromkeys(names, 0.0))
    for name in names:
        for beat_at, increase in counter_increases(beats, name, first_beat_at):
            if beat_at >= since:
                totals[_minute(beat_at)][name] += increase
    rows = []
    minute = _minute(since)
    while minute <= until:
        rows.append({"minute": minute, **totals.get(minute, dict.fromkeys(names, 0.0))})
        minute += timedelta(minutes=1)
    return rows


def throughput(beats: list[Mapping], name: str = "operations",
               window_seconds: float = RATE_WINDOW_SECONDS) -> float | None:
    """Per second over about the last `window_seconds` of one series' beats (at least the last
    two beats). None with fewer than two beats."""
    beats = sorted((b for b in beats if _value(b, name) is not None), key=lambda b: b["beat_at"])
    if len(beats) < 2:
        return None
    last = beats[-1]["beat_at"]
    start = next(i for i, b in enumerate(beats)
                 if (last - b["beat_at"]).total_seconds() < window_seconds)
    start = min(start, len(beats) - 2)
    window = beats[start:]
    seconds = (last - window[0]["beat_at"]).total_seconds()
    if seconds <= 0:
        return None
    return sum(increase for _, increase in counter_increases(window, name)) / seconds


def _superseded(beat: Mapping, latest: list[Mapping]) -> bool:
    """An instance replaced on its host: the same process there began beating after this one's
    last beat. Two instances running side by side on one host are both kept."""
    return any(other["process"] == beat["process"] and other["host"] == beat["host"]
               and series_of(other) != series_of(beat)
               and other["first_beat_at"] >= beat["beat_at"]
               for other in latest)


def process_rows(latest: list[Mapping], history: list[Mapping], read_at: datetime) -> list[dict]:
    """One row per process instance for the page's table; instances replaced by a restart on
    the same host are left out, instances that stopped without a successor stay (not beating)
    until their rows are pruned."""
    by_series: dict[Series, list[Mapping]] = defaultdict(list)
    for beat in history:
        by_series[series_of(beat)].append(beat)
    rows = []
    for beat in latest:
        if _superseded(beat, latest):
            continue
        age = max(0.0, (read_at - beat["beat_at"]).total_seconds())
        beating = age <= STALE_AFTER_BEATS * beat["interval_seconds"]
        rows.append({
            "process": beat["process"],
            "host": beat["host"],
            "pid": beat["pid"],
            "started": beat["started_at"],
            "last_beat_age_s": round(age, 1),
            "ops_per_s": throughput(by_series[series_of(beat)]) if beating else None,
            "errors": _value(beat, "errors"),
            "retries": _value(beat, "retries"),
            "state": "beating" if beating else "not beating",
        })
    return rows


def lag_points(history: list[Mapping]) -> list[dict]:
    """The relay's lag_seconds gauge at each beat, one line per instance."""
    return [
        {"beat_at": beat["beat_at"], "lag_seconds": _value(beat, "lag_seconds"),
         "instance": f"{beat['process']} on {beat['host']} (pid {beat['pid']})"}
        for beat in history if _value(beat, "lag_seconds") is not None
    ]


@dataclass(frozen=True)
class ProcessHealth:
    """Everything the Operations page shows about the processes, read in one transaction."""

    read_at: datetime
    since: datetime
    processes: list[dict] = field(default_factory=list)
    per_minute: list[dict] = field(default_factory=list)   # minute, errors, retries
    lag: list[dict] = field(default_factory=list)           # beat_at, lag_seconds, instance

    @property
    def ever_beaten(self) -> bool:
        return bool(self.processes)


def process_health(since_minutes: float = 60) -> ProcessHealth:
    """The processes' table, errors and retries per minute, and the change-stream lag over the
    last `since_minutes`, all measured against the database's clock."""

    def body(cur) -> tuple[dict, list[dict], list[dict]]:
        clock = _server_clock(cur, since_minutes)
        return clock, _latest_beats(cur), _beat_history(cur, clock["since"])

    clock, latest, history = read(body)
    first_beat_at = {series_of(beat): beat["first_beat_at"] for beat in latest}
    return ProcessHealth(
        read_at=clock["read_at"],
        since=clock["since"],
        processes=process_rows(latest, history, clock["read_at"]),
        per_minute=per_minute(history, ("errors", "retries"), clock["since"], clock["read_at"],
                              first_beat_at),
        lag=lag_points(history),
    )
