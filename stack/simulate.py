"""Traffic simulator: places orders and moves some along, for live change-stream traffic.

    python manage.py simulate [--rate 5] [--seconds 60] [--seed N]

Runs against DATABASE_URL as the SYSTEM actor through the same commands the app uses (so every
change has its ledger and event rows), prints a running count, and stops after --seconds.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

from queries import order_states as states
from queries import orders, simulation_inputs
from queries.actor import SYSTEM
from queries.customers import add_customer
from queries.errors import DomainError

# What happens to a tracked order on each step, by its status: (command, chance per step).
ADVANCE = {
    states.ALLOCATED: (orders.mark_picking, 0.5),
    states.PICKING: (orders.mark_shipped, 0.5),
    states.SHIPPED: (orders.mark_delivered, 0.4),
}
CANCEL_CHANCE = 0.03
RETURN_CHANCE = 0.05        # per step while a delivered order is still followed
DELIVERED_STEPS = 5         # how long a delivered order is followed for a return
FIRST_NAMES = ["Ada", "Ben", "Chloé", "Dmitri", "Emma", "Farah", "Gustav", "Hana", "Ines", "Jonas",
               "Kai", "Lena", "Mateo", "Noor", "Olga", "Pål", "Quinn", "Rosa", "Sven", "Yuki"]
LAST_NAMES = ["Andersen", "Brown", "Costa", "Dubois", "Evans", "Fischer", "García", "Hoffmann",
              "Ivanova", "Jensen", "Kowalski", "López", "Müller", "Novak", "O'Neil", "Rossi"]


def add_arguments_simulate_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=float, default=5.0, help="orders placed per second (default 5)")
    parser.add_argument("--seconds", type=float, default=60.0, help="stop after this long (default 60)")
    parser.add_argument("--seed", type=int, default=None, help="random seed, for a repeatable run")


@dataclass
class Tracked:
    order_id: str
    version: int
    status: str
    delivered_steps: int = 0


@dataclass
class Simulation:
    rng: random.Random
    customers: list[dict]
    skus: list[str]
    open_orders: list[Tracked] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    def place(self) -> None:
        customer = self.rng.choice(self.customers)
        lines = [(sku, self.rng.randint(1, 3))
                 for sku in self.rng.sample(self.skus, k=min(len(self.skus), self.rng.randint(1, 3)))]
        result = orders.place_order(SYSTEM, customer["id"], lines)
        self.counts["placed"] += 1
        self.counts[result["status"]] += 1
        if result["status"] == states.ALLOCATED:
            self.open_orders.append(Tracked(result["order_id"], result["version"], result["status"]))

    def advance(self) -> None:
        """Move some tracked orders one step along (or cancel a few)."""
        still_open = []
        for order in self.open_orders:
            try:
                if order.status in (states.ALLOCATED, states.PICKING) and self.rng.random() < CANCEL_CHANCE:
                    orders.cancel_order(SYSTEM, order.order_id, expected_version=order.version,
                                        note="cancelled by the traffic simulator")
                    self.counts["cancelled"] += 1
                    continue
                if order.status == states.DELIVERED:
                    order.delivered_steps += 1
                    if self.rng.random() < RETURN_CHANCE:
                        self.send_back(order)
                else:
                    command, chance = ADVANCE[order.status]
                    if self.rng.random() < chance:
                        result = command(SYSTEM, order.order_id, expected_version=order.version)
                        order.version, order.status = result["version"], result["status"]
                        self.counts[order.status] += 1
            except DomainError:
                # Someone (support, another simulator) changed it meanwhile: stop following it.
                self.counts["skipped"] += 1
                continue
            if order.status != states.RETURNED and order.delivered_steps <= DELIVERED_STEPS:
                still_open.append(order)
        self.open_orders = still_open[-2000:]


    def send_back(self, order: Tracked) -> None:
        """A customer returns the whole order, or (half the time) one unit of its first line."""
        inputs = simulation_inputs.return_plan_inputs(order.order_id)
        if inputs is None:
            return
        partial = self.rng.random() < 0.5 and inputs["out"] > 1
        result = orders.accept_return(
            SYSTEM, order.order_id, location_id=inputs["location_id"],
            reason="returned in the traffic simulator", expected_version=order.version,
            quantities={inputs["line_no"]: 1} if partial else None)
        order.version, order.status = result["version"], result["status"]
        self.counts["partly returned" if partial and result["still_out"] else "returned"] += 1


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


def _status_line(counts: Counter, elapsed: float) -> str:
    return (f"{elapsed:5.1f}s  placed {counts['placed']:,} (allocated {counts['allocated']:,}, "
            f"back-ordered {counts['pending']:,}) · picking {counts['picking']:,} · "
            f"shipped {counts['shipped']:,} · delivered {counts['delivered']:,} · "
            f"returned {counts['returned']:,} (partly {counts['partly returned']:,}) · "
            f"cancelled {counts['cancelled']:,} · errors {counts['errors']:,}")


def run(rate: float, seconds: float, seed: int | None = None, out=sys.stdout) -> Counter:
    """Simulate for `seconds` at about `rate` placements per second; returns the counts."""
    if rate <= 0 or seconds <= 0:
        raise ValueError("--rate and --seconds must be above zero.")
    rng = random.Random(seed)
    customers, skus = _load(rng)
    if not skus:
        raise RuntimeError("No stock to sell. Load demo data first: python manage.py seed")
    sim = Simulation(rng, customers, skus)
    start = time.monotonic()
    next_print = 0.0
    placed_target = 0.0
    while (elapsed := time.monotonic() - start) < seconds:
        placed_target = rate * elapsed
        while sim.counts["placed"] + sim.counts["errors"] < placed_target:
            try:
                sim.place()
            except DomainError:
                sim.counts["errors"] += 1
        sim.advance()
        if elapsed >= next_print:
            print("\r" + _status_line(sim.counts, elapsed), end="", file=out, flush=True)
            next_print = elapsed + 1.0
        time.sleep(min(0.2, max(0.0, 1.0 / rate)))
    print("\r" + _status_line(sim.counts, time.monotonic() - start), file=out, flush=True)
    return sim.counts


def simulate_command(args: argparse.Namespace) -> int:
    try:
        run(args.rate, args.seconds, getattr(args, "seed", None))
    except (ValueError, RuntimeError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopped.")
    return 0
