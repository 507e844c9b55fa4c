"""`manage.py seed`: deterministic demo data, loaded with COPY.

The same --seed (and the same moment `now`) gives the same rows. Rows are generated in
streaming batches as COPY text and loaded by a background thread on a connection of its
own, so Python builds the next batch while the server loads the previous one.

How the data stays consistent (DESIGN.md §2): orders are generated first, walking each one
through its life (pending -> allocated -> picking -> shipped -> delivered, with cancellations,
holds and returns) up to `now`; every step that touches stock becomes a ledger row (reserve,
ship, release, return) and is added to per-(location, sku) totals. Transfers add their own
ledger rows. Only then are the stock rows written: on_hand is a target level (never below
what is reserved plus what came in later), and one initial receipt per stock row, dated
before the window, makes the ledger sum exactly to the stock row. Ledger rows are spooled
to a temporary file until the stock rows they reference exist.
"""

from __future__ import annotations

import argparse
import math
import os
import queue
import random
import sys
import tempfile
import threading
import time
import unicodedata
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate

import psycopg

from queries import bulk_load
from queries.dialect import dialect_of
from queries.users import upsert_user_in_tx
from stack import seasonality
from stack import seed_catalog as cat

MINUTE, HOUR, DAY = 60, 3600, 86400
NULL = "\\N"
ACTOR = "system"

ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Scale:
    name: str
    locations: int
    skus: int
    orders: int
    customers: int
    transfers_in_transit: int
    transfers_received: int
    days: int = 90
    batch_orders: int = 10_000


SCALES = {
    "tiny": Scale("tiny", 9, 50, 500, 120, 4, 8),
    "small": Scale("small", 30, 1_000, 20_000, 4_000, 40, 200),
    "large": Scale("large", 200, 10_000, 1_000_000, 150_000, 2_000, 10_000, batch_orders=25_000),
}

PHASES = ("locations", "products", "customers", "orders", "transfers", "stock", "stock_movements")
# Tables each phase writes (the orders phase writes three tables in step).
PHASE_TABLES = {
    "locations": ("locations",), "products": ("products",), "customers": ("customers",),
    "orders": ("orders", "order_lines", "order_events"), "transfers": ("transfers",),
    "stock": ("stock",), "stock_movements": ("stock_movements",),
}

# username, password, role, regions, display name. The README lists these.
DEMO_ACCOUNTS = (
    ("admin", "admin-demo", "admin", [], "Ada Admin"),
    ("hq", "hq-demo", "hq_viewer", [], "Hannah HQ"),
    ("manager", "manager-demo", "inventory_manager", ["EU"], "Eva Manager"),
    ("support", "support-demo", "support", ["EU"], "Sam Support"),
)

OPEN_STATUSES = ("allocated", "picking", "on_hold")


class DatabaseNotEmpty(RuntimeError):
    """The database already holds demo or real data and --reset was not given."""


# ---------------------------------------------------------------------------------------------
# Small fast formatters
# ---------------------------------------------------------------------------------------------

_UUID_CLEAR = ((1 << 128) - 1) ^ ((0xF << 76) | (0xC << 60))
_UUID_SET = (0x4 << 76) | (0x8 << 60)


def _uuid_maker(rng: random.Random) -> Callable[[], str]:
    """Deterministic version-4 UUID strings drawn from the seeded generator."""
    bits = rng.getrandbits

    def make() -> str:
        h = "%032x" % ((bits(128) & _UUID_CLEAR) | _UUID_SET)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    return make


class _Timestamps:
    """Epoch seconds -> 'YYYY-MM-DD HH:MM:SS+00', caching the hour prefix."""

    def __init__(self) -> None:
        self._hours: dict[int, str] = {}

    def __call__(self, t: int) -> str:
        h, rest = divmod(t, HOUR)
        prefix = self._hours.get(h)
        if prefix is None:
            prefix = self._hours[h] = time.strftime("%Y-%m-%d %H", time.gmtime(h * HOUR))
        m, s = divmod(rest, 60)
        return f"{prefix}:{m:02d}:{s:02d}+00"


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


# ---------------------------------------------------------------------------------------------
# The world being generated
# ---------------------------------------------------------------------------------------------


@dataclass
class _Location:
    index: int
    id: str
    kind: str
    region: str


