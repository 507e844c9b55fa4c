"""Traffic simulator: orders and stock moving the way a shop's day moves them.

    python manage.py simulate [--profile steady|holiday|flash-sale] [--rate 5] [--seconds 60]
                              [--workers 4] [--seed N] [--interval 1]

Runs against DATABASE_URL as the SYSTEM actor through the same commands the app uses (so every
change has its ledger and event rows, and every command carries an idempotency key: a retry after
an ambiguous COMMIT applies once). `--rate` is the base rate of order placements per second; the
other operations scale with it (MIX). Profiles:

* steady      the base rate throughout;
* holiday     a smooth bump from the base rate to 10x at mid-run and back down;
* flash-sale  the base rate, but 80 % of orders are for 3 hot SKUs chosen at the start.

Business refusals under concurrency (insufficient stock, a stale version, an order that moved on)
are counted by type; a lost database is waited out with capped backoff (stack.outage.Outage), and
the command is retried with the same idempotency key. One progress line per --interval.

`python -m stack.simulate` is the gentle background simulator `manage.py up` starts in embedded
mode (STOCKROOM_SIMULATE=0 turns it off; STOCKROOM_SIMULATE_RATE sets its rate, default 1/s).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
import signal
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

from queries import inventory, orders, simulation_inputs, transfers
from queries import order_states as states
from queries.actor import SYSTEM
from queries.customers import add_customer
from queries.db import is_connection_lost, retry_stats
from queries.errors import (
    AlreadyDone,
    DatabaseUnavailable,
    DomainError,
    InvalidTransition,
    NotFound,
    OutcomeUnknown,
    StaleVersion,
)
from queries.heartbeats import SIMULATOR, Heartbeat
from queries.idempotency import new_key
from queries.vocabulary import AdjustmentReason
from stack.outage import Outage
from stack.traffic_report import TrafficReport, progress_line

log = logging.getLogger("stack.simulate")

PROFILES = ("steady", "holiday", "flash-sale")
HOLIDAY_PEAK = 10.0          # holiday: the rate at mid-run, times the base rate
HOT_SKU_COUNT = 3            # flash-sale: how many SKUs are on sale
HOT_SHARE = 0.8              # flash-sale: the share of orders for them

# Operations per order placement. Progressions move an order one step (allocated → picking →
# shipped → delivered); receipts (about 25 units each, to the scarcest bins) outweigh what
# orders take (about 4 units each), so stock does not drain over a long run.
MIX = {
    "place": 1.0,
    "progress": 2.4,
    "cancel": 0.05,
    "edit": 0.15,
    "return": 0.08,
    "receipt": 0.3,
    "count": 0.1,
    "transfer": 0.1,
    "transfer-receive": 0.12,
}
DWELL_SECONDS = 0.5          # an order (or a transfer) stays at least this long in a status
BACKLOG_SECONDS = 1.0        # work behind schedule by more than this is dropped, not caught up
TRACKED_MAX = 2000           # orders followed per status
BINS_REFRESH_SECONDS = 2.0
OUTAGE_MAX_WAIT = 2.0       # seconds, the longest wait between attempts while the database is away
# An order command refused for these reasons means the order moved on without us: let it go.
LOST_TRACK = (StaleVersion, InvalidTransition, NotFound, AlreadyDone)

FIRST_NAMES = ["Ada", "Ben", "Chloé", "Dmitri", "Emma", "Farah", "Gustav", "Hana", "Ines", "Jonas",
               "Kai", "Lena", "Mateo", "Noor", "Olga", "Pål", "Quinn", "Rosa", "Sven", "Yuki"]
LAST_NAMES = ["Andersen", "Brown", "Costa", "Dubois", "Evans", "Fischer", "García", "Hoffmann",
              "Ivanova", "Jensen", "Kowalski", "López", "Müller", "Novak", "O'Neil", "Rossi"]

# What moves a tracked order one step along, by its status: (command name, command).
ADVANCE = {
    states.ALLOCATED: ("order.picking", orders.mark_picking),
    states.PICKING: ("order.shipped", orders.mark_shipped),
    states.SHIPPED: ("order.delivered", orders.mark_delivered),
}


# ---------------------------------------------------------------------------- rate schedules

def rate_at(profile: str, rate: float, seconds: float, t: float) -> float:
    """Order placements per second `t` seconds into a run of `seconds` (pure)."""
    if profile == "holiday":
        return rate * (1 + (HOLIDAY_PEAK - 1) * math.sin(math.pi * _fraction(seconds, t)) ** 2)
    return rate


def placements_by(profile: str, rate: float, seconds: float, t: float) -> float:
    """Order placements scheduled from the start to `t`: the integral of rate_at (pure)."""
    if profile == "holiday" and math.isfinite(seconds) and seconds > 0:
        t = min(max(t, 0.0), seconds)
        bump = t / 2 - seconds / (4 * math.pi) * math.sin(2 * math.pi * t / seconds)
        return rate * (t + (HOLIDAY_PEAK - 1) * bump)
    return rate * max(t, 0.0)


def _fraction(seconds: float, t: float) -> float:
    if not math.isfinite(seconds) or seconds <= 0:
        return 0.0
    return min(max(t / seconds, 0.0), 1.0)


# ---------------------------------------------------------------------------- errors

def is_connection_problem(exc: BaseException) -> bool:
    """The database could not be reached (as opposed to a command refused or a bug). The
    transaction helper already rode through what it could; what reaches here is an outage."""
    return isinstance(exc, DatabaseUnavailable | OutcomeUnknown) or is_connection_lost(exc)


def is_business_refusal(exc: BaseException) -> bool:
    """A command refused as the business would under concurrency (insufficient stock, a stale
    version, an order that moved on): the expected outcome, not a failure of the system."""
    return isinstance(exc, DomainError) and not is_connection_problem(exc)


class CommandFailed(Exception):
    """A command raised `cause`; already counted in the report."""

    def __init__(self, command: str, cause: BaseException):
        super().__init__(f"{command}: {cause}")
        self.command = command
        self.cause = cause


# ---------------------------------------------------------------------------- the traffic

@dataclass
class Tracked:
    order_id: str
    version: int
    status: str
    lines: dict[int, tuple[str, int]] = field(default_factory=dict)  # line_no -> (sku, qty)
    since: float = 0.0       # time.monotonic() when it reached its status


class Traffic:
    """The shared state of one run: what the workers draw from and the orders they follow."""

    def __init__(self, *, profile: str, rate: float, seconds: float, customers: list[dict],
                 skus: list[str], locations: list[dict], rng: random.Random,
                 report: TrafficReport | None = None, outage: Outage | None = None,
                 halt: threading.Event | None = None):
        self.profile = profile
        self.rate = rate
        self.seconds = seconds
        self.customers = customers
        self.skus = skus
        self.locations = locations
        self.hot_skus = (rng.sample(skus, k=min(HOT_SKU_COUNT, len(skus)))
                         if profile == "flash-sale" else [])
        self.report = report or TrafficReport(profile=profile, rate=rate, hot_skus=self.hot_skus)
        self.outage = outage or Outage("database", log, max_wait=OUTAGE_MAX_WAIT)
        self.halt = halt or threading.Event()
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Tracked]] = {
            status: deque(maxlen=TRACKED_MAX)
            for status in (states.ALLOCATED, states.PICKING, states.SHIPPED, states.DELIVERED)}
        self._in_transit: deque[tuple[str, float]] = deque(maxlen=TRACKED_MAX)
        self._bins: dict[str, list[dict]] = {}
        self._bins_at = -math.inf
        self._issued: Counter = Counter()
        self._started = time.monotonic()

    # -------------------------------------------------------------- scheduling

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def next_operation(self) -> str | None:
        """Wait until an operation is due and return its name; None once the run is over.

        Each operation is due `MIX[op]` times per scheduled placement; the one furthest behind
        goes first, so even a short run does every operation at its share."""
        while not self.halt.is_set():
            t = self.elapsed()
            if t >= self.seconds:
                return None
            placements = placements_by(self.profile, self.rate, self.seconds, t)
            now_rate = rate_at(self.profile, self.rate, self.seconds, t)
            with self._lock:
                best, behind = None, -math.inf
                for op, weight in MIX.items():
                    due = weight * placements
                    cap = weight * now_rate * BACKLOG_SECONDS + 1
                    if due - self._issued[op] > cap:
                        self._issued[op] = due - cap
                    if due - self._issued[op] > behind:
                        best, behind = op, due - self._issued[op]
                if behind >= 1:
                    self._issued[best] += 1
                    return best
            wait = (1 - behind) / max(MIX[best] * now_rate, 1e-6)
            self.halt.wait(min(max(wait, 0.001), 0.25))
        return None

    # -------------------------------------------------------------- calling commands

    def call(self, command: str, fn, *args, **kwargs) -> dict:
        """Run one command as SYSTEM with a fresh idempotency key, timing it. A lost database
        is waited out and the command tried again with the same key, so it applies once."""
        kwargs["idempotency_key"] = new_key()
        while True:
            self.report.attempt(command)
            began = time.perf_counter()
            try:
                result = fn(SYSTEM, *args, **kwargs)
            except Exception as exc:
                self.report.error(exc, business=is_business_refusal(exc))
                if is_connection_problem(exc) and not self.halt.is_set():
                    self.halt.wait(self.outage.failed(exc))
                    if not self.halt.is_set():
                        continue
                raise CommandFailed(command, exc) from exc
            self.report.commit(command, time.perf_counter() - began)
            self.outage.recovered()
            return result

    # -------------------------------------------------------------- what orders look like

    def pick_skus(self, rng: random.Random, k: int, exclude=()) -> list[str]:
        """k distinct SKUs for an order; in a flash sale mostly the hot ones."""
        pool = self.skus
        if self.hot_skus and rng.random() < HOT_SHARE:
            pool = self.hot_skus
        pool = [sku for sku in pool if sku not in exclude] or [
            sku for sku in self.skus if sku not in exclude]
        return rng.sample(pool, k=min(k, len(pool)))

    def _checkout(self, status: str, newest: bool) -> Tracked | None:
        with self._lock:
            queue = self._queues[status]
            if not queue:
                return None
            return queue.pop() if newest else queue.popleft()

    def _checkout_oldest_due(self) -> Tracked | None:
        """The order that has waited longest (at least DWELL_SECONDS) for its next step."""
        now = time.monotonic()
        with self._lock:
            heads = [queue for status, queue in self._queues.items()
                     if status in ADVANCE and queue and now - queue[0].since >= DWELL_SECONDS]
            if not heads:
                return None
            return min(heads, key=lambda queue: queue[0].since).popleft()

    def track(self, order: Tracked, status: str | None = None, version: int | None = None) -> None:
        if status is not None and status != order.status:
            order.status, order.since = status, time.monotonic()
        if version is not None:
            order.version = version
        if order.status in self._queues:
            with self._lock:
                self._queues[order.status].append(order)

    def _after_failure(self, order: Tracked, failed: CommandFailed) -> None:
        if isinstance(failed.cause, LOST_TRACK):
            self.report.outcome("skipped")   # someone else changed it meanwhile
        else:
            self.track(order)

    # -------------------------------------------------------------- the operations

    def place(self, rng: random.Random) -> None:
        customer = rng.choice(self.customers)
        lines = [(sku, rng.randint(1, 3)) for sku in self.pick_skus(rng, rng.randint(1, 3))]
        result = self.call("order.place", orders.place_order, customer["id"], lines)
        self.report.outcome("placed")
        self.report.outcome(result["status"])
        if result["status"] == states.ALLOCATED:
            self.track(Tracked(result["order_id"], result["version"], states.ALLOCATED,
                               dict(enumerate(lines, start=1)), time.monotonic()))

    def progress(self, rng: random.Random) -> None:
        order = self._checkout_oldest_due()
        if order is None:
            return
        command, fn = ADVANCE[order.status]
        try:
            result = self.call(command, fn, order.order_id, expected_version=order.version)
        except CommandFailed as failed:
            self._after_failure(order, failed)
            raise
        self.report.outcome(result["status"])
        self.track(order, result["status"], result["version"])

    def cancel(self, rng: random.Random) -> None:
        order = self._checkout(rng.choice((states.ALLOCATED, states.PICKING)), newest=True)
        if order is None:
            return
        try:
            result = self.call("order.cancel", orders.cancel_order, order.order_id,
                               expected_version=order.version,
                               note="cancelled by the traffic simulator")
        except CommandFailed as failed:
            self._after_failure(order, failed)
            raise
        self.report.outcome(result["status"])

    def edit(self, rng: random.Random) -> None:
        """Change a line's quantity by one, or add a line, on an allocated order."""
        order = self._checkout(states.ALLOCATED, newest=True)
        if order is None:
            return
        try:
            if rng.random() < 0.5 or len(order.lines) >= 5:
                line_no = rng.choice(sorted(order.lines))
                sku, qty = order.lines[line_no]
                new_qty = qty + 1 if qty == 1 or rng.random() < 0.5 else qty - 1
                result = self.call("order.change_line_qty", orders.change_line_qty,
                                   order.order_id, line_no=line_no, qty=new_qty,
                                   expected_version=order.version)
                order.lines[line_no] = (sku, new_qty)
            else:
                taken = {sku for sku, _ in order.lines.values()}
                sku = self.pick_skus(rng, 1, exclude=taken)
                if not sku:
                    self.track(order)
                    return
                qty = rng.randint(1, 2)
                result = self.call("order.add_line", orders.add_line, order.order_id,
                                   sku=sku[0], qty=qty, expected_version=order.version)
                order.lines[result["line_no"]] = (sku[0], qty)
        except CommandFailed as failed:
            self._after_failure(order, failed)
            raise
        self.report.outcome("edited")
        self.track(order, result["status"], result["version"])

    def send_back(self, order: Tracked, rng: random.Random) -> None:
        """A customer returns the whole order, or (half the time) one unit of its first line."""
        inputs = simulation_inputs.return_plan_inputs(order.order_id)
        if inputs is None:
            return
        partial = rng.random() < 0.5 and inputs["out"] > 1
        result = self.call(
            "order.return", orders.accept_return, order.order_id,
            location_id=inputs["location_id"], reason="returned in the traffic simulator",
            expected_version=order.version,
            quantities={inputs["line_no"]: 1} if partial else None)
        order.version, order.status = result["version"], result["status"]
        self.report.outcome("partly returned" if partial and result["still_out"] else "returned")

    def give_back(self, rng: random.Random) -> None:
        order = self._checkout(states.DELIVERED, newest=rng.random() < 0.5)
        if order is None:
            return
        try:
            self.send_back(order, rng)
        except CommandFailed as failed:
            self._after_failure(order, failed)
            raise
        if order.status == states.DELIVERED:
            self.track(order)

    def bins(self, which: str) -> list[dict]:
        """The scarcest or most plentiful bins of the SKUs on sale, read every few seconds."""
        if time.monotonic() - self._bins_at > BINS_REFRESH_SECONDS:
            sold = self.skus if not self.hot_skus else list({*self.hot_skus, *self.skus[:200]})
            fresh = {"scarce": simulation_inputs.scarce_bins(sold),
                     "plentiful": simulation_inputs.plentiful_bins(sold)}
            with self._lock:
                self._bins, self._bins_at = fresh, time.monotonic()
        return self._bins.get(which, [])

    def receipt(self, rng: random.Random) -> None:
        """Goods arrive at one of the scarcest bins (an adjustment with reason 'received')."""
        scarce = self.bins("scarce")[:10]
        if not scarce:
            return
        bin_ = rng.choice(scarce)
        self.call("stock.receipt", inventory.adjust_stock,
                  location_id=bin_["location_id"], sku=bin_["sku"], qty=rng.randint(10, 40),
                  reason=AdjustmentReason.RECEIVED, reference=f"PO-SIM-{rng.randrange(10**6):06d}",
                  note="receipt in the traffic simulator")
        self.report.outcome("received")

    def count(self, rng: random.Random) -> None:
        """A cycle count that mostly confirms the book, sometimes finds one more or one fewer."""
        candidates = self.bins("scarce") + self.bins("plentiful")
        if not candidates:
            return
        bin_ = rng.choice(candidates)
        now = simulation_inputs.bin_quantities(bin_["location_id"], bin_["sku"])
        if now is None:
            return
        counted = max(now["reserved"], now["on_hand"] + rng.choice((-1, 0, 0, 0, 1)))
        self.call("stock.count", inventory.record_count,
                  location_id=bin_["location_id"], sku=bin_["sku"], counted=counted,
                  note="cycle count in the traffic simulator")
        self.report.outcome("counted")

    def transfer(self, rng: random.Random) -> None:
        """Ship a few units from a well-stocked bin to another location, preferably nearby."""
        plentiful = [b for b in self.bins("plentiful") if b["available"] >= 10]
        if not plentiful or len(self.locations) < 2:
            return
        bin_ = rng.choice(plentiful)
        region = next((loc["region"] for loc in self.locations
                       if loc["id"] == bin_["location_id"]), None)
        others = [loc["id"] for loc in self.locations if loc["id"] != bin_["location_id"]]
        nearby = [loc["id"] for loc in self.locations
                  if loc["region"] == region and loc["id"] != bin_["location_id"]]
        result = self.call("transfer.create", transfers.create_transfer,
                           from_location_id=bin_["location_id"],
                           to_location_id=rng.choice(nearby or others), sku=bin_["sku"],
                           qty=rng.randint(1, 5), note="moved by the traffic simulator")
        self.report.outcome("transferred")
        with self._lock:
            self._in_transit.append((result["transfer_id"], time.monotonic()))

    def receive(self, rng: random.Random) -> None:
        with self._lock:
            if not self._in_transit or time.monotonic() - self._in_transit[0][1] < DWELL_SECONDS:
                return
            transfer_id, _ = self._in_transit.popleft()
        self.call("transfer.receive", transfers.receive_transfer,
                  transfer_id=transfer_id)
        self.report.outcome("transfer received")

    # -------------------------------------------------------------- workers

    OPERATIONS = {
        "place": place, "progress": progress, "cancel": cancel, "edit": edit,
        "return": give_back, "receipt": receipt, "count": count, "transfer": transfer,
        "transfer-receive": receive,
    }

    def work(self, rng: random.Random) -> None:
        """One worker thread: do what is due until the run ends; never raise."""
        while (op := self.next_operation()) is not None:
            try:
                self.OPERATIONS[op](self, rng)
            except CommandFailed:
                pass  # counted where it happened; refusals are normal business
            except Exception as exc:  # a read failed, or something unforeseen: count it, go on
                self.report.error(exc, business=is_business_refusal(exc))
                if is_connection_problem(exc):
                    self.halt.wait(self.outage.failed(exc))
                else:
                    log.debug("simulator operation %s failed", op, exc_info=True)


