"""The traffic simulator: real commands from several threads, profiles, riding through outages."""

from __future__ import annotations

import argparse
import io
import random
import threading
import time

import psycopg
import pytest

from queries.db import fetch_all, fetch_one
from queries.invariants import check_invariants
from stack import simulate
from tests import factories
from tests.order_helpers import assert_reservations_exact

EVERY_COMMAND = {
    "order.place", "order.picking", "order.shipped", "order.delivered", "order.cancel",
    "order.change_line_qty", "order.add_line", "order.return", "stock.receipt", "stock.count",
    "transfer.create", "transfer.receive",
}


def wide_world(skus: int = 12) -> list[str]:
    """Three locations (two regions) and `skus` SKUs with plenty of stock each."""
    factories.add_location("WH-BER-1", "EU", "warehouse", "Berlin", 52.52, 13.40)
    factories.add_location("WH-PAR-1", "EU", "warehouse", "Paris", 48.86, 2.35)
    factories.add_location("ST-NYC-1", "NA", "store", "New York", 40.71, -74.01)
    names = [f"SKU-{n:02d}" for n in range(skus)]
    for sku in names:
        factories.add_product(sku)
        for location in ("WH-BER-1", "WH-PAR-1", "ST-NYC-1"):
            factories.add_stock(location, sku, 200)
    return names


def test_simulator_places_and_advances_orders_keeping_invariants(world):
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


def test_simulate_command_takes_a_profile_and_workers(world, capsys):
    parser = argparse.ArgumentParser()
    simulate.add_arguments_simulate_command(parser)
    args = parser.parse_args(["--profile", "holiday", "--rate", "3", "--seconds", "1.2",
                              "--workers", "2", "--seed", "5", "--interval", "0.5"])
    assert simulate.simulate_command(args) == 0
    out = capsys.readouterr().out
    assert "holiday traffic at base rate 3/s" in out
    assert "\r" not in out
    progress = [line for line in out.splitlines() if "target" in line]
    assert len(progress) >= 2 and all("tried" in line and "ok" in line for line in progress)


def test_the_holiday_schedule_ramps_to_ten_times_the_base_and_back():
    rate, seconds = 4.0, 100.0
    ticks = [simulate.rate_at("holiday", rate, seconds, t) for t in range(0, 101)]
    assert ticks[0] == pytest.approx(rate) and ticks[-1] == pytest.approx(rate)
    assert max(ticks) == pytest.approx(10 * rate) == ticks[50]
    assert all(a <= b for a, b in zip(ticks[:50], ticks[1:51], strict=True))  # up to mid-run
    assert all(a >= b for a, b in zip(ticks[50:100], ticks[51:], strict=True))  # and down
    # The schedule of placements is the integral of the rate: 5.5x the base over the run.
    assert simulate.placements_by("holiday", rate, seconds, seconds) == pytest.approx(5.5 * rate * seconds)
    step = 0.01
    for t in (10.0, 50.0, 80.0):
        slope = (simulate.placements_by("holiday", rate, seconds, t + step)
                 - simulate.placements_by("holiday", rate, seconds, t)) / step
        assert slope == pytest.approx(simulate.rate_at("holiday", rate, seconds, t), rel=1e-3)
    # Steady and flash-sale keep the base rate.
    for profile in ("steady", "flash-sale"):
        assert simulate.rate_at(profile, rate, seconds, 50) == rate
        assert simulate.placements_by(profile, rate, seconds, 10) == pytest.approx(10 * rate)


def test_a_flash_sale_sends_most_order_lines_to_three_hot_skus(db):
    wide_world(12)
    report = simulate.run_traffic("flash-sale", rate=25, seconds=2.5, workers=3, seed=3,
                                  out=io.StringIO())
    assert len(report.hot_skus) == 3
    lines = fetch_all("SELECT sku, qty FROM order_lines")
    hot = sum(1 for line in lines if line["sku"] in report.hot_skus)
    assert len(lines) >= 30
    assert hot / len(lines) >= 0.7, (hot, len(lines))
    assert "flash sale on" in "\n".join(report.summary_lines())


def test_a_multi_worker_run_does_every_command_and_keeps_every_invariant(db):
    wide_world(6)
    out = io.StringIO()
    report = simulate.run_traffic("steady", rate=25, seconds=4, workers=4, seed=11, out=out,
                                  interval=1.0)
    assert EVERY_COMMAND <= set(report.committed), EVERY_COMMAND - set(report.committed)
    assert report.total_committed() == sum(report.committed.values()) > 0
    assert report.total_attempted() >= report.total_committed()
    for command, n in report.committed.items():
        assert len(report.latencies[command]) == n
        assert report.percentile(command, 50) <= report.percentile(command, 99)
    assert report.percentile(None, 99) is not None and report.percentile("no.such", 50) is None
    assert report.seconds >= 4 and report.retries >= 0 and report.unavailable_seconds == 0
    # Every command's rows carry the system actor and its key.
    actors = {row["actor"] for row in fetch_all("SELECT DISTINCT actor FROM stock_movements "
                                                "WHERE actor <> 'test'")}
    assert actors == {"system"}
    keys = fetch_one("SELECT count(*) AS n FROM idempotency_keys")["n"]
    assert keys == report.total_committed()
    reasons = {row["reason"] for row in fetch_all(
        "SELECT DISTINCT reason FROM stock_movements WHERE actor = 'system'")}
    assert {"received", "cycle_count"} <= reasons
    assert check_invariants().ok
    assert_reservations_exact()
    progress = [line for line in out.getvalue().splitlines() if "target" in line]
    assert len(progress) >= 3
    summary = report.summary_lines()
    assert summary[0].startswith("steady traffic at base rate 25/s")
    beats = fetch_all("SELECT counters FROM process_beats WHERE process = 'simulator'")
    assert beats and all({"operations", "attempted", "retries", "errors"} <= set(b["counters"])
                         for b in beats)
    assert any(line.startswith("order.place") for line in summary)