@dataclass
class _World:
    scale: Scale
    now: int
    rng: random.Random
    locations: list[_Location] = field(default_factory=list)
    skus: list[str] = field(default_factory=list)
    price_cents: list[int] = field(default_factory=list)
    price_text: list[str] = field(default_factory=list)
    reorder_points: list[int] = field(default_factory=list)
    popularity: list[float] = field(default_factory=list)
    popularity_cum: list[float] = field(default_factory=list)
    customers: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # region -> (id, address)
    # Per stock slot (location index * number of SKUs + SKU index):
    reserved: array = field(default_factory=lambda: array("q"))
    outflow: array = field(default_factory=lambda: array("q"))
    inflow: array = field(default_factory=lambda: array("q"))
    incoming: array = field(default_factory=lambda: array("q"))
    movements: array = field(default_factory=lambda: array("q"))
    last_change: array = field(default_factory=lambda: array("q"))

    @property
    def start(self) -> int:
        return self.now - self.scale.days * DAY

    def init_slots(self) -> None:
        n = len(self.locations) * len(self.skus)
        for name in ("reserved", "outflow", "inflow", "incoming", "movements", "last_change"):
            setattr(self, name, array("q", bytes(8 * n)))


def _split(total: int, shares: dict[str, float]) -> dict[str, int]:
    keys = list(shares)
    counts = {k: int(total * shares[k]) for k in keys}
    for k in keys[: total - sum(counts.values())]:
        counts[k] += 1
    return counts


def _locations_text(world: _World) -> list[str]:
    rng = world.rng
    per_region = _split(world.scale.locations, {r: 1 / len(cat.REGIONS) for r in cat.REGIONS})
    seen: dict[tuple[str, str], int] = {}
    rows = []
    for region in cat.REGIONS:
        cities = cat.CITIES[region]
        for i in range(per_region[region]):
            kind = cat.KIND_CYCLE[i % len(cat.KIND_CYCLE)]
            city = cities[i % len(cities)]
            prefix = cat.KIND_PREFIX[kind]
            number = seen[(prefix, city.code)] = seen.get((prefix, city.code), 0) + 1
            location_id = f"{prefix}-{city.code}-{number}"
            name = f"{city.name} {cat.KIND_LABEL[kind]}" + (f" {number}" if number > 1 else "")
            lat, lon = city.lat, city.lon
            if i >= len(cities):  # another site in the same metro area
                lat = round(lat + rng.uniform(-0.08, 0.08), 4)
                lon = round(lon + rng.uniform(-0.08, 0.08), 4)
            world.locations.append(_Location(len(world.locations), location_id, kind, region))
            rows.append(f"{location_id}\t{name}\t{kind}\t{region}\t{city.name}\t{city.country}\t"
                        f"{lat}\t{lon}\n")
    return rows


def _products_text(world: _World) -> list[str]:
    rng = world.rng
    categories = list(cat.CATEGORIES)
    names_seen: dict[str, int] = {}
    rows = []
    n = world.scale.skus
    ranks = list(range(n))
    rng.shuffle(ranks)
    for i in range(n):
        category = categories[int(rng.random() * len(categories))]
        noun, typical = rng.choice(cat.CATEGORIES[category])
        name = f"{rng.choice(cat.BRANDS)} {noun} {rng.choice(cat.MODIFIERS)}"
        copies = names_seen[name] = names_seen.get(name, 0) + 1
        if copies > 1:
            name = f"{name} Mk{copies}"
        price = max(99, int(typical * rng.uniform(0.6, 1.8)) * 100 + 99)
        cost = int(price * rng.uniform(0.40, 0.65))
        reorder_point = max(2, int(60 / (1 + price / 1500) * rng.uniform(0.7, 1.3)))
        sku = f"SKU-{i + 1:05d}"
        world.skus.append(sku)
        world.price_cents.append(price)
        world.price_text.append(_money(price))
        world.reorder_points.append(reorder_point)
        world.popularity.append(1.0 / (ranks[i] + 3) ** 0.85)
        rows.append(f"{sku}\t{name}\t{category}\t{_money(cost)}\t{_money(price)}\t{reorder_point}\n")
    world.popularity_cum = list(accumulate(world.popularity))
    return rows


