"""The traffic simulator places orders and moves them along through the real commands."""

from __future__ import annotations

import argparse
import io
import random

import pytest

from queries.db import fetch_all, fetch_one
from stack import simulate
from tests import factories
from tests.order_helpers import assert_reservations_exact


def test_simulator_places_and_advances_orders_keeping_invariants(db):
    factories.small_world()
    out = io.StringIO()
    counts = simulate.run(rate=40, seconds=3, seed=7, out=out)
    placed = fetch_one("SELECT count(*) AS n FROM orders")["n"]
    assert placed == counts["placed"] > 0
    assert fetch_one("SELECT count(*) AS n FROM customers")["n"] == 20  # created when none exist
    by_status = {row["status"]: row["n"] for row in fetch_all(
        "SELECT status, count(*) AS n FROM orders GROUP BY status")}
    assert by_status.get("picking", 0) + by_status.get("shipped", 0) + by_status.get("delivered", 0) > 0
    kinds = {row["kind"] for row in fetch_all("SELECT DISTINCT kind FROM order_events")}
    assert {"placed", "picking"} <= kinds
    assert all(row["actor"] == "system" for row in fetch_all("SELECT DISTINCT actor FROM order_events"))
    assert f"placed {counts['placed']:,}" in out.getvalue()
    assert_reservations_exact()


def test_simulate_command_refuses_an_empty_database(db, capsys):
    parser = argparse.ArgumentParser()
    simulate.add_arguments_simulate_command(parser)
    assert simulate.simulate_command(parser.parse_args(["--rate", "5", "--seconds", "1"])) == 1
    assert "python manage.py seed" in capsys.readouterr().err


class FixedChance(random.Random):
    """A Random whose random() always answers the same, to pick a branch on purpose."""

    def __init__(self, value: float):
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.mark.parametrize("chance, status, returned", [(0.1, "delivered", [1, 0]),
                                                      (0.9, "returned", [3, 1])])
def test_the_simulator_sends_back_part_or_all_of_a_delivered_order(db, chance, status, returned):
    from queries import orders
    from queries.actor import SYSTEM
    from queries.invariants import check_invariants
    from tests.order_helpers import customer, lines_of

    factories.small_world()
    placed = orders.place_order(SYSTEM, customer(), [("SKU-1", 3), ("SKU-2", 1)])
    oid, v = placed["order_id"], placed["version"]
    for step in (orders.mark_picking, orders.mark_shipped, orders.mark_delivered):
        v = step(SYSTEM, oid, expected_version=v)["version"]
    sim = simulate.Simulation(FixedChance(chance), customers=[], skus=[])
    tracked = simulate.Tracked(oid, v, "delivered")
    sim.send_back(tracked)
    assert tracked.status == status and tracked.version == v + 1
    assert [line["returned_qty"] for line in lines_of(oid)] == returned
    assert check_invariants().ok
