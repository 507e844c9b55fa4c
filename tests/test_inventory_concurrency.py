"""8 threads x 1,000 random adjustments, transfers, receipts and cancels on a few hot rows.

Afterwards every invariant holds (checked by the real checker), total stock is conserved
except for the adjustments made and the shortfalls written off, nothing is negative, and
serialization retries really happened.
"""

from __future__ import annotations

import random
import threading
from collections import Counter

import psycopg
import pytest

from queries import inventory, transfers
from queries.db import fetch_one, retry_stats
from queries.errors import AlreadyDone, InsufficientStock, InvalidTransition
from queries.idempotency import new_key
from queries.invariants import check_invariants
from tests import factories
from tests.factories import ADMIN

THREADS = 8
OPS_PER_THREAD = 1000
LOCATIONS = ("WH-A", "WH-B", "WH-C")
SKUS = ("HOT-1", "HOT-2")
OPENING = 400
# Refusals a busy warehouse produces legitimately; each writes nothing.
EXPECTED_REFUSALS = (InsufficientStock, AlreadyDone, InvalidTransition)


@pytest.fixture
def hot_world(db):
    for i, location in enumerate(LOCATIONS):
        factories.add_location(location, "EU" if i % 2 == 0 else "NA")
    for sku in SKUS:
        factories.add_product(sku)
    for location in LOCATIONS:
        for sku in SKUS:
            factories.add_stock(location, sku, OPENING)
    return db


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open: list[str] = []
        self.adjusted = 0
        self.written_off = 0
        self.outcomes: Counter = Counter()
        self.unexpected: list[BaseException] = []

    def count(self, what: str, n: int = 1) -> None:
        with self.lock:
            self.outcomes[what] += n


def worker(seed: int, tally: Tally) -> None:
    rng = random.Random(seed)
    for _ in range(OPS_PER_THREAD):
        op = rng.choices(("adjust", "create", "receive", "cancel"), weights=(3, 4, 3, 1))[0]
        try:
            if op == "adjust":
                delta = rng.choice((-4, -3, -2, -1, 1, 2, 3, 4))
                inventory.adjust_stock(ADMIN, location_id=rng.choice(LOCATIONS),
                                       sku=rng.choice(SKUS), qty=delta, reason="correction",
                                       idempotency_key=new_key())
                with tally.lock:
                    tally.adjusted += delta
            elif op == "create":
                source, destination = rng.sample(LOCATIONS, 2)
                created = transfers.create_transfer(
                    ADMIN, from_location_id=source, to_location_id=destination,
                    sku=rng.choice(SKUS), qty=rng.randint(1, 12), idempotency_key=new_key())
                with tally.lock:
                    tally.open.append(created["transfer_id"])
            else:
                with tally.lock:
                    if not tally.open:
                        continue
                    # Not removed yet: two threads may race for the same transfer.
                    transfer_id = rng.choice(tally.open)
                if op == "receive":
                    short = rng.random() < 0.3
                    result = transfers.receive_transfer(
                        ADMIN, transfer_id=transfer_id, idempotency_key=new_key(),
                        received_qty=0 if short else None,
                        shortfall_reason="damaged" if short else None)
                    if short:
                        # received_qty=0 writes the whole transfer off.
                        with tally.lock:
                            tally.written_off += result["shortfall"]
                else:
                    transfers.cancel_transfer(ADMIN, transfer_id=transfer_id,
                                              idempotency_key=new_key())
                with tally.lock:
                    if transfer_id in tally.open:
                        tally.open.remove(transfer_id)
            tally.count(op)
        except EXPECTED_REFUSALS as exc:
            tally.count(f"{op} refused: {type(exc).__name__}")
        except psycopg.errors.SerializationFailure:
            tally.count(f"{op} gave up after all retries")
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            with tally.lock:
                tally.unexpected.append(exc)


@pytest.mark.slow
def test_concurrent_commands_keep_every_invariant(hot_world):
    tally = Tally()
    retry_stats.reset()
    threads = [threading.Thread(target=worker, args=(seed, tally)) for seed in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert tally.unexpected == [], tally.unexpected[:3]
    print(dict(tally.outcomes), "retries:", retry_stats.retries,
          "transactions:", retry_stats.transactions)
    # Every kind of command actually ran, many times.
    for op in ("adjust", "create", "receive", "cancel"):
        assert tally.outcomes[op] > 50, tally.outcomes
    assert tally.written_off > 0

    report = check_invariants()
    assert report.ok, [v.sentence() for v in report.violations[:10]]

    totals = fetch_one(
        "SELECT (SELECT sum(on_hand) FROM stock) AS on_hand, "
        "(SELECT COALESCE(sum(qty), 0) FROM transfers WHERE status = 'in_transit') AS in_transit, "
        "(SELECT COALESCE(sum(qty - received_qty), 0) FROM transfers WHERE status = 'received') "
        "AS shortfall, "
        "(SELECT count(*) FROM stock WHERE on_hand < 0 OR reserved < 0 OR incoming < 0 "
        "OR reserved > on_hand) AS negative")
    opening = OPENING * len(LOCATIONS) * len(SKUS)
    assert totals["shortfall"] == tally.written_off
    assert totals["on_hand"] + totals["in_transit"] == opening + tally.adjusted - tally.written_off
    assert totals["negative"] == 0
    assert retry_stats.retries > 0