def _customers_batches(world: _World, batch: int):
    rng = world.rng
    uuid = _uuid_maker(rng)
    ts = _Timestamps()
    counts = _split(world.scale.customers, cat.REGION_SHARE)
    serial = 0
    rows: list[str] = []
    for region in cat.REGIONS:
        firsts, lasts = cat.FIRST_NAMES[region], cat.LAST_NAMES[region]
        cities = cat.CITIES[region]
        homed = world.customers.setdefault(region, [])
        for _ in range(counts[region]):
            serial += 1
            first, last = rng.choice(firsts), rng.choice(lasts)
            city = rng.choice(cities)
            email = f"{_ascii(first)}.{_ascii(last)}{serial}@{rng.choice(cat.EMAIL_DOMAINS)}"
            address = (f"{rng.randint(1, 240)} {rng.choice(cat.STREETS[city.country])}, "
                       f"{rng.randint(10000, 99999)} {city.name}, {city.country}")
            customer_id = uuid()
            created = world.start - int(rng.random() * 730 * DAY)
            homed.append((customer_id, address))
            rows.append(f"{customer_id}\t{first} {last}\t{email}\t{address}\t{region}\t{ts(created)}\n")
            if len(rows) >= batch:
                yield rows
                rows = []
    if rows:
        yield rows


# ---------------------------------------------------------------------------------------------
# Orders
# ---------------------------------------------------------------------------------------------


def _order_times(world: _World):
    """(created epoch seconds, region) for every order, in time order, following the
    weekly rhythm, retail holidays, the hour of day and a slight growth trend."""
    rng = world.rng
    first_hour = world.start - world.start % HOUR
    hours = (world.now - first_hour + HOUR - 1) // HOUR
    day_noise: dict[tuple[date, str], float] = {}
    weights = []
    def bounds(h: int) -> tuple[int, int]:
        hour_start = first_hour + h * HOUR
        return max(hour_start, world.start), min(hour_start + HOUR, world.now)

    for h in range(hours):
        hour_start = first_hour + h * HOUR
        trend = 0.9 + 0.2 * h / max(hours, 1)
        low, high = bounds(h)
        part = (high - low) / HOUR
        for region in cat.REGIONS:
            local = datetime.fromtimestamp(hour_start, UTC) + timedelta(
                hours=cat.REGION_UTC_OFFSET[region])
            key = (local.date(), region)
            if key not in day_noise:
                day_noise[key] = rng.uniform(0.88, 1.12)
            weights.append(cat.REGION_SHARE[region] * trend * part * day_noise[key]
                           * seasonality.day_weight(local.date(), region)
                           * seasonality.hour_weight(local.hour))
    buckets = rng.choices(range(len(weights)), cum_weights=list(accumulate(weights)),
                          k=world.scale.orders)
    counts = [0] * len(weights)
    for b in buckets:
        counts[b] += 1
    regions = cat.REGIONS
    for h in range(hours):
        low, high = bounds(h)
        this_hour = []
        for r, region in enumerate(regions):
            for _ in range(counts[h * len(regions) + r]):
                this_hour.append((low + int(rng.random() * (high - low)), region))
        this_hour.sort()
        yield from this_hour


def _timeline(rnd: Callable[[], float], t0: int) -> list[tuple[int, str, str, str | None]]:
    """An order's full life as (time, from_status, to_status, note) steps, future included."""
    u = rnd()
    if u < 0.70:
        allocated = t0 + 120 + int(rnd() * 2580)            # 2-45 minutes
    elif u < 0.95:
        allocated = t0 + 2700 + int(rnd() * 18900)          # 45 minutes - 6 hours
    else:
        allocated = t0 + 6 * HOUR + int(rnd() * 66 * HOUR)  # waiting for stock, up to 3 days
    picking = allocated + 1200 + int(rnd() * 27600)         # 20 minutes - 8 hours
    shipped = picking + HOUR + int(rnd() * 19 * HOUR)
    delivered = shipped + DAY + int(rnd() * 4 * DAY)
    steps = [(allocated, "pending", "allocated", None), (picking, "allocated", "picking", None),
             (shipped, "picking", "shipped", None), (delivered, "shipped", "delivered", None)]
    fate = rnd()
    if fate < 0.035:                                      # cancelled before it shipped
        at = t0 + 300 + int(rnd() * (shipped - t0 - 360))
        done = [s for s in steps if s[0] < at]
        current = done[-1][2] if done else "pending"
        return done + [(at, current, "cancelled", "Cancelled at the customer's request")]
    if fate < 0.065:                                      # delivered, then sent back
        steps.append((delivered + 2 * DAY + int(rnd() * 18 * DAY), "delivered", "returned",
                      "Returned by the customer"))
        return steps
    if fate < 0.085:                                      # held for a while before shipping
        at = allocated + 60 + int(rnd() * (shipped - allocated - 120))
        duration = HOUR + int(rnd() * 3 * DAY)
        stage = "picking" if at >= picking else "allocated"
        note = cat.HOLD_NOTES[int(rnd() * len(cat.HOLD_NOTES))]
        before = [s for s in steps if s[0] < at]
        after = [(t + duration + MINUTE, a, b, n) for t, a, b, n in steps if t >= at]
        return before + [(at, stage, "on_hold", note), (at + duration, "on_hold", stage,
                                                         "Hold released")] + after
    return steps


