"""The soak: a short run in which every fault kind happens at least once, and nothing is lost.

It starts its own throwaway stack (PostgreSQL, Tansu, relay and worker as subprocesses), so it
needs no fixture; it takes about a minute.
"""

from __future__ import annotations

import io
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest

from stack.soak import FAULTS, SoakOptions, default_fault_every, parse_report, run_soak


def test_the_default_fault_interval_gives_every_kind_twice_and_at_least_one_a_minute():
    every = default_fault_every(600)
    assert len(FAULTS) == 5
    assert int(600 // every) >= 2 * len(FAULTS)
    assert default_fault_every(3600) == 60.0


@dataclass
class _Report:
    seconds: float = 0.0
    attempted: Counter = field(default_factory=Counter)
    committed: Counter = field(default_factory=Counter)
    retries: int = 0
    errors: Counter = field(default_factory=Counter)
    latencies: dict = field(default_factory=dict)
    unavailable_seconds: float = 0.0

    def total_attempted(self) -> int:
        return sum(self.attempted.values())

    def total_committed(self) -> int:
        return sum(self.committed.values())

    def summary_lines(self) -> list[str]:
        return [f"{self.total_committed()} steps committed"]


def stand_in_traffic(profile, rate, seconds, workers, seed, out, stop, interval):
    """Orders placed and moved along by the simulator's own steps (run_traffic's signature)."""
    from stack.simulate import Simulation, _load

    rng = random.Random(seed)
    report = _Report()
    started = time.monotonic()
    simulation = None
    while not stop.is_set() and time.monotonic() - started < seconds:
        report.attempted["step"] += 1
        try:
            if simulation is None:
                simulation = Simulation(rng, *_load(rng))
            simulation.place()
            simulation.advance()
            report.committed["step"] += 1
        except Exception as exc:  # noqa: BLE001 - counted, as run_traffic counts them
            report.errors[type(exc).__name__] += 1
            stop.wait(0.2)
        stop.wait(1.0 / rate)
    report.seconds = time.monotonic() - started
    return report


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_short_soak_injects_every_fault_and_loses_nothing():
    out = io.StringIO()
    result = run_soak(SoakOptions(seconds=40, rate=5, workers=2, seed=7, scale="tiny",
                                  fault_every=6, status_every=10), out=out,
                      traffic=stand_in_traffic)
    text = out.getvalue()
    table = parse_report(text)
    assert result.ok, text
    for kind in FAULTS:
        assert int(table[f"fault {kind}"]) >= 1, text
    assert table["invariant violations"] == "0", text
    assert table["changes lost"] == "0", text
    assert int(table["operations committed"]) > 0, text
    assert "RESULT: PASS" in text
    assert not result.directory.exists()  # removed without --keep
