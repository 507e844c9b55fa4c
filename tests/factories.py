"""Small, explicit test data written through the real tables (and the ledger primitive)."""

from __future__ import annotations

from queries.actor import Actor
from queries.db import run_transaction
from queries.stock_ledger import apply_movement
from queries.users import upsert_user_in_tx

ADMIN = Actor("admin", "admin", (), "Admin")
MANAGER_EU = Actor("manager.eu", "inventory_manager", ("EU",), "Eva Manager")
SUPPORT_EU = Actor("support.eu", "support", ("EU",), "Sam Support")
HQ = Actor("hq", "hq_viewer", (), "Hannah HQ")


def add_location(location_id: str, region: str = "EU", kind: str = "warehouse",
                 city: str = "Berlin", lat: float = 52.52, lon: float = 13.40,
                 active: bool = True) -> None:
    run_transaction(lambda cur: cur.execute(
        "INSERT INTO locations (id, name, kind, region, city, country, lat, lon, active) "
        "VALUES (%s, %s, %s, %s, %s, 'XX', %s, %s, %s)",
        (location_id, f"{city} {kind}", kind, region, city, lat, lon, active),
    ))


def add_product(sku: str, price: float = 10.0, reorder_point: int = 5,
                active: bool = True) -> None:
    run_transaction(lambda cur: cur.execute(
        "INSERT INTO products (sku, name, category, unit_cost, unit_price, reorder_point, active) "
        "VALUES (%s, %s, 'Test', %s, %s, %s, %s)",
        (sku, f"Product {sku}", price / 2, price, reorder_point, active),
    ))


def add_stock(location_id: str, sku: str, on_hand: int, reorder_point: int = 5) -> None:
    """A stock row whose on_hand arrives through a ledger row, so invariant 2 holds."""

    def body(cur):
        cur.execute(
            "INSERT INTO stock (location_id, sku, reorder_point) VALUES (%s, %s, %s)",
            (location_id, sku, reorder_point),
        )
        if on_hand:
            apply_movement(cur, location_id=location_id, sku=sku, kind="adjustment",
                           reason="received", delta_on_hand=on_hand, actor="test")

    run_transaction(body)


def add_user(username: str, role: str, regions: list[str], password: str = "password123",
             display_name: str | None = None) -> None:
    run_transaction(lambda cur: upsert_user_in_tx(
        cur, username, display_name or username, password, role, regions))


def small_world() -> None:
    """Two EU warehouses and one US store, three SKUs, some stock."""
    add_location("WH-BER-1", "EU", "warehouse", "Berlin", 52.52, 13.40)
    add_location("WH-PAR-1", "EU", "warehouse", "Paris", 48.86, 2.35)
    add_location("ST-NYC-1", "NA", "store", "New York", 40.71, -74.01)
    for sku in ("SKU-1", "SKU-2", "SKU-3"):
        add_product(sku)
    for loc in ("WH-BER-1", "WH-PAR-1", "ST-NYC-1"):
        for sku in ("SKU-1", "SKU-2", "SKU-3"):
            add_stock(loc, sku, 100)


def count_rows(table: str) -> int:
    return run_transaction(lambda cur: cur.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"])