def _orders_batches(world: _World, spool, progress: Callable[[int], None]):
    """Yields (orders rows, order_lines rows, order_events rows) per batch; writes the ledger
    rows of the orders' stock movements to the spool file."""
    rng = world.rng
    rnd = rng.random
    uuid = _uuid_maker(rng)
    ts = _Timestamps()
    now = world.now
    nsku = len(world.skus)
    skus, prices, price_text = world.skus, world.price_cents, world.price_text
    pop_cum = world.popularity_cum
    reserved, outflow, inflow = world.reserved, world.outflow, world.inflow
    movements, last_change = world.movements, world.last_change
    line_counts = (1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 4, 4, 5)
    quantities = (1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6)
    fulfil: dict[str, tuple[list[_Location], list[float]]] = {}
    for region in cat.REGIONS:
        candidates = [loc for loc in world.locations
                      if loc.region == region and loc.kind in cat.FULFILMENT_WEIGHT]
        fulfil[region] = (candidates, list(accumulate(cat.FULFILMENT_WEIGHT[c.kind]
                                                      for c in candidates)))
    customers = world.customers
    choices = rng.choices
    orders_rows: list[str] = []
    lines_rows: list[str] = []
    events_rows: list[str] = []
    ledger_rows: list[str] = []
    done = 0
    for t0, region in _order_times(world):
        order_id = uuid()
        homed = customers[region]
        customer_id, address = homed[int(len(homed) * rnd() ** 1.6)]
        n_lines = line_counts[int(rnd() * len(line_counts))]
        picked = list(dict.fromkeys(choices(range(nsku), cum_weights=pop_cum, k=n_lines)))
        qty = [quantities[int(rnd() * len(quantities))] for _ in picked]
        steps = [s for s in _timeline(rnd, t0) if s[0] <= now]
        status = steps[-1][2] if steps else "pending"
        held_from = steps[-1][1] if status == "on_hold" else None
        was_allocated = bool(steps) and steps[0][2] == "allocated"
        candidates, cum = fulfil[region]
        location = choices(candidates, cum_weights=cum)[0] if was_allocated else None
        location_id = location.id if location else NULL
        reserve_now = status in OPEN_STATUSES
        total = 0
        for n, (si, q) in enumerate(zip(picked, qty, strict=True), start=1):
            total += q * prices[si]
            lines_rows.append(f"{order_id}\t{n}\t{skus[si]}\t{q}\t{price_text[si]}\t{location_id}\t"
                              f"{q if reserve_now else 0}\n")
        promised = t0 + (2 + int(rnd() * 4)) * DAY
        updated = steps[-1][0] if steps else t0
        orders_rows.append(
            f"{order_id}\t{customer_id}\t{region}\t{status}\t{held_from or NULL}\t{location_id}\t"
            f"{address}\t{_money(total)}\t{ts(promised)}\t{ts(t0)}\t{ts(updated)}\t{ACTOR}\t"
            f"{1 + len(steps)}\n")
        events_rows.append(f"{uuid()}\t{order_id}\t{ACTOR}\tcreated\t{NULL}\tpending\t{NULL}\t"
                           f"{ts(t0)}\n")
        for at, before, after, note in steps:
            events_rows.append(f"{uuid()}\t{order_id}\t{ACTOR}\tstatus_changed\t{before}\t{after}\t"
                               f"{note or NULL}\t{ts(at)}\n")
            if after == "allocated" and before == "pending":
                kind, d_on_hand, d_reserved, reason = "reserve", 0, 1, NULL
            elif after == "shipped":
                kind, d_on_hand, d_reserved, reason = "ship", -1, -1, NULL
            elif after == "returned":
                kind, d_on_hand, d_reserved, reason = "return", 1, 0, "customer_return"
            elif after == "cancelled" and before in ("allocated", "picking"):
                kind, d_on_hand, d_reserved, reason = "release", 0, -1, NULL
            else:
                continue
            stamp = ts(at)
            base = location.index * nsku
            for si, q in zip(picked, qty, strict=True):
                slot = base + si
                movements[slot] += 1
                if at > last_change[slot]:
                    last_change[slot] = at
                if d_on_hand < 0:
                    outflow[slot] += q
                elif d_on_hand > 0:
                    inflow[slot] += q
                ledger_rows.append(
                    f"{uuid()}\t{location_id}\t{skus[si]}\t{kind}\t{reason}\t{d_on_hand * q}\t"
                    f"{d_reserved * q}\t0\torder\t{order_id}\t{ACTOR}\t{NULL}\t{stamp}\n")
        if reserve_now:
            base = location.index * nsku
            for si, q in zip(picked, qty, strict=True):
                reserved[base + si] += q
        done += 1
        if len(orders_rows) >= world.scale.batch_orders:
            _spool(spool, ledger_rows)
            yield orders_rows, lines_rows, events_rows
            progress(done)
            orders_rows, lines_rows, events_rows = [], [], []
    _spool(spool, ledger_rows)
    if orders_rows:
        yield orders_rows, lines_rows, events_rows
    progress(done)


