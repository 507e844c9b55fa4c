"""The invariant checker finds each kind of planted violation; `manage.py check` exits 1 on one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg

from queries import transfers
from queries.idempotency import new_key
from queries.invariants import check_invariants
from tests.factories import MANAGER_EU

ROOT = Path(__file__).resolve().parent.parent


def plant(url: str, *statements: str) -> None:
    """Break the data behind the application's back, as a bug or a manual edit would."""
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def found(invariant: int) -> list[tuple[str, str, str, str]]:
    return [(v.check, v.location_id, v.sku, f"{v.expected} / {v.found}")
            for v in check_invariants().violations if v.invariant == invariant]


def open_transfer() -> str:
    return transfers.create_transfer(MANAGER_EU, from_location_id="WH-BER-1",
                                     to_location_id="WH-PAR-1", sku="SKU-1", qty=10,
                                     idempotency_key=new_key())["transfer_id"]


def test_a_clean_world_has_no_violations(world):
    open_transfer()
    report = check_invariants()
    assert report.ok and report.violations == [] and report.truncated == []


def test_bounds_are_checked_even_without_the_check_constraints(world):
    plant(world, "ALTER TABLE stock DROP CONSTRAINT stock_reserved_within_on_hand",
          "UPDATE stock SET reserved = 150 WHERE location_id = 'WH-BER-1' AND sku = 'SKU-2'")
    assert [(check, loc, sku) for check, loc, sku, _ in found(1)] == [
        ("stock bounds", "WH-BER-1", "SKU-2")]


def test_ledger_and_stock_disagreeing_is_found(world):
    plant(world, "UPDATE stock SET on_hand = on_hand + 1 WHERE location_id = 'WH-PAR-1' "
                 "AND sku = 'SKU-3'")
    assert found(2) == [("ledger = stock", "WH-PAR-1", "SKU-3",
                         "on_hand 100 (ledger) / on_hand 101 (stock)")]


def test_incoming_without_a_transfer_is_found(world):
    # The ledger agrees with the stock row, but no transfer is on its way.
    plant(world,
          "UPDATE stock SET incoming = 4 WHERE location_id = 'WH-BER-1' AND sku = 'SKU-3'",
          "INSERT INTO stock_movements (location_id, sku, kind, delta_incoming, actor) "
          "VALUES ('WH-BER-1', 'SKU-3', 'transfer_in_transit', 4, 'someone')")
    assert found(2) == []
    assert found(3) == [("incoming = in-transit transfers", "WH-BER-1", "SKU-3",
                         "incoming 0 (in-transit transfers) / incoming 4 (stock)")]


def test_a_transfer_whose_ledger_does_not_balance_is_found(world):
    transfer_id = open_transfer()
    plant(world, f"UPDATE transfers SET qty = 12 WHERE id = '{transfer_id}'")
    checks = {(check, loc, sku) for check, loc, sku, _ in found(3)}
    assert checks == {("incoming = in-transit transfers", "WH-PAR-1", "SKU-1"),
                      ("transfer ledger balances", "WH-BER-1->WH-PAR-1", "SKU-1")}


def test_reservations_not_backed_by_live_order_lines_are_found(world):
    plant(
        world,
        "INSERT INTO customers (id, name, email, address, region) VALUES "
        "('00000000-0000-0000-0000-0000000000c1', 'Ann', 'ann@example.com', 'Street 1', 'EU')",
        "INSERT INTO orders (id, customer_id, region, status, ship_address, promised_by, updated_by) "
        "VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000c1', "
        "'EU', 'allocated', 'Street 1', now(), 'support.eu'), "
        "('00000000-0000-0000-0000-0000000000a2', '00000000-0000-0000-0000-0000000000c1', "
        "'EU', 'delivered', 'Street 1', now(), 'support.eu')",
        # A live line holding 3 that stock.reserved does not know about.
        "INSERT INTO order_lines (order_id, line_no, sku, qty, unit_price, location_id, reserved_qty) "
        "VALUES ('00000000-0000-0000-0000-0000000000a1', 1, 'SKU-1', 3, 10, 'WH-BER-1', 3), "
        # A delivered order still holding a reservation.
        "('00000000-0000-0000-0000-0000000000a2', 1, 'SKU-2', 2, 10, 'WH-BER-1', 2)",
    )
    assert sorted(found(4)) == [
        ("no reservation on closed orders", "WH-BER-1", "SKU-2", "reserved_qty 0 / reserved_qty 2"),
        ("reserved = live order lines", "WH-BER-1", "SKU-1",
         "reserved 3 (order lines) / reserved 0 (stock)"),
    ]


def test_a_ledger_row_without_an_actor_is_found(world):
    plant(world, "INSERT INTO stock_movements (location_id, sku, kind, actor) "
                 "VALUES ('WH-BER-1', 'SKU-1', 'adjustment', '  ')")
    assert [(check, loc, sku) for check, loc, sku, _ in found(5)] == [
        ("actor recorded", "WH-BER-1", "SKU-1")]


def test_the_limit_caps_each_check_and_says_so(world):
    plant(world, "UPDATE stock SET on_hand = on_hand + 1")
    report = check_invariants(limit=3)
    assert len([v for v in report.violations if v.invariant == 2]) == 3
    assert report.truncated == ["ledger_equals_stock"]


def manage_check(url: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=url)
    if not (ROOT / "changefeed").exists():
        # manage.py's parser imports every command module and only tolerates the module
        # itself being missing, not its package (changefeed/ arrives with the CDC branch).
        # An empty package on PYTHONPATH stands in until then; the real one wins after.
        (tmp_path / "changefeed").mkdir(exist_ok=True)
        (tmp_path / "changefeed" / "__init__.py").touch()
        env["PYTHONPATH"] = str(tmp_path)
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), "check"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_manage_check_exits_0_when_all_hold_and_1_on_a_planted_violation(world, tmp_path):
    open_transfer()
    clean = manage_check(world, tmp_path)
    assert clean.returncode == 0, clean.stderr
    assert "all invariants hold" in clean.stdout
    plant(world, "UPDATE stock SET on_hand = on_hand - 2 WHERE location_id = 'WH-BER-1' "
                 "AND sku = 'SKU-1'")
    broken = manage_check(world, tmp_path)
    assert broken.returncode == 1, broken.stderr
    assert ("invariant 2 [ledger = stock] WH-BER-1 SKU-1: expected on_hand 90 (ledger), "
            "found on_hand 88 (stock)") in broken.stdout
    assert "all invariants hold" not in broken.stdout


def test_the_report_is_structured_data_for_the_operations_page(world):
    plant(world, "UPDATE stock SET reserved = 1 WHERE location_id = 'ST-NYC-1' AND sku = 'SKU-3'")
    data = json.loads(json.dumps(check_invariants().as_dict()))
    assert data["ok"] is False and data["truncated"] == []
    assert {(v["invariant"], v["check"], v["location_id"], v["sku"]) for v in data["violations"]} == {
        (2, "ledger = stock", "ST-NYC-1", "SKU-3"),
        (4, "reserved = live order lines", "ST-NYC-1", "SKU-3"),
    }