# ---------------------------------------------------------------------------- running

def _load(rng: random.Random) -> tuple[list[dict], list[str]]:
    skus = simulation_inputs.orderable_skus()
    customers = simulation_inputs.customers_with_regions()
    if skus and not customers:
        regions = simulation_inputs.active_regions()
        for n in range(20):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            add_customer(SYSTEM, f"{first} {last}", f"sim{n}.{first.lower()}@example.com",
                         f"{rng.randint(1, 200)} Simulation Street", regions[n % len(regions)])
        customers = simulation_inputs.customers_with_regions()
    return customers, skus


def _until_reachable(action, outage: Outage, stop: threading.Event):
    """action(), waiting out a lost database; None if stopped first."""
    while not stop.is_set():
        try:
            result = action()
        except Exception as exc:
            if not is_connection_problem(exc):
                raise
            stop.wait(outage.failed(exc))
            continue
        outage.recovered()
        return result
    return None


def _keep_beating(halt: threading.Event, heartbeat: Heartbeat, counters) -> None:
    """The simulator's heartbeat (queries.heartbeats), from its own thread: a beat may wait for
    a database that is away, and neither the workers nor the progress lines should."""
    while True:
        heartbeat.beat(counters())  # writes at most every few seconds; never raises
        if halt.wait(1.0):
            return