def _spool(spool, rows: list[str]) -> None:
    if rows:
        spool.write("".join(rows).encode())
        rows.clear()


# ---------------------------------------------------------------------------------------------
# Transfers and stock
# ---------------------------------------------------------------------------------------------


def _transfers_text(world: _World, spool) -> list[str]:
    rng = world.rng
    rnd = rng.random
    uuid = _uuid_maker(rng)
    ts = _Timestamps()
    nsku = len(world.skus)
    sources = {r: [loc for loc in world.locations if loc.region == r and loc.kind != "store"]
               for r in cat.REGIONS}
    targets = {r: [loc for loc in world.locations if loc.region == r and loc.kind != "factory"]
               for r in cat.REGIONS}
    region_cum = list(accumulate(cat.REGION_SHARE[r] for r in cat.REGIONS))
    rows, ledger = [], []
    plan = ([("in_transit", 3 * DAY)] * world.scale.transfers_in_transit
            + [("received", 60 * DAY)] * world.scale.transfers_received)
    for status, window in plan:
        region = rng.choices(cat.REGIONS, cum_weights=region_cum)[0]
        source = rng.choice(sources[region])
        target = rng.choice([t for t in targets[region] if t.id != source.id])
        si = rng.choices(range(nsku), cum_weights=world.popularity_cum)[0]
        sku = world.skus[si]
        qty = 5 + int(rnd() * 55) * (2 if target.kind in ("dc", "warehouse") else 1)
        transfer_id = uuid()
        note = cat.TRANSFER_NOTES[int(rnd() * len(cat.TRANSFER_NOTES))]
        if status == "in_transit":
            created = world.now - int(rnd() * window)
            closed = None
        else:
            created = world.now - 5 * DAY - int(rnd() * (window - 5 * DAY))
            closed = created + DAY + int(rnd() * 3 * DAY)
        source_slot = source.index * nsku + si
        target_slot = target.index * nsku + si
        world.outflow[source_slot] += qty
        steps = [(source_slot, source.id, "transfer_out", "dispatched", -qty, 0, created),
                 (target_slot, target.id, "transfer_in", "dispatched", 0, qty, created)]
        if closed is None:
            world.incoming[target_slot] += qty
            rows.append(f"{transfer_id}\t{source.id}\t{target.id}\t{sku}\t{qty}\t{NULL}\tin_transit\t"
                        f"{note}\t{ACTOR}\t{ts(created)}\t{NULL}\t{NULL}\t1\n")
        else:
            world.inflow[target_slot] += qty
            steps.append((target_slot, target.id, "transfer_in", "received", qty, -qty, closed))
            rows.append(f"{transfer_id}\t{source.id}\t{target.id}\t{sku}\t{qty}\t{qty}\treceived\t"
                        f"{note}\t{ACTOR}\t{ts(created)}\t{ACTOR}\t{ts(closed)}\t2\n")
        for slot, location_id, kind, reason, d_on_hand, d_incoming, at in steps:
            world.movements[slot] += 1
            world.last_change[slot] = max(world.last_change[slot], at)
            ledger.append(f"{uuid()}\t{location_id}\t{sku}\t{kind}\t{reason}\t{d_on_hand}\t0\t"
                          f"{d_incoming}\ttransfer\t{transfer_id}\t{ACTOR}\t{note}\t{ts(at)}\n")
    _spool(spool, ledger)
    return rows


