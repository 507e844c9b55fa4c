"""What a simulated traffic run did: commands attempted and committed, errors, latencies.

One TrafficReport is shared by the simulator's worker threads (every update takes its lock). It
keeps the whole run's figures and, separately, the current interval's, which the progress
loop turns into one line per interval and resets.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field

# Short names for the progress line, in the order they are shown.
SHORT_NAMES = {
    "order.place": "place", "order.picking": "pick", "order.shipped": "ship",
    "order.delivered": "deliver", "order.cancel": "cancel", "order.change_line_qty": "qty",
    "order.add_line": "add", "order.return": "return", "stock.receipt": "receipt",
    "stock.count": "count", "transfer.create": "xfer", "transfer.receive": "recv",
}
# Kept per command for the run's percentiles; beyond it a uniform sample of the calls is kept.
MAX_SAMPLES = 20_000


def percentile_of(values: list[float], pct: float) -> float | None:
    """The nearest-rank percentile (pct in 0..100) of values, or None for none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil(n * pct / 100), at least 1
    return ordered[min(len(ordered), int(rank)) - 1]


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    ms = seconds * 1000
    return f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


@dataclass
class Interval:
    """One progress interval's figures."""

    attempted: Counter = field(default_factory=Counter)
    committed: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class TrafficReport:
    profile: str = "steady"
    rate: float = 0.0                   # the base rate of order placements per second
    seconds: float = 0.0                # how long the run lasted
    attempted: Counter = field(default_factory=Counter)   # per command, every attempt
    committed: Counter = field(default_factory=Counter)   # per command
    retries: int = 0                    # queries.db.retry_stats.retries during the run
    errors: Counter = field(default_factory=Counter)      # by exception type name
    # The errors that are not business refusals (a lost database, an unknown outcome, a bug).
    unexpected: Counter = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)  # s, committed calls
    unavailable_seconds: float = 0.0    # the database was out of reach (the simulator's view)
    outcomes: Counter = field(default_factory=Counter)    # placed, allocated, shipped, ...
    hot_skus: list[str] = field(default_factory=list)     # flash-sale: the SKUs on sale
    _interval: Interval = field(default_factory=Interval, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    # ------------------------------------------------------------------ recording (threads)

    def attempt(self, command: str) -> None:
        with self._lock:
            self.attempted[command] += 1
            self._interval.attempted[command] += 1

    def commit(self, command: str, seconds: float) -> None:
        with self._lock:
            self.committed[command] += 1
            self._interval.committed[command] += 1
            self._interval.latencies.setdefault(command, []).append(seconds)
            samples = self.latencies.setdefault(command, [])
            if len(samples) < MAX_SAMPLES:
                samples.append(seconds)
            else:  # reservoir sampling: every call equally likely to be kept
                slot = random.randrange(self.committed[command])
                if slot < MAX_SAMPLES:
                    samples[slot] = seconds

    def error(self, exc: BaseException, business: bool = False) -> None:
        """Count a failed call; `business`: a refusal under concurrency, e.g. too little stock."""
        name = type(exc).__name__
        with self._lock:
            self.errors[name] += 1
            self._interval.errors[name] += 1
            if not business:
                self.unexpected[name] += 1

    def outcome(self, what: str, n: int = 1) -> None:
        with self._lock:
            self.outcomes[what] += n

    def take_interval(self) -> Interval:
        """The figures since the previous call, and start a new interval."""
        with self._lock:
            interval, self._interval = self._interval, Interval()
            return interval

    # ------------------------------------------------------------------ reading

    def total_attempted(self) -> int:
        return sum(self.attempted.values())

    def total_committed(self) -> int:
        return sum(self.committed.values())

    def total_errors(self) -> int:
        return sum(self.errors.values())

    def percentile(self, command: str | None, pct: float) -> float | None:
        """Latency percentile in seconds of one command's committed calls (None: all commands);
        None when there were none."""
        with self._lock:
            if command is None:
                values = [v for samples in self.latencies.values() for v in samples]
            else:
                values = list(self.latencies.get(command, ()))
        return percentile_of(values, pct)

    def committed_per_second(self, command: str | None = None) -> float:
        if self.seconds <= 0:
            return 0.0
        done = self.total_committed() if command is None else self.committed[command]
        return done / self.seconds

    def outcome_line(self) -> str:
        c = self.outcomes
        return (f"placed {c['placed']:,} (allocated {c['allocated']:,}, "
                f"back-ordered {c['pending']:,}) · picking {c['picking']:,} · "
                f"shipped {c['shipped']:,} · delivered {c['delivered']:,} · "
                f"returned {c['returned']:,} (partly {c['partly returned']:,}) · "
                f"cancelled {c['cancelled']:,} · edited {c['edited']:,} · "
                f"received {c['received']:,} · counted {c['counted']:,} · "
                f"transfers {c['transferred']:,}/{c['transfer received']:,}")

    def summary_lines(self) -> list[str]:
        """The run's totals, a few lines for a person."""
        lines = [
            f"{self.profile} traffic at base rate {self.rate:g}/s for {self.seconds:.1f} s: "
            f"{self.total_attempted():,} attempted, {self.total_committed():,} committed "
            f"({self.committed_per_second():.1f}/s), {self.retries:,} retries, "
            f"{self.total_errors():,} errors",
            self.outcome_line(),
        ]
        if self.hot_skus:
            lines.append("flash sale on " + ", ".join(self.hot_skus))
        if self.errors:
            lines.append("errors: " + ", ".join(f"{name} {n:,}"
                                                for name, n in self.errors.most_common()))
        if self.unexpected:
            lines.append("of which not business refusals: " + ", ".join(
                f"{name} {n:,}" for name, n in self.unexpected.most_common()))
        if self.unavailable_seconds:
            lines.append(f"database unavailable for {self.unavailable_seconds:.1f} s")
        header = f"{'command':<24}{'attempted':>10}{'committed':>10}{'p50 ms':>9}{'p99 ms':>9}"
        lines.append(header)
        for command in sorted(self.attempted, key=_command_order):
            lines.append(f"{command:<24}{self.attempted[command]:>10,}{self.committed[command]:>10,}"
                         f"{_ms(self.percentile(command, 50)):>9}"
                         f"{_ms(self.percentile(command, 99)):>9}")
        lines.append(f"{'all':<24}{self.total_attempted():>10,}{self.total_committed():>10,}"
                     f"{_ms(self.percentile(None, 50)):>9}{_ms(self.percentile(None, 99)):>9}")
        return lines


def _command_order(command: str) -> tuple[int, str]:
    names = list(SHORT_NAMES)
    return (names.index(command) if command in names else len(names), command)


def progress_line(elapsed: float, target_rate: float, interval: Interval, seconds: float,
                  retries: int) -> str:
    """One compact line for one interval: rates, retries, errors, p50/p99 per command."""
    seconds = max(seconds, 1e-9)
    attempted = sum(interval.attempted.values()) / seconds
    committed = sum(interval.committed.values()) / seconds
    parts = [f"{elapsed:6.1f}s", f"target {target_rate:.1f} orders/s",
             f"tried {attempted:.1f}/s", f"ok {committed:.1f}/s", f"retries {retries}"]
    if interval.errors:
        parts.append("errors " + " ".join(f"{name}×{n}" for name, n in interval.errors.most_common()))
    timings = [f"{SHORT_NAMES.get(command, command)} "
               f"{_ms(percentile_of(values, 50))}/{_ms(percentile_of(values, 99))}"
               for command, values in sorted(interval.latencies.items(),
                                             key=lambda item: _command_order(item[0]))]
    if timings:
        parts.append("p50/p99 ms " + " ".join(timings))
    return " · ".join(parts)