def test_the_simulator_rides_through_every_connection_being_killed(db):
    wide_world(6)
    stop = threading.Event()
    out = io.StringIO()
    result = {}
    runner = threading.Thread(target=lambda: result.setdefault("report", simulate.run_traffic(
        "steady", rate=20, seconds=30, workers=3, seed=5, out=out, stop=stop)))
    runner.start()
    try:
        with psycopg.connect(db, autocommit=True) as killer:
            time.sleep(1.5)
            killed_at = killer.execute("SELECT now()").fetchone()[0]
            for _ in range(2):
                killer.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                time.sleep(0.3)
            deadline = time.monotonic() + 15
            later = 0
            while time.monotonic() < deadline and later < 20:
                time.sleep(0.5)
                later = killer.execute("SELECT count(*) FROM order_events WHERE created_at > %s",
                                       (killed_at,)).fetchone()[0]
    finally:
        stop.set()
        runner.join(timeout=60)
    assert not runner.is_alive()
    report = result["report"]
    assert later >= 20  # it kept committing after every connection was killed
    assert report.total_committed() > 0
    assert check_invariants().ok
    assert_reservations_exact()


class FixedChance(random.Random):
    """A Random whose random() always answers the same, to pick a branch on purpose."""

    def __init__(self, value: float):
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.mark.parametrize("chance, status, returned", [(0.1, "delivered", [1, 0]),
                                                      (0.9, "returned", [3, 1])])
def test_the_simulator_sends_back_part_or_all_of_a_delivered_order(world, chance, status, returned):
    from queries import orders
    from queries.actor import SYSTEM
    from tests.order_helpers import customer, lines_of

    placed = orders.place_order(SYSTEM, customer(), [("SKU-1", 3), ("SKU-2", 1)])
    oid, v = placed["order_id"], placed["version"]
    for step in (orders.mark_picking, orders.mark_shipped, orders.mark_delivered):
        v = step(SYSTEM, oid, expected_version=v)["version"]
    traffic = simulate.Traffic(profile="steady", rate=1, seconds=1, customers=[], skus=[],
                               locations=[], rng=random.Random(0))
    tracked = simulate.Tracked(oid, v, "delivered")
    traffic.send_back(tracked, FixedChance(chance))
    assert tracked.status == status and tracked.version == v + 1
    assert [line["returned_qty"] for line in lines_of(oid)] == returned
    assert traffic.report.committed["order.return"] == 1
    assert check_invariants().ok


def test_the_simulator_waits_out_a_database_that_refuses_connections(db, pg_server, monkeypatch):
    monkeypatch.setenv("STOCKROOM_RECONNECT_SECONDS", "0.3")  # give up inside queries.db soon
    wide_world(6)
    name = psycopg.conninfo.conninfo_to_dict(db)["dbname"]
    stop = threading.Event()
    result = {}
    runner = threading.Thread(target=lambda: result.setdefault("report", simulate.run_traffic(
        "steady", rate=15, seconds=30, workers=3, seed=9, out=io.StringIO(), stop=stop)))
    runner.start()
    try:
        with psycopg.connect(pg_server.admin_url(), autocommit=True) as admin:
            time.sleep(1.0)
            admin.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s", (name,))
            time.sleep(2.0)
            admin.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")
            back_at = admin.execute("SELECT now()").fetchone()[0]
        later = 0
        deadline = time.monotonic() + 15
        with psycopg.connect(db, autocommit=True) as watcher:
            while time.monotonic() < deadline and later < 20:
                time.sleep(0.5)
                later = watcher.execute("SELECT count(*) FROM order_events WHERE created_at > %s",
                                        (back_at,)).fetchone()[0]
    finally:
        stop.set()
        runner.join(timeout=60)
    assert not runner.is_alive()
    report = result["report"]
    assert later >= 20  # committing again once the database took connections
    assert report.unavailable_seconds > 0
    assert any(name in report.errors for name in ("DatabaseUnavailable", "OperationalError"))
    assert check_invariants().ok
    assert_reservations_exact()


def test_the_background_simulator_is_wanted_only_in_embedded_mode_and_not_when_turned_off():
    from stack.processes import simulator_wanted

    assert simulator_wanted({})
    assert simulator_wanted({"STOCKROOM_SIMULATE": "1"})
    assert not simulator_wanted({"STOCKROOM_SIMULATE": "0"})
    assert not simulator_wanted({"DATABASE_URL": "postgresql://crdb.example:26257/stockroom"})


def test_the_background_simulator_waits_for_stock_then_trades_until_sigterm(db):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from tests.order_helpers import customer

    env = {**os.environ, "DATABASE_URL": db, "STOCKROOM_SIMULATE_RATE": "10"}
    proc = subprocess.Popen([sys.executable, "-m", "stack.simulate"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            cwd=Path(__file__).resolve().parent.parent)
    try:
        first = proc.stdout.readline()
        assert "waiting for the seed" in first, first
        factories.small_world()
        customer()  # the seed loads customers with the stock; the simulator waits for both
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and fetch_one("SELECT count(*) AS n FROM orders")["n"] < 5:
            time.sleep(0.3)
        assert fetch_one("SELECT count(*) AS n FROM orders")["n"] >= 5
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = proc.stdout.read()
    assert "steady traffic at 10 orders/s" in log and "committed" in log
    assert check_invariants().ok