def _stock_batches(world: _World, spool, batch: int, progress: Callable[[int], None]):
    """Stock rows, plus their initial receipts and a few damage write-offs into the spool.

    on_hand is a target level raised, where needed, to cover what is reserved and what came
    in during the window; the receipt is whatever makes the ledger sum to on_hand.
    """
    rng = world.rng
    rnd = rng.random
    uuid = _uuid_maker(rng)
    ts = _Timestamps()
    nsku = len(world.skus)
    skus = world.skus
    max_pop = max(world.popularity)
    demand = [(p / max_pop) ** 0.6 for p in world.popularity]
    reserved, outflow, inflow, incoming = world.reserved, world.outflow, world.inflow, world.incoming
    movements, last_change = world.movements, world.last_change
    window = world.scale.days * DAY
    rows: list[str] = []
    ledger: list[str] = []
    done = 0
    for loc in world.locations:
        depth = cat.KIND_STOCK_DEPTH[loc.kind]
        rp_factor = cat.KIND_REORDER_FACTOR[loc.kind]
        received_at = world.start - 7 * DAY + loc.index * 97
        received_text = ts(received_at)
        base = loc.index * nsku
        for si in range(nsku):
            slot = base + si
            reorder_point = world.reorder_points[si] * rp_factor
            u = rnd()
            if u < 0.02:
                target = 0                                   # sold out
            elif u < 0.09:
                target = int(rnd() * reorder_point)          # due for replenishment
            else:
                target = int(reorder_point * (1.2 + 2.5 * rnd()) + depth * 40 * demand[si] * rnd())
            on_hand = max(target, reserved[slot] + inflow[slot])
            damaged = 0
            if rnd() < 0.015:
                damaged = 1 + int(rnd() * 3)
                at = world.start + int(rnd() * window)
                movements[slot] += 1
                last_change[slot] = max(last_change[slot], at)
                ledger.append(f"{uuid()}\t{loc.id}\t{skus[si]}\tadjustment\tdamaged\t{-damaged}\t0\t0\t"
                              f"{NULL}\t{NULL}\t{ACTOR}\tWritten off after a stock check\t{ts(at)}\n")
            receipt = on_hand + outflow[slot] - inflow[slot] + damaged
            if receipt:
                movements[slot] += 1
                ledger.append(f"{uuid()}\t{loc.id}\t{skus[si]}\tadjustment\treceived\t{receipt}\t0\t0\t"
                              f"{NULL}\t{NULL}\t{ACTOR}\tOpening stock\t{received_text}\n")
            changed = max(last_change[slot], received_at)
            rows.append(f"{loc.id}\t{skus[si]}\t{on_hand}\t{reserved[slot]}\t{incoming[slot]}\t"
                        f"{reorder_point}\t{1 + movements[slot]}\t{ts(changed)}\n")
            done += 1
            if len(rows) >= batch:
                _spool(spool, ledger)
                yield rows
                progress(done)
                rows = []
    _spool(spool, ledger)
    if rows:
        yield rows
    progress(done)


def _spooled_chunks(spool, size: int = 8 << 20):
    """The spool's content in chunks that end at a row boundary."""
    spool.seek(0)
    carry = b""
    while True:
        block = spool.read(size)
        if not block:
            break
        block = carry + block
        cut = block.rfind(b"\n") + 1
        carry = block[cut:]
        if cut:
            yield block[:cut]
    if carry:
        yield carry


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------

_COMMIT = object()
_STOP = object()


class _CopyLoader:
    """Runs COPY statements on its own connection in a background thread, so the generator
    builds the next batch while the server loads the previous one. Errors surface in the
    calling thread at its next put() or drain()."""

    def __init__(self, conn: psycopg.Connection, depth: int = 3) -> None:
        self._conn = conn
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="seed-copy", daemon=True)
        self._thread.start()

    def copy(self, table: str, rows: list[str] | bytes) -> None:
        data = rows if isinstance(rows, bytes) else "".join(rows).encode()
        self._put((table, data))

    def commit(self) -> None:
        self._put(_COMMIT)

    def drain(self) -> None:
        """Wait until everything queued is loaded and committed."""
        self._queue.join()
        self._raise()

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _put(self, item) -> None:
        while True:
            self._raise()
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _work(self) -> None:
        with self._conn.cursor() as cur:
            while True:
                item = self._queue.get()
                try:
                    if item is _STOP:
                        return
                    if self._error is not None:
                        continue
                    if item is _COMMIT:
                        self._conn.commit()
                    else:
                        table, data = item
                        bulk_load.copy_text_rows(cur, table, [data])
                except BaseException as exc:  # handed to the generating thread
                    self._error = exc
                finally:
                    self._queue.task_done()


