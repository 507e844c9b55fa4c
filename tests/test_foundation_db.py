"""Migrations, constraints, the retry helper and idempotency against a real PostgreSQL."""

from __future__ import annotations

import threading

import psycopg
import pytest
from psycopg import errors as pgerrors

from queries import db as dbmod
from queries.actor import SYSTEM
from queries.db import run_transaction
from queries.errors import InsufficientStock, NotFound
from queries.idempotency import new_key, run_command
from queries.migrate import available, migrate
from queries.stock_ledger import apply_movement
from tests.factories import count_rows
from tests.table_counts import assert_nothing_written, table_state


def test_migrations_are_recorded_and_rerun_is_a_no_op(db):
    with psycopg.connect(db) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == [m.version for m in available()]
    assert migrate(db) == []


def test_an_older_database_is_brought_up_to_date_with_its_data(pg_server):
    """Orders returned before partial returns existed count every unit as returned."""
    from tests.worlds import create_database

    url = create_database(pg_server, "template0")
    assert migrate(url, up_to="0006")[-1] == "0006"
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO products (sku, name, category, unit_cost, unit_price) "
            "VALUES ('SKU-1', 'Mug', 'kitchen', 1, 2);"
            "INSERT INTO customers (id, name, email, address, region) VALUES "
            "('00000000-0000-0000-0000-00000000000c', 'Jo', 'jo@example.com', 'Here 1', 'EU');"
            "INSERT INTO orders (id, customer_id, region, status, ship_address, promised_by, "
            "updated_by) VALUES ('00000000-0000-0000-0000-0000000000a1', "
            "'00000000-0000-0000-0000-00000000000c', 'EU', 'returned', 'Here 1', now(), 'x'), "
            "('00000000-0000-0000-0000-0000000000a2', '00000000-0000-0000-0000-00000000000c', "
            "'EU', 'delivered', 'Here 1', now(), 'x');"
            "INSERT INTO order_lines (order_id, line_no, sku, qty, unit_price) VALUES "
            "('00000000-0000-0000-0000-0000000000a1', 1, 'SKU-1', 3, 2), "
            "('00000000-0000-0000-0000-0000000000a2', 1, 'SKU-1', 4, 2)")
    assert migrate(url) == [m.version for m in available() if m.version > "0006"]
    with psycopg.connect(url) as conn:
        returned = conn.execute(
            "SELECT order_id::TEXT, returned_qty FROM order_lines ORDER BY 1").fetchall()
    assert returned == [("00000000-0000-0000-0000-0000000000a1", 3),
                        ("00000000-0000-0000-0000-0000000000a2", 0)]


def test_schema_keeps_the_column_names_operators_rely_on(db):
    expected = {
        "stock": {"location_id", "sku", "on_hand", "reserved", "incoming", "reorder_point",
                  "version", "updated_at"},
        "stock_movements": {"id", "location_id", "sku", "kind", "reason", "delta_on_hand",
                            "delta_reserved", "delta_incoming", "ref_type", "ref_id", "actor",
                            "created_at"},
        "transfers": {"id", "from_location_id", "to_location_id", "sku", "qty", "status"},
        "orders": {"id", "customer_id", "region", "status", "version"},
        "order_lines": {"order_id", "line_no", "sku", "qty", "location_id"},
    }
    with psycopg.connect(db) as conn:
        for table, columns in expected.items():
            found = {r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                (table,))}
            assert columns <= found, table


@pytest.mark.parametrize("assignment", [
    "on_hand = -1", "reserved = 200", "reserved = -1", "incoming = -5",
])
def test_check_constraints_reject_broken_stock_rows(world, assignment):
    with psycopg.connect(world) as conn, pytest.raises(pgerrors.CheckViolation):
        conn.execute(f"UPDATE stock SET {assignment} WHERE location_id = 'WH-BER-1' AND sku = 'SKU-1'")


