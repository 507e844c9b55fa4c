"""Capacity test: the highest order rate this stack sustains within a latency objective.

    python manage.py capacity [--start 20] [--factor 1.5] [--step-seconds 10] [--slo-ms 250]
                              [--max-rate 5000] [--workers 8] [--scale small|tiny] [--seed N]

Runs the simulator's steady traffic (stack.simulate.run_traffic: placements and the whole mix
that scales with them) step by step, multiplying the placement rate by --factor each step, and
stops at the first step where

* the p99 latency of all commands passes --slo-ms,
* errors other than business refusals appear (a lost database, an unknown outcome, a bug), or
* the committed placements fall short of the schedule (fewer than 90 %),

or when the next rate would pass --max-rate. It prints one table row per step and then the
highest rate it sustained with its latencies.

Against DATABASE_URL when it is set (which must hold stock: `manage.py seed`); otherwise it
starts a throwaway embedded PostgreSQL in a temporary directory, migrates and seeds it
(--scale, default small), and removes it afterwards.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from stack import simulate
from stack.traffic_report import TrafficReport

SHORTFALL = 0.9              # a step is sustained when at least this share of placements commit


@dataclass
class Step:
    target: float                      # placements per second asked for
    achieved: float                    # placements committed per second
    operations: float                  # commands committed per second, all kinds
    p50: float | None                  # seconds, all commands
    p99: float | None
    errors: Counter = field(default_factory=Counter)      # every error, by type
    unexpected: Counter = field(default_factory=Counter)  # not business refusals
    verdict: str = "ok"                # "ok", or why the ramp stopped here

    @property
    def sustained(self) -> bool:
        return self.verdict == "ok"


@dataclass
class CapacityResult:
    slo_ms: float
    steps: list[Step] = field(default_factory=list)
    stop_reason: str = ""

    @property
    def sustained(self) -> Step | None:
        """The highest step that met every condition, if any."""
        passed = [step for step in self.steps if step.sustained]
        return max(passed, key=lambda step: step.target) if passed else None


def judge(report: TrafficReport, target: float, step_seconds: float, slo_ms: float) -> Step:
    """One step's figures and verdict from its traffic report."""
    placed = report.committed["order.place"]
    due = max(1, math.ceil(target * step_seconds) - 1)  # the ones due before the step ended
    step = Step(target=target, achieved=placed / step_seconds,
                operations=report.total_committed() / step_seconds,
                p50=report.percentile(None, 50), p99=report.percentile(None, 99),
                errors=Counter(report.errors), unexpected=Counter(report.unexpected))
    if step.unexpected:
        step.verdict = "errors: " + ", ".join(f"{name} {n}" for name, n in
                                              step.unexpected.most_common(3))
    elif step.p99 is None or step.p99 * 1000 > slo_ms:
        step.verdict = f"p99 above {slo_ms:g} ms"
    elif placed < SHORTFALL * due:
        step.verdict = f"only {placed / due:.0%} of the placements committed"
    return step


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


HEADER = (f"{'target/s':>9} {'achieved/s':>11} {'commands/s':>11} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'errors':>7}  verdict")


def row(step: Step) -> str:
    return (f"{step.target:>9.1f} {step.achieved:>11.1f} {step.operations:>11.1f} "
            f"{_ms(step.p50):>8} {_ms(step.p99):>8} {sum(step.errors.values()):>7}  "
            f"{step.verdict}")