class _Phases:
    """Progress reporting and wall-clock time per phase."""

    def __init__(self, progress: ProgressFn | None, seconds: dict | None) -> None:
        self._progress = progress
        self.seconds = seconds if seconds is not None else {}
        self._started: dict[str, float] = {}

    def start(self, phase: str, total: int) -> Callable[[int], None]:
        self._started[phase] = time.perf_counter()
        self.report(phase, 0, total)
        # Generated rows count up to total - 1: the phase is complete once committed.
        return lambda done: self.report(phase, min(done, max(total - 1, 0)), total)

    def report(self, phase: str, done: int, total: int) -> None:
        if self._progress:
            self._progress(phase, done, total)

    def finish(self, phase: str, total: int) -> None:
        self.seconds[phase] = time.perf_counter() - self._started[phase]
        self.report(phase, total, total)


def _generate(conn: psycopg.Connection, world: _World, phases: _Phases) -> None:
    loader = _CopyLoader(conn)
    try:
        with tempfile.TemporaryFile(prefix="stockroom-seed-ledger-") as spool:
            _load_all(loader, world, phases, spool)
    finally:
        loader.close()


def _load_all(loader: _CopyLoader, world: _World, phases: _Phases, spool) -> None:
    scale = world.scale

    phases.start("locations", scale.locations)
    loader.copy("locations", _locations_text(world))
    loader.commit()
    loader.drain()
    phases.finish("locations", scale.locations)

    phases.start("products", scale.skus)
    loader.copy("products", _products_text(world))
    loader.commit()
    loader.drain()
    phases.finish("products", scale.skus)
    world.init_slots()

    tick = phases.start("customers", scale.customers)
    done = 0
    for rows in _customers_batches(world, 50_000):
        loader.copy("customers", rows)
        loader.commit()
        done += len(rows)
        tick(done)
    loader.drain()
    phases.finish("customers", scale.customers)

    tick = phases.start("orders", scale.orders)
    for orders, lines, events in _orders_batches(world, spool, tick):
        loader.copy("orders", orders)
        loader.copy("order_lines", lines)
        loader.copy("order_events", events)
        loader.commit()
    loader.drain()
    phases.finish("orders", scale.orders)

    transfers_total = scale.transfers_in_transit + scale.transfers_received
    phases.start("transfers", transfers_total)
    transfer_rows = _transfers_text(world, spool)
    loader.copy("transfers", transfer_rows)
    loader.commit()
    loader.drain()
    phases.finish("transfers", transfers_total)

    stock_total = len(world.locations) * len(world.skus)
    tick = phases.start("stock", stock_total)
    for rows in _stock_batches(world, spool, 100_000, tick):
        loader.copy("stock", rows)
        loader.commit()
    loader.drain()
    phases.finish("stock", stock_total)

    spool.flush()
    ledger_rows = _count_lines(spool)
    tick = phases.start("stock_movements", ledger_rows)
    done = 0
    for chunk in _spooled_chunks(spool):
        loader.copy("stock_movements", chunk)
        loader.commit()
        done += chunk.count(b"\n")
        tick(done)
    loader.drain()
    phases.finish("stock_movements", ledger_rows)


def _count_lines(spool) -> int:
    spool.seek(0)
    count = 0
    while block := spool.read(8 << 20):
        count += block.count(b"\n")
    return count


def create_demo_accounts(conn: psycopg.Connection) -> list[str]:
    with conn.cursor() as cur:
        for username, password, role, regions, display_name in DEMO_ACCOUNTS:
            upsert_user_in_tx(cur, username, display_name, password, role, regions)
    conn.commit()
    return [a[0] for a in DEMO_ACCOUNTS]


def is_cockroach(conn: psycopg.Connection) -> bool:
    return dialect_of(conn).is_cockroach


