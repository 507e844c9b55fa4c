"""How a long-running process rides through an outage of the database or the broker.

Every background loop (relay, worker, Live tail, simulator) catches what it cannot do right now,
waits with capped exponential backoff, and tries again, forever. An operator reading its log
wants one line when a dependency goes away and one when it is back, not a line per attempt:

    broker unavailable (NoBrokersAvailable); retrying with backoff up to 5 s
    broker back after 12.4 s (9 failed attempts)

    outage = Outage("broker", log)
    while not stop.is_set():
        try:
            work()
            outage.recovered()
        except KafkaError as exc:
            stop.wait(outage.failed(exc))
"""

from __future__ import annotations

import logging
import random
import threading
import time


class Outage:
    """One dependency's outages as one process sees them: start, end, backoff, totals."""

    def __init__(self, what: str, log: logging.Logger, *, first_wait: float = 0.2,
                 max_wait: float = 5.0, clock=time.monotonic):
        self.what = what
        self.log = log
        self.first_wait = first_wait
        self.max_wait = max_wait
        self._clock = clock
        self._lock = threading.Lock()
        self._since: float | None = None
        self._attempts = 0
        self.outages = 0            # how many times it went away
        self.failures = 0           # failed attempts, all outages together
        self.seconds = 0.0          # time spent unavailable, outages that ended

    @property
    def down(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException | str, since: float | None = None) -> float:
        """Count a failed attempt; log the first of an outage. Returns how long to wait.

        `since` (on this object's clock) dates the outage's start earlier than now, for an
        attempt that waited before it failed."""
        with self._lock:
            self.failures += 1
            self._attempts += 1
            if self._since is None:
                self._since = self._clock() if since is None else since
                self.outages += 1
                reason = exc if isinstance(exc, str) else describe(exc)
                self.log.warning("%s unavailable (%s); retrying with backoff up to %g s",
                                 self.what, reason, self.max_wait)
            ceiling = min(self.max_wait, self.first_wait * 2 ** min(self._attempts - 1, 20))
        # Jitter in the upper half: processes restarted together do not retry in lockstep.
        return random.uniform(ceiling / 2, ceiling)

    def recovered(self) -> float | None:
        """Call after a success; logs the end of an outage. Returns its length, if one ended."""
        if self._since is None:  # the common case, without the lock
            return None
        with self._lock:
            if self._since is None:
                return None
            lasted = self._clock() - self._since
            self.seconds += lasted
            self.log.warning("%s back after %.1f s (%d failed attempts)", self.what, lasted,
                             self._attempts)
            self._since = None
            self._attempts = 0
            return lasted

    def unavailable_seconds(self) -> float:
        """Total time unavailable, including an outage still going on."""
        with self._lock:
            ongoing = self._clock() - self._since if self._since is not None else 0.0
            return self.seconds + ongoing


def describe(exc: BaseException) -> str:
    """A short reason for a log line: the exception's type and its first line."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
