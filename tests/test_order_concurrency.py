"""Concurrent placements on scarce stock never oversell."""

from __future__ import annotations

import random
import threading

from queries import db as dbmod
from queries import orders
from queries.db import fetch_all, fetch_one
from tests import factories
from tests.factories import ADMIN
from tests.order_helpers import assert_reservations_exact, customer

THREADS = 16
ORDERS_PER_THREAD = 4


def test_sixteen_threads_never_allocate_more_than_the_hundred_units_there_are(db):
    factories.add_location("WH-BER-1", "EU", "warehouse", "Berlin", 52.52, 13.40)
    factories.add_location("WH-PAR-1", "EU", "warehouse", "Paris", 48.86, 2.35)
    factories.add_product("SKU-HOT")
    factories.add_stock("WH-BER-1", "SKU-HOT", 100)
    factories.add_stock("WH-PAR-1", "SKU-HOT", 0)
    buyers = [customer(f"Buyer {n}", f"buyer{n}@example.com") for n in range(THREADS)]
    dbmod.retry_stats.reset()
    results, errors = [], []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def shop(n: int) -> None:
        rng = random.Random(n)
        start.wait()
        for _ in range(ORDERS_PER_THREAD):
            qty = rng.randint(1, 6)
            try:
                result = orders.place_order(ADMIN, buyers[n], [("SKU-HOT", qty)])
                with lock:
                    results.append((result["order_id"], result["status"], qty))
            except Exception as exc:  # collected and reported below
                with lock:
                    errors.append(repr(exc))

    threads = [threading.Thread(target=shop, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == THREADS * ORDERS_PER_THREAD
    demanded = sum(qty for _, _, qty in results)
    allocated = sum(qty for _, status, qty in results if status == "allocated")
    assert demanded > 100  # the stock really was contended
    assert allocated <= 100
    held = fetch_one("SELECT on_hand, reserved FROM stock WHERE location_id = 'WH-BER-1' "
                     "AND sku = 'SKU-HOT'")
    assert held == {"on_hand": 100, "reserved": allocated}
    # Exactly the orders reported allocated hold stock; the back-ordered ones hold nothing.
    rows = {str(r["order_id"]): r for r in fetch_all(
        "SELECT ol.order_id, o.status, ol.reserved_qty, ol.location_id FROM order_lines ol "
        "JOIN orders o ON o.id = ol.order_id")}
    for order_id, status, qty in results:
        assert rows[order_id]["status"] == status
        assert rows[order_id]["reserved_qty"] == (qty if status == "allocated" else 0)
    # Nothing left that a back-ordered order could have taken: the stock was used up greedily.
    smallest_pending = min((qty for _, status, qty in results if status == "pending"), default=None)
    if smallest_pending is not None:
        assert 100 - allocated < smallest_pending
    assert_reservations_exact()
    print(f"retries: {dbmod.retry_stats.retries} over {dbmod.retry_stats.transactions} transactions")
