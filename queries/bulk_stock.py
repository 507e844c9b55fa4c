"""Set-based loaders for benchmarks and large demo data: one statement per table.

Opening stock arrives with one ledger row per (location, sku) in the same transaction, so
the invariants hold from the start.
"""

from __future__ import annotations

from queries.db import run_transaction
from queries.vocabulary import AdjustmentReason, MovementKind


def load_locations(rows: list[tuple[str, str, str, str, str, float, float]]) -> None:
    """rows: (id, name, kind, region, city, lat, lon)"""
    run_transaction(lambda cur: cur.executemany(
        "INSERT INTO locations (id, name, kind, region, city, country, lat, lon) "
        "VALUES (%s, %s, %s, %s, %s, 'XX', %s, %s) ON CONFLICT (id) DO NOTHING",
        rows,
    ))


def load_numbered_products(count: int, prefix: str = "SKU-", reorder_point: int = 10) -> list[str]:
    """Products prefix00001 .. prefix{count}; returns their SKUs."""
    run_transaction(lambda cur: cur.execute(
        "INSERT INTO products (sku, name, category, unit_cost, unit_price, reorder_point) "
        "SELECT %s::TEXT || lpad(n::TEXT, 5, '0'), 'Product ' || n::TEXT, 'Cat ' || (n %% 20)::TEXT, "
        "5, 10, %s FROM generate_series(1, %s) AS n ON CONFLICT (sku) DO NOTHING",
        (prefix, reorder_point, count),
    ))
    return [f"{prefix}{n:05d}" for n in range(1, count + 1)]


def load_opening_stock(location_ids: list[str], skus: list[str], on_hand: int,
                       actor: str = "system") -> int:
    """Every SKU at every location with `on_hand` units, each with its opening ledger row."""

    def body(cur) -> int:
        inserted = cur.execute(
            "INSERT INTO stock (location_id, sku, on_hand, reorder_point) "
            "SELECT l, p.sku, %s, p.reorder_point FROM unnest(%s::TEXT[]) AS l "
            "CROSS JOIN products p WHERE p.sku = ANY(%s) "
            "ON CONFLICT (location_id, sku) DO NOTHING RETURNING location_id, sku",
            (on_hand, location_ids, skus),
        ).fetchall()
        cur.execute(
            "INSERT INTO stock_movements (location_id, sku, kind, reason, delta_on_hand, actor, note) "
            f"SELECT l, s, '{MovementKind.ADJUSTMENT}', '{AdjustmentReason.RECEIVED}', %s, %s, "
            "'opening stock' "
            "FROM unnest(%s::TEXT[], %s::TEXT[]) AS q(l, s)",
            (on_hand, actor, [r["location_id"] for r in inserted], [r["sku"] for r in inserted]),
        )
        return len(inserted)

    return run_transaction(body)
