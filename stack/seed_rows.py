"""Demo rows as COPY text: the generators behind `manage.py seed` (see stack/seed.py).

How the data stays consistent (DESIGN.md §2): orders are generated first, walking each one
through its life (pending -> allocated -> picking -> shipped -> delivered, with cancellations,
holds and returns) up to `now`; every step that touches stock becomes a ledger row (reserve,
ship, release, return) and is added to per-(location, sku) totals. Transfers add their own
ledger rows. Only then are the stock rows written: on_hand is a target level (never below
what is reserved plus what came in later), and one initial receipt per stock row, dated
before the window, makes the ledger sum exactly to the stock row. Ledger rows go to a spool
file (the caller's) until the stock rows they reference exist.

Everything is drawn from one seeded random.Random in a fixed order, so the same seed and the
same `now` give identical rows. Hot loops use plain Python (no numpy): locals bound once,
f-strings, per-slot totals in typed arrays.
"""

from __future__ import annotations

import random
import time
import unicodedata
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate

from queries.order_states import HOLDING_STOCK
from queries.vocabulary import (
    AdjustmentReason,
    EventKind,
    LocationKind,
    MovementKind,
    OrderStatus,
    ReturnReason,
    TransferStatus,
    event_kind_for_transition,
)
from stack import seasonality
from stack import seed_catalog as cat

MINUTE, HOUR, DAY = 60, 3600, 86400
NULL = "\\N"
ACTOR = "system"


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

OPEN_STATUSES = tuple(str(status) for status in HOLDING_STOCK)

# The words the rows are written with, as plain strings for the hot loops (queries.vocabulary).
PENDING, ALLOCATED, PICKING, ON_HOLD, SHIPPED, DELIVERED, CANCELLED, RETURNED = (
    str(OrderStatus.PENDING), str(OrderStatus.ALLOCATED), str(OrderStatus.PICKING),
    str(OrderStatus.ON_HOLD), str(OrderStatus.SHIPPED), str(OrderStatus.DELIVERED),
    str(OrderStatus.CANCELLED), str(OrderStatus.RETURNED))
PLACED = str(EventKind.PLACED)
# Every transition the seed walks an order through -> the event kind the app writes for it.
TRANSITION_EVENT = {
    (before, after): str(event_kind_for_transition(before, after))
    for before in OrderStatus for after in OrderStatus
}
IN_TRANSIT, RECEIVED = str(TransferStatus.IN_TRANSIT), str(TransferStatus.RECEIVED)
RESERVE, RELEASE, SHIP, RETURN = (str(MovementKind.RESERVE), str(MovementKind.RELEASE),
                                  str(MovementKind.SHIP), str(MovementKind.RETURN))
ADJUSTMENT, TRANSFER_OUT = str(MovementKind.ADJUSTMENT), str(MovementKind.TRANSFER_OUT)
TRANSFER_IN_TRANSIT, TRANSFER_IN = (str(MovementKind.TRANSFER_IN_TRANSIT),
                                    str(MovementKind.TRANSFER_IN))
DAMAGED, RECEIVED_REASON = str(AdjustmentReason.DAMAGED), str(AdjustmentReason.RECEIVED)
CUSTOMER_RETURN = str(ReturnReason.CUSTOMER_RETURN)


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
class World:
    """What the generators share: the catalogue drawn so far and per-stock-slot totals that
    orders and transfers add to and the stock rows are finally computed from."""

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


def locations_text(world: World) -> list[str]:
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
            name = f"{city.name} {LocationKind(kind).label}" + (f" {number}" if number > 1 else "")
            lat, lon = city.lat, city.lon
            if i >= len(cities):  # another site in the same metro area
                lat = round(lat + rng.uniform(-0.08, 0.08), 4)
                lon = round(lon + rng.uniform(-0.08, 0.08), 4)
            world.locations.append(_Location(len(world.locations), location_id, kind, region))
            rows.append(f"{location_id}\t{name}\t{kind}\t{region}\t{city.name}\t{city.country}\t"
                        f"{lat}\t{lon}\n")
    return rows


def products_text(world: World) -> list[str]:
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


def customers_batches(world: World, batch: int):
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


def order_times(world: World):
    """(created epoch seconds, region) for every order, in time order, following the
    weekly rhythm, retail holidays, the hour of day and a slight growth trend."""
    rng = world.rng
    first_hour = world.start - world.start % HOUR
    hours = (world.now - first_hour + HOUR - 1) // HOUR

    def bounds(h: int) -> tuple[int, int]:
        """The part of hour h inside the window (the first and last hours are partial)."""
        hour_start = first_hour + h * HOUR
        return max(hour_start, world.start), min(hour_start + HOUR, world.now)

    day_noise: dict[tuple[date, str], float] = {}
    weights = []
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