def test_apply_movement_writes_stock_and_ledger_together(world):
    before = count_rows("stock_movements")
    row = run_transaction(lambda cur: apply_movement(
        cur, location_id="WH-BER-1", sku="SKU-1", kind="adjustment", reason="damaged",
        delta_on_hand=-7, actor="tester"))
    assert row["on_hand"] == 93
    assert count_rows("stock_movements") == before + 1
    ledger = dbmod.fetch_one(
        "SELECT sum(delta_on_hand) AS s FROM stock_movements WHERE location_id='WH-BER-1' AND sku='SKU-1'")
    assert ledger["s"] == 93


def test_apply_movement_refuses_to_oversell_and_writes_nothing(world):
    before = table_state()
    with pytest.raises(InsufficientStock, match="Only 100 of SKU-1 available"):
        run_transaction(lambda cur: apply_movement(
            cur, location_id="WH-BER-1", sku="SKU-1", kind="reserve", delta_reserved=101,
            actor="tester"))
    with pytest.raises(NotFound):
        run_transaction(lambda cur: apply_movement(
            cur, location_id="WH-BER-1", sku="NOPE", kind="adjustment", delta_on_hand=1,
            actor="tester"))
    assert_nothing_written(before)


def test_retry_helper_retries_a_real_serialization_conflict(world):
    """Two transactions read-modify-write the same row; the loser gets 40001 and is retried."""
    both_read = threading.Barrier(2)
    attempts = []

    def increment(cur):
        attempts.append(1)
        row = cur.execute(
            "SELECT on_hand FROM stock WHERE location_id='WH-BER-1' AND sku='SKU-2'").fetchone()
        if len(attempts) <= 2:
            both_read.wait(timeout=10)
        cur.execute("UPDATE stock SET on_hand = %s WHERE location_id='WH-BER-1' AND sku='SKU-2'",
                    (row["on_hand"] + 1,))

    dbmod.retry_stats.reset()
    threads = [threading.Thread(target=run_transaction, args=(increment,)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert dbmod.retry_stats.retries >= 1
    assert len(attempts) >= 3
    final = dbmod.fetch_one(
        "SELECT on_hand FROM stock WHERE location_id='WH-BER-1' AND sku='SKU-2'")
    assert final["on_hand"] == 102  # neither increment was lost


def test_retry_helper_gives_up_after_bounded_attempts(db):
    calls = []

    def always_conflicts(cur):
        calls.append(1)
        raise pgerrors.SerializationFailure("restart transaction: injected")

    with pytest.raises(pgerrors.SerializationFailure):
        run_transaction(always_conflicts, max_attempts=3)
    assert len(calls) == 3


def test_idempotency_key_applies_once(world):
    key = new_key()

    def body(cur):
        apply_movement(cur, location_id="WH-BER-1", sku="SKU-3", kind="adjustment",
                       reason="received", delta_on_hand=5, actor=SYSTEM.username)
        return {"applied": 5}

    first = run_command("test.adjust", SYSTEM, key, body)
    second = run_command("test.adjust", SYSTEM, key, body)
    assert first == {"applied": 5, "already_applied": False}
    assert second == {"applied": 5, "already_applied": True}
    row = dbmod.fetch_one("SELECT on_hand FROM stock WHERE location_id='WH-BER-1' AND sku='SKU-3'")
    assert row["on_hand"] == 105


def test_idempotency_key_applies_once_under_concurrent_double_click(world):
    key = new_key()
    results = []

    def body(cur):
        apply_movement(cur, location_id="WH-PAR-1", sku="SKU-3", kind="adjustment",
                       reason="received", delta_on_hand=1, actor=SYSTEM.username)
        return {"ok": True}

    threads = [threading.Thread(target=lambda: results.append(
        run_command("test.adjust", SYSTEM, key, body))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["already_applied"] for r in results) == [False] + [True] * 5
    row = dbmod.fetch_one("SELECT on_hand FROM stock WHERE location_id='WH-PAR-1' AND sku='SKU-3'")
    assert row["on_hand"] == 101