def run_capacity(*, start: float = 20.0, factor: float = 1.5, step_seconds: float = 10.0,
                 slo_ms: float = 250.0, max_rate: float = 5000.0, workers: int = 8,
                 seed: int | None = None, out=None) -> CapacityResult:
    """Ramp the placement rate against DATABASE_URL until a step fails; print the table."""
    if start <= 0 or factor <= 1 or step_seconds <= 0 or slo_ms <= 0 or workers < 1:
        raise ValueError("--start, --step-seconds, --slo-ms and --workers must be above zero "
                         "and --factor above 1.")
    if max_rate < start:
        raise ValueError("--max-rate must be at least --start.")
    out = out or sys.stdout
    result = CapacityResult(slo_ms=slo_ms)
    print(f"Ramping steady traffic from {start:g} orders/s, x{factor:g} per {step_seconds:g} s "
          f"step, {workers} workers, SLO p99 {slo_ms:g} ms (all commands)", file=out)
    print(HEADER, file=out, flush=True)
    target = start
    while True:
        report = simulate.run_traffic("steady", rate=target, seconds=step_seconds,
                                      workers=workers, seed=seed, out=io.StringIO(),
                                      interval=step_seconds)
        step = judge(report, target, step_seconds, slo_ms)
        result.steps.append(step)
        print(row(step), file=out, flush=True)
        if not step.sustained:
            result.stop_reason = step.verdict
            break
        if report.outcomes["interrupted"]:
            result.stop_reason = "interrupted"
            break
        target = round(target * factor, 1)
        if target > max_rate:
            result.stop_reason = f"the next rate would pass --max-rate {max_rate:g}"
            break
    best = result.sustained
    print(f"Stopped: {result.stop_reason}.", file=out)
    if best is None:
        print(f"Not even {start:g} orders/s was sustained; try a lower --start.", file=out,
              flush=True)
    else:
        print(f"Sustained: {best.target:g} orders/s ({best.achieved:.1f} placed/s, "
              f"{best.operations:.1f} commands/s) with p50 {_ms(best.p50)} ms, "
              f"p99 {_ms(best.p99)} ms.", file=out, flush=True)
    return result


def add_arguments_capacity_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=float, default=20.0,
                        help="first step's orders placed per second (default 20)")
    parser.add_argument("--factor", type=float, default=1.5,
                        help="rate multiplier from one step to the next (default 1.5)")
    parser.add_argument("--step-seconds", type=float, default=10.0,
                        help="how long each step runs (default 10)")
    parser.add_argument("--slo-ms", type=float, default=250.0,
                        help="p99 latency objective for all commands, ms (default 250)")
    parser.add_argument("--max-rate", type=float, default=5000.0,
                        help="never ask for more orders per second than this (default 5000)")
    parser.add_argument("--workers", type=int, default=8, help="worker threads (default 8)")
    parser.add_argument("--scale", choices=("tiny", "small"), default="small",
                        help="demo data for the throwaway database when DATABASE_URL is unset "
                             "(default small)")
    parser.add_argument("--seed", type=int, default=None, help="random seed")


def _ramp(args: argparse.Namespace) -> CapacityResult:
    return run_capacity(start=args.start, factor=args.factor, step_seconds=args.step_seconds,
                        slo_ms=args.slo_ms, max_rate=args.max_rate, workers=args.workers,
                        seed=args.seed)


def _on_throwaway_database(args: argparse.Namespace) -> CapacityResult:
    """Start an embedded PostgreSQL in a temporary directory, seed it, ramp, remove it."""
    from queries import db as dbmod
    from queries.migrate import migrate
    from stack.ports import free_port
    from stack.postgres import EmbeddedPostgres
    from stack.seed import seed

    directory = Path(tempfile.mkdtemp(prefix="stockroom-capacity-"))
    server = EmbeddedPostgres(directory, free_port())
    try:
        print(f"DATABASE_URL is not set: a throwaway PostgreSQL on port {server.port} "
              f"in {directory}, {args.scale} demo data", flush=True)
        server.start()
        migrate(server.url)
        seed(server.url, scale=args.scale)
        os.environ["DATABASE_URL"] = server.url
        return _ramp(args)
    finally:
        os.environ.pop("DATABASE_URL", None)
        dbmod.close_pools()
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def capacity_command(args: argparse.Namespace) -> int:
    simulate.configure_logging()
    try:
        if os.environ.get("DATABASE_URL"):
            _ramp(args)
        else:
            _on_throwaway_database(args)
    except (ValueError, RuntimeError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0