def timeline(rnd: Callable[[], float], t0: int) -> list[tuple[int, str, str, str | None]]:
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
    steps = [(allocated, PENDING, ALLOCATED, None), (picking, ALLOCATED, PICKING, None),
             (shipped, PICKING, SHIPPED, None), (delivered, SHIPPED, DELIVERED, None)]
    fate = rnd()
    if fate < 0.035:                                      # cancelled before it shipped
        at = t0 + 300 + int(rnd() * (shipped - t0 - 360))
        done = [s for s in steps if s[0] < at]
        current = done[-1][2] if done else PENDING
        return done + [(at, current, CANCELLED, "Cancelled at the customer's request")]
    if fate < 0.065:                                      # delivered, then sent back
        steps.append((delivered + 2 * DAY + int(rnd() * 18 * DAY), DELIVERED, RETURNED,
                      "Returned by the customer"))
        return steps
    if fate < 0.085:                                      # held for a while before shipping
        at = allocated + 60 + int(rnd() * (shipped - allocated - 120))
        duration = HOUR + int(rnd() * 3 * DAY)
        stage = PICKING if at > picking else ALLOCATED
        note = cat.HOLD_NOTES[int(rnd() * len(cat.HOLD_NOTES))]
        before = [s for s in steps if s[0] < at]
        after = [(t + duration + MINUTE, a, b, n) for t, a, b, n in steps if t >= at]
        return before + [(at, stage, ON_HOLD, note), (at + duration, ON_HOLD, stage,
                                                         "Hold released")] + after
    return steps


def orders_batches(world: World, spool, progress: Callable[[int], None]):
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
    transition_event = TRANSITION_EVENT
    orders_rows: list[str] = []
    lines_rows: list[str] = []
    events_rows: list[str] = []
    ledger_rows: list[str] = []
    done = 0
    for t0, region in order_times(world):
        order_id = uuid()
        homed = customers[region]
        customer_id, address = homed[int(len(homed) * rnd() ** 1.6)]
        n_lines = line_counts[int(rnd() * len(line_counts))]
        picked = list(dict.fromkeys(choices(range(nsku), cum_weights=pop_cum, k=n_lines)))
        qty = [quantities[int(rnd() * len(quantities))] for _ in picked]
        steps = [s for s in timeline(rnd, t0) if s[0] <= now]
        status = steps[-1][2] if steps else PENDING
        held_from = steps[-1][1] if status == ON_HOLD else None
        was_allocated = bool(steps) and steps[0][2] == ALLOCATED
        candidates, cum = fulfil[region]
        location = choices(candidates, cum_weights=cum)[0] if was_allocated else None
        location_id = location.id if location else NULL
        reserve_now = status in OPEN_STATUSES
        total = 0
        for n, (si, q) in enumerate(zip(picked, qty, strict=True), start=1):
            total += q * prices[si]
            lines_rows.append(f"{order_id}\t{n}\t{skus[si]}\t{q}\t{price_text[si]}\t{location_id}\t"
                              f"{q if reserve_now else 0}\t{q if status == RETURNED else 0}\n")
        promised = t0 + (2 + int(rnd() * 4)) * DAY
        updated = steps[-1][0] if steps else t0
        orders_rows.append(
            f"{order_id}\t{customer_id}\t{region}\t{status}\t{held_from or NULL}\t{location_id}\t"
            f"{address}\t{_money(total)}\t{ts(promised)}\t{ts(t0)}\t{ts(updated)}\t{ACTOR}\t"
            f"{1 + len(steps)}\n")
        events_rows.append(f"{uuid()}\t{order_id}\t{ACTOR}\t{PLACED}\t{NULL}\t{PENDING}\t{NULL}\t"
                           f"{ts(t0)}\n")
        for at, before, after, note in steps:
            events_rows.append(f"{uuid()}\t{order_id}\t{ACTOR}\t{transition_event[before, after]}\t"
                               f"{before}\t{after}\t"
                               f"{note or NULL}\t{ts(at)}\n")
            if after == ALLOCATED and before == PENDING:
                kind, d_on_hand, d_reserved, reason = RESERVE, 0, 1, NULL
            elif after == SHIPPED:
                kind, d_on_hand, d_reserved, reason = SHIP, -1, -1, NULL
            elif after == RETURNED:
                kind, d_on_hand, d_reserved, reason = RETURN, 1, 0, CUSTOMER_RETURN
            elif after == CANCELLED and before in (ALLOCATED, PICKING):
                kind, d_on_hand, d_reserved, reason = RELEASE, 0, -1, NULL
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