def run_traffic(profile: str = "steady", rate: float = 5.0, seconds: float = 60.0,
                workers: int = 4, seed: int | None = None, out=None,
                stop: threading.Event | None = None, interval: float = 1.0) -> TrafficReport:
    """Simulate `profile` traffic at base `rate` placements per second for `seconds` with
    `workers` threads, printing one progress line per `interval` to `out` (default
    sys.stdout); returns what happened.

    Ends early when `stop` is set (or on Ctrl-C). Raises ValueError for bad arguments and
    RuntimeError when there is no stock to sell."""
    if profile not in PROFILES:
        raise ValueError(f"--profile must be one of {', '.join(PROFILES)}.")
    if rate <= 0 or seconds <= 0 or workers < 1 or interval <= 0:
        raise ValueError("--rate, --seconds, --workers and --interval must be above zero.")
    stop = stop or threading.Event()
    out = out or sys.stdout
    outage = Outage("database", log, max_wait=OUTAGE_MAX_WAIT)
    rng = random.Random(seed)
    loaded = _until_reachable(
        lambda: (*_load(rng), simulation_inputs.active_locations()), outage, stop)
    if loaded is None:
        return TrafficReport(profile=profile, rate=rate)
    customers, skus, locations = loaded
    if not skus:
        raise RuntimeError("No stock to sell. Load demo data first: python manage.py seed")
    retries_before = retry_stats.retries
    traffic = Traffic(profile=profile, rate=rate, seconds=seconds, customers=customers,
                      skus=skus, locations=locations, rng=rng, outage=outage)
    threads = [threading.Thread(target=traffic.work, name=f"simulator-{n}", daemon=True,
                                args=(random.Random(None if seed is None else seed * 7919 + n),))
               for n in range(workers)]
    for thread in threads:
        thread.start()
    report = traffic.report
    beating = threading.Thread(target=_keep_beating, name="simulator-heartbeat", daemon=True,
                               args=(traffic.halt, Heartbeat(SIMULATOR), lambda: {
                                   "operations": report.total_committed(),
                                   "attempted": report.total_attempted(),
                                   "retries": retry_stats.retries - retries_before,
                                   "errors": report.total_errors()}))
    beating.start()
    retries_seen = retries_before
    last_tick = 0.0
    try:
        while not traffic.halt.is_set():
            elapsed = traffic.elapsed()
            if elapsed >= seconds:
                break
            if stop.wait(min(last_tick + interval, seconds) - elapsed):
                break
            elapsed = traffic.elapsed()
            if elapsed - last_tick >= interval or elapsed >= seconds:
                retries_now = retry_stats.retries
                print(progress_line(elapsed, rate_at(profile, rate, seconds, elapsed),
                                    report.take_interval(), elapsed - last_tick,
                                    retries_now - retries_seen), file=out, flush=True)
                retries_seen, last_tick = retries_now, elapsed
    except KeyboardInterrupt:
        report.outcome("interrupted")
    finally:
        traffic.halt.set()
        for thread in threads:
            thread.join()
        beating.join(timeout=1.0)  # a beat waiting for a lost database is not waited for
    report.seconds = traffic.elapsed()
    report.retries = retry_stats.retries - retries_before
    report.unavailable_seconds = outage.unavailable_seconds()
    return report


