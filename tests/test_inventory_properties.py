"""Property test: random sequences of inventory commands, run against the database and against
a small in-memory model, give the same outcomes (result or error type) and the same stock."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queries import inventory, transfers
from queries.db import fetch_all, run_transaction
from queries.errors import (
    AlreadyDone,
    DomainError,
    InsufficientStock,
    InvalidInput,
    InvalidQuantity,
    InvalidTransition,
)
from queries.idempotency import new_key
from queries.invariants import check_invariants
from queries.stock_ledger import apply_movement
from tests import factories
from tests.factories import ADMIN

LOCATIONS = ("L-1", "L-2", "L-3")
SKUS = ("P-1", "P-2")
OPENING = 20


def shifted(location: str, shift: int) -> str:
    return LOCATIONS[(LOCATIONS.index(location) + shift) % len(LOCATIONS)]


@dataclass
class Model:
    on_hand: dict = field(default_factory=dict)
    incoming: dict = field(default_factory=dict)
    transfers: list = field(default_factory=list)  # [from, to, sku, qty, status]

    @classmethod
    def opening(cls) -> Model:
        pairs = [(loc, sku) for loc in LOCATIONS for sku in SKUS]
        return cls({p: OPENING for p in pairs}, {p: 0 for p in pairs})

    def adjust(self, loc, sku, qty):
        if qty == 0:
            return InvalidQuantity
        if self.on_hand[loc, sku] + qty < 0:
            return InsufficientStock
        self.on_hand[loc, sku] += qty
        return None

    def count(self, loc, sku, counted):
        if counted < 0:
            return InvalidQuantity
        self.on_hand[loc, sku] = counted
        return None

    def create(self, source, shift, sku, qty):
        destination = shifted(source, shift)
        if qty <= 0:
            return InvalidQuantity
        if source == destination:
            return InvalidInput
        if self.on_hand[source, sku] < qty:
            return InsufficientStock
        self.on_hand[source, sku] -= qty
        self.incoming[destination, sku] += qty
        self.transfers.append([source, destination, sku, qty, "in_transit"])
        return None

    def receive(self, index, received, reason):
        source, destination, sku, qty, status = self.transfers[index]
        if status == "received":
            return AlreadyDone
        if status == "cancelled":
            return InvalidTransition
        arrived = qty if received is None else received
        if arrived > qty:
            return InvalidQuantity
        if arrived < qty and reason is None:
            return InvalidInput
        self.incoming[destination, sku] -= qty
        self.on_hand[destination, sku] += arrived
        self.transfers[index][4] = "received"
        return None

    def cancel(self, index):
        source, destination, sku, qty, status = self.transfers[index]
        if status == "cancelled":
            return AlreadyDone
        if status == "received":
            return InvalidTransition
        self.incoming[destination, sku] -= qty
        self.on_hand[source, sku] += qty
        self.transfers[index][4] = "cancelled"
        return None


locations = st.sampled_from(LOCATIONS)
skus = st.sampled_from(SKUS)
# Mostly sensible quantities, sometimes zero, negative or too large.
quantities = st.integers(1, 12) | st.integers(-2, 30)
# Any size up or down; zero (refused) about one time in ten rather than one in fifty.
adjust = st.tuples(st.just("adjust"), locations, skus,
                   st.sampled_from([0] * 5 + list(range(-25, 26))))
count = st.tuples(st.just("count"), locations, skus, st.integers(-2, 40))
# The destination is the source shifted by 0 (refused: same location), 1 or 2.
create = st.tuples(st.just("create"), locations, st.sampled_from((1, 2, 1, 2, 0)), skus,
                   quantities)
# A transfer is picked by number: among the open ones or among all of them (which reaches
# the refusals for received and cancelled transfers).
pick = st.tuples(st.booleans(), st.integers(0, 40))
receive = st.tuples(st.just("receive"), pick,
                    st.sampled_from(("full", "exact", "short", "short", "unexplained", "over")),
                    st.integers(0, 20))
cancel = st.tuples(st.just("cancel"), pick)
repeat = st.tuples(st.just("repeat"))
commands = st.one_of(create, receive, create, receive, cancel, adjust, count, repeat)


def receipt(qty: int, mode: str | None = None, n: int = 0) -> tuple:
    """(received_qty, shortfall_reason) for a receipt of a transfer of qty units."""
    if mode is None:  # a cancel
        return ()
    short = n % qty
    return {"full": (None, None), "exact": (qty, None), "short": (short, "damaged"),
            "unexplained": (short, None), "over": (qty + 1 + n, None)}[mode]


def run_on_database(command, transfer_ids: list[str], key: str):
    name, *args = command
    if name == "adjust":
        loc, sku, qty = args
        return inventory.adjust_stock(ADMIN, location_id=loc, sku=sku, qty=qty,
                                      reason="correction", idempotency_key=key)
    if name == "count":
        loc, sku, counted = args
        return inventory.record_count(ADMIN, location_id=loc, sku=sku, counted=counted,
                                      idempotency_key=key)
    if name == "create":
        source, destination, sku, qty = args
        destination = shifted(source, destination)
        return transfers.create_transfer(ADMIN, from_location_id=source,
                                         to_location_id=destination, sku=sku, qty=qty,
                                         idempotency_key=key)
    if name == "receive":
        index, received, reason = args
        return transfers.receive_transfer(ADMIN, transfer_id=transfer_ids[index],
                                          received_qty=received, shortfall_reason=reason,
                                          idempotency_key=key)
    index = args[0]
    return transfers.cancel_transfer(ADMIN, transfer_id=transfer_ids[index], idempotency_key=key)


def run_on_model(model: Model, command):
    name, *args = command
    return getattr(model, name)(*args)


@pytest.fixture
def property_db(db):
    for loc in LOCATIONS:
        factories.add_location(loc, "EU")
    for sku in SKUS:
        factories.add_product(sku)
    return db


def reset(url: str) -> None:
    """Back to the opening stock, in one transaction (DELETE: TRUNCATE costs ~40 ms a time)."""

    def body(cur):
        for table in ("stock_movements", "transfers", "idempotency_keys", "stock"):
            cur.execute(f"DELETE FROM {table}")
        for loc in LOCATIONS:
            for sku in SKUS:
                cur.execute("INSERT INTO stock (location_id, sku) VALUES (%s, %s)", (loc, sku))
                apply_movement(cur, location_id=loc, sku=sku, kind="adjustment", reason="received",
                               delta_on_hand=OPENING, actor="test")

    run_transaction(body)


def database_state() -> tuple[dict, dict]:
    rows = fetch_all("SELECT location_id, sku, on_hand, incoming FROM stock")
    return ({(r["location_id"], r["sku"]): r["on_hand"] for r in rows},
            {(r["location_id"], r["sku"]): r["incoming"] for r in rows})


# Every path a command can take: its success and each of its refusals. The test fails if a
# run does not reach all of them, so "the model agrees" never rests on a few easy paths.
PATHS = {
    ("adjust", None), ("adjust", InvalidQuantity), ("adjust", InsufficientStock),
    ("count", None), ("count", InvalidQuantity),
    ("create", None), ("create", InvalidQuantity), ("create", InvalidInput),
    ("create", InsufficientStock),
    ("receive", None), ("receive short", None), ("receive", AlreadyDone),
    ("receive", InvalidTransition), ("receive", InvalidQuantity), ("receive", InvalidInput),
    ("cancel", None), ("cancel", AlreadyDone), ("cancel", InvalidTransition),
    ("repeat", None),
}


def path_name(path: tuple) -> str:
    name, error = path
    return f"{name} -> {error.__name__ if error else 'ok'}"


@pytest.mark.slow
def test_database_matches_the_model(property_db):
    reached: Counter = Counter()

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(sequence=st.lists(commands, min_size=15, max_size=30))
    def sequences_agree(sequence):
        reset(property_db)
        model = Model.opening()
        transfer_ids: list[str] = []
        last: tuple | None = None  # (command, key, result) of the last successful command
        for command in sequence:
            if command[0] == "repeat":
                if last is None:
                    continue
                # Same command, same key: applies once, returns the stored result.
                again = run_on_database(last[0], transfer_ids, last[1])
                assert again["already_applied"] is True
                assert {k: v for k, v in again.items() if k != "already_applied"} == last[2]
                reached["repeat", None] += 1
            else:
                path = command[0]
                if command[0] in ("receive", "cancel"):
                    (only_open, number), rest = command[1], command[2:]
                    candidates = [i for i, t in enumerate(model.transfers)
                                  if t[4] == "in_transit" or not only_open]
                    if not candidates:
                        continue
                    index = candidates[number % len(candidates)]
                    command = (command[0], index, *receipt(model.transfers[index][3], *rest))
                    if rest and rest[0] == "short":
                        path = "receive short"
                key = new_key()
                expected_error = run_on_model(model, command)
                try:
                    result = run_on_database(command, transfer_ids, key)
                except DomainError as exc:
                    assert type(exc) is expected_error, (command, exc)
                else:
                    assert expected_error is None, (command, result)
                    if command[0] == "create":
                        transfer_ids.append(result["transfer_id"])
                    last = (command, key, {k: v for k, v in result.items() if k != "already_applied"})
                reached[path if expected_error is None else command[0], expected_error] += 1
            assert database_state() == (model.on_hand, model.incoming), command
        report = check_invariants()
        assert report.ok, [v.sentence() for v in report.violations]

    sequences_agree()
    counts = sorted((path_name(p), n) for p, n in reached.items())
    assert not PATHS - set(reached), (
        f"paths never reached: {sorted(map(path_name, PATHS - set(reached)))}; reached: {counts}")