def transfers_text(world: World, spool) -> list[str]:
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
    plan = ([(IN_TRANSIT, 3 * DAY)] * world.scale.transfers_in_transit
            + [(RECEIVED, 60 * DAY)] * world.scale.transfers_received)
    for status, window in plan:
        region = rng.choices(cat.REGIONS, cum_weights=region_cum)[0]
        source = rng.choice(sources[region])
        target = rng.choice([t for t in targets[region] if t.id != source.id])
        si = rng.choices(range(nsku), cum_weights=world.popularity_cum)[0]
        sku = world.skus[si]
        qty = 5 + int(rnd() * 55) * (2 if target.kind in ("dc", "warehouse") else 1)
        transfer_id = uuid()
        note = cat.TRANSFER_NOTES[int(rnd() * len(cat.TRANSFER_NOTES))]
        if status == IN_TRANSIT:
            created = world.now - int(rnd() * window)
            closed = None
        else:
            created = world.now - 5 * DAY - int(rnd() * (window - 5 * DAY))
            closed = created + DAY + int(rnd() * 3 * DAY)
        source_slot = source.index * nsku + si
        target_slot = target.index * nsku + si
        world.outflow[source_slot] += qty
        # The app's ledger rows for a transfer (queries/transfers.py), which carry no reason.
        steps = [(source_slot, source.id, TRANSFER_OUT, NULL, -qty, 0, created),
                 (target_slot, target.id, TRANSFER_IN_TRANSIT, NULL, 0, qty, created)]
        if closed is None:
            world.incoming[target_slot] += qty
            rows.append(f"{transfer_id}\t{source.id}\t{target.id}\t{sku}\t{qty}\t{NULL}\t{IN_TRANSIT}\t"
                        f"{note}\t{ACTOR}\t{ts(created)}\t{NULL}\t{NULL}\t1\n")
        else:
            world.inflow[target_slot] += qty
            steps.append((target_slot, target.id, TRANSFER_IN, NULL, qty, -qty, closed))
            rows.append(f"{transfer_id}\t{source.id}\t{target.id}\t{sku}\t{qty}\t{qty}\t{RECEIVED}\t"
                        f"{note}\t{ACTOR}\t{ts(created)}\t{ACTOR}\t{ts(closed)}\t2\n")
        for slot, location_id, kind, reason, d_on_hand, d_incoming, at in steps:
            world.movements[slot] += 1
            world.last_change[slot] = max(world.last_change[slot], at)
            ledger.append(f"{uuid()}\t{location_id}\t{sku}\t{kind}\t{reason}\t{d_on_hand}\t0\t"
                          f"{d_incoming}\ttransfer\t{transfer_id}\t{ACTOR}\t{note}\t{ts(at)}\n")
    _spool(spool, ledger)
    return rows


def stock_batches(world: World, spool, batch: int, progress: Callable[[int], None]):
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
    reorder_points = world.reorder_points
    start = world.start
    rows: list[str] = []
    ledger: list[str] = []
    done = 0
    for loc in world.locations:
        location_id = loc.id
        depth = cat.KIND_STOCK_DEPTH[loc.kind] * 40
        rp_factor = cat.KIND_REORDER_FACTOR[loc.kind]
        received_at = start - 7 * DAY + loc.index * 97
        received_text = ts(received_at)
        base = loc.index * nsku
        for si in range(nsku):
            slot = base + si
            sku = skus[si]
            reorder_point = reorder_points[si] * rp_factor
            u = rnd()
            if u < 0.02:
                target = 0                                   # sold out
            elif u < 0.09:
                target = int(rnd() * reorder_point)          # due for replenishment
            else:
                target = int(reorder_point * (1.2 + 2.5 * rnd()) + depth * demand[si] * rnd())
            held = reserved[slot]
            came_in = inflow[slot]
            on_hand = target if target > held + came_in else held + came_in
            damaged = 0
            if rnd() < 0.015:
                damaged = 1 + int(rnd() * 3)
                at = start + int(rnd() * window)
                movements[slot] += 1
                if at > last_change[slot]:
                    last_change[slot] = at
                ledger.append(f"{uuid()}\t{location_id}\t{sku}\t{ADJUSTMENT}\t{DAMAGED}\t{-damaged}\t0\t0\t"
                              f"\\N\t\\N\tsystem\tWritten off after a stock check\t{ts(at)}\n")
            receipt = on_hand + outflow[slot] - came_in + damaged
            if receipt:
                movements[slot] += 1
                ledger.append(f"{uuid()}\t{location_id}\t{sku}\t{ADJUSTMENT}\t{RECEIVED_REASON}\t{receipt}\t0\t0\t"
                              f"\\N\t\\N\tsystem\tOpening stock\t{received_text}\n")
            changed = last_change[slot]
            rows.append(f"{location_id}\t{sku}\t{on_hand}\t{held}\t{incoming[slot]}\t{reorder_point}\t"
                        f"{1 + movements[slot]}\t{ts(changed) if changed > received_at else received_text}\n")
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


def spooled_chunks(spool, size: int = 8 << 20):
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