def run(rate: float, seconds: float, seed: int | None = None, out=None) -> Counter:
    """Steady traffic for `seconds` at about `rate` placements per second; returns the counts
    (placed, allocated, pending, picking, shipped, delivered, returned, cancelled, errors, …)."""
    out = out or sys.stdout
    report = run_traffic("steady", rate, seconds, seed=seed, out=out)
    for line in report.summary_lines():
        print(line, file=out, flush=True)
    counts = Counter(report.outcomes)
    counts["errors"] = report.total_errors()
    return counts


def add_arguments_simulate_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", choices=PROFILES, default="steady",
                        help="steady, holiday (up to 10x at mid-run) or flash-sale (80 %% of "
                             "orders on 3 SKUs); default steady")
    parser.add_argument("--rate", type=float, default=5.0,
                        help="base rate of orders placed per second (default 5)")
    parser.add_argument("--seconds", type=float, default=60.0, help="stop after this long (default 60)")
    parser.add_argument("--workers", type=int, default=4, help="worker threads (default 4)")
    parser.add_argument("--seed", type=int, default=None, help="random seed, for a repeatable run")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between progress lines (default 1)")


def configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(name)s %(levelname)s %(message)s")


def simulate_command(args: argparse.Namespace) -> int:
    configure_logging()
    try:
        report = run_traffic(getattr(args, "profile", "steady"), args.rate, args.seconds,
                             workers=getattr(args, "workers", 4), seed=getattr(args, "seed", None),
                             interval=getattr(args, "interval", 1.0))
    except (ValueError, RuntimeError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if report.outcomes["interrupted"]:
        print("stopped.")
    for line in report.summary_lines():
        print(line)
    return 0


# ---------------------------------------------------------------------------- background

def main() -> int:
    """The background simulator of `manage.py up`: gentle steady traffic until SIGTERM."""
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if not os.environ.get("DATABASE_URL"):
        log.error("DATABASE_URL must be set.")
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    rate = float(os.environ.get("STOCKROOM_SIMULATE_RATE", "1"))
    outage = Outage("database", log, max_wait=OUTAGE_MAX_WAIT)
    waiting = False
    while not stop.is_set():
        ready = _until_reachable(lambda: bool(simulation_inputs.orderable_skus(limit=1)
                                              and simulation_inputs.customers_with_regions(limit=1)),
                                 outage, stop)
        if not ready:
            if ready is not None and not waiting:
                log.info("no stock or customers yet; waiting for the seed (python manage.py seed)")
                waiting = True
            stop.wait(2.0)
            continue
        waiting = False
        log.info("steady traffic at %g orders/s (STOCKROOM_SIMULATE=0 turns this off)", rate)
        try:
            report = run_traffic("steady", rate, math.inf, workers=2, stop=stop, interval=60.0)
        except Exception:
            log.exception("the simulation stopped; starting again in 5 s")
            stop.wait(5.0)
            continue
        for line in report.summary_lines():
            log.info("%s", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