def default_now() -> datetime:
    """The seed's 'now': the current minute, so data ends where the clock is."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def seed(
    url: str,
    scale: str | Scale = "small",
    seed: int = 42,
    progress: ProgressFn | None = None,
    reset: bool = False,
    *,
    now: datetime | None = None,
    demo_accounts: bool | None = None,
    phase_seconds: dict[str, float] | None = None,
) -> dict[str, int]:
    """Load demo data into the database at url; returns row counts per table.

    Refuses (DatabaseNotEmpty) when domain data exists, unless reset=True, which first
    truncates every domain table (users and schema_migrations are kept). The same seed and
    `now` give identical rows. demo_accounts: None means "unless the server is CockroachDB".
    progress(phase, done, total) is called as rows are generated and once more, with
    done == total, when the phase's rows are committed. phase_seconds, if given, receives
    each phase's wall-clock time.
    """
    scale = SCALES[scale] if isinstance(scale, str) else scale
    now_dt = now or default_now()
    world = _World(scale=scale, now=int(now_dt.timestamp()), rng=random.Random(seed))
    with psycopg.connect(url, autocommit=False) as conn:
        with conn.cursor() as cur:
            if bulk_load.domain_data_exists(cur):
                if not reset:
                    raise DatabaseNotEmpty(
                        "The database already holds data; use --reset to replace it "
                        "(or --if-empty to leave it as it is).")
                bulk_load.truncate_domain_tables(cur)
        conn.commit()
        _generate(conn, world, _Phases(progress, phase_seconds))
        with conn.cursor() as cur:
            bulk_load.analyze_tables(cur)
        conn.commit()
        if demo_accounts is None:
            demo_accounts = not is_cockroach(conn)
        if demo_accounts:
            create_demo_accounts(conn)
        with conn.cursor() as cur:
            counts = bulk_load.count_rows_by_table(cur)
        conn.commit()
    return counts


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


class ProgressBar:
    """`[#####     ]  52% orders 10400/20000` on stderr, redrawn in place on a terminal;
    elsewhere (logs, CI) one line per phase when it completes."""

    def __init__(self, stream=None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self._last_draw = 0.0
        self._finished: set[str] = set()

    def __call__(self, phase: str, done: int, total: int) -> None:
        finished = done >= total
        if phase in self._finished:
            return
        now = time.monotonic()
        if not finished and (not self.tty or now - self._last_draw < 0.1):
            return
        self._last_draw = now
        if finished:
            self._finished.add(phase)
        line = self.render(phase, done, total)
        if self.tty:
            self.stream.write("\r" + line + ("\n" if finished else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def render(self, phase: str, done: int, total: int) -> str:
        fraction = 1.0 if total <= 0 else min(done / total, 1.0)
        filled = int(self.width * fraction)
        return (f"[{'#' * filled}{' ' * (self.width - filled)}] {math.floor(fraction * 100):3d}% "
                f"{phase} {done}/{total}")


def add_arguments_seed_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", choices=sorted(SCALES), default="small",
                        help="tiny (tests), small (default, `make run`), large (benchmarks)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--reset", action="store_true",
                      help="empty every domain table first (users are kept)")
    mode.add_argument("--if-empty", action="store_true",
                      help="do nothing when the database already has products")
    parser.add_argument("--seed", type=int, default=42, help="random seed (same seed, same data)")
    parser.add_argument("--no-demo-accounts", action="store_true",
                        help="do not create the demo sign-in accounts")


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from stack import config, services

    return services.urls(config.load())["DATABASE_URL"]


def seed_command(args: argparse.Namespace) -> int:
    url = _database_url()
    scale = SCALES[args.scale]
    if args.if_empty:
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            products = bulk_load.count_products(cur)
        if products:
            print(f"Demo data already present ({products} products); nothing to do.")
            return 0
    print(f"Seeding {scale.name} demo data (seed {args.seed}) ...", file=sys.stderr)
    started = time.perf_counter()
    try:
        counts = seed(url, scale, seed=args.seed, progress=ProgressBar(), reset=args.reset,
                      demo_accounts=False if args.no_demo_accounts else None)
    except DatabaseNotEmpty as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except psycopg.OperationalError as exc:
        print(f"error: cannot reach the database: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    total = sum(counts.values())
    for table, n in counts.items():
        print(f"{table:<28}{n:>12,}")
    print(f"{'total':<28}{total:>12,}   in {elapsed:.1f} s ({total / elapsed:,.0f} rows/s)")
    with psycopg.connect(url) as conn:
        if not args.no_demo_accounts and not is_cockroach(conn):
            print("Demo accounts: " + ", ".join(f"{u}/{p}" for u, p, *_ in DEMO_ACCOUNTS))
    return 0
