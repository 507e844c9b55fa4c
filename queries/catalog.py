"""Locations and products as commands see them: exists, active, which region, stocked where.

Each lookup is one round trip, so commands stay short; every function runs inside the
caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from queries.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class StockTarget:
    """A (location, sku) a command is about to change."""

    location_id: str
    sku: str
    region: str
    stocked: bool


@dataclass(frozen=True)
class TransferEnds:
    from_location_id: str
    to_location_id: str
    sku: str
    from_region: str
    to_region: str
    stocked_at_source: bool
    stocked_at_destination: bool


def clean_id(value, what: str) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        raise InvalidInput(f"Please give a {what}.")
    return text


def _require_location(row_id, active, location_id: str) -> None:
    if row_id is None:
        raise NotFound(f"There is no location {location_id!r}.")
    if not active:
        raise InvalidInput(f"Location {location_id} is inactive; stock there cannot change.")


def _require_product(row_sku, active, sku: str) -> None:
    if row_sku is None:
        raise NotFound(f"There is no product with SKU {sku!r}.")
    if not active:
        raise InvalidInput(f"{sku} is an inactive product; its stock cannot change.")


def stock_target(cur, location_id: str, sku: str) -> StockTarget:
    """The active location and product a stock command changes (NotFound / InvalidInput)."""
    location_id, sku = clean_id(location_id, "location"), clean_id(sku, "SKU")
    row = cur.execute(
        "SELECT l.id AS location_id, l.region, l.active AS location_active, "
        "p.sku, p.active AS product_active, s.location_id IS NOT NULL AS stocked "
        "FROM (SELECT %s::TEXT AS location_id, %s::TEXT AS sku) q "
        "LEFT JOIN locations l ON l.id = q.location_id "
        "LEFT JOIN products p ON p.sku = q.sku "
        "LEFT JOIN stock s ON s.location_id = q.location_id AND s.sku = q.sku",
        (location_id, sku),
    ).fetchone()
    _require_location(row["location_id"], row["location_active"], location_id)
    _require_product(row["sku"], row["product_active"], sku)
    return StockTarget(location_id, sku, row["region"], row["stocked"])


def clean_transfer_ends(from_location_id, to_location_id, sku) -> tuple[str, str, str]:
    from_location_id = clean_id(from_location_id, "source location")
    to_location_id = clean_id(to_location_id, "destination location")
    sku = clean_id(sku, "SKU")
    if from_location_id == to_location_id:
        raise InvalidInput("A transfer needs two different locations; source and destination "
                           f"are both {from_location_id}.")
    return from_location_id, to_location_id, sku


def transfer_ends(cur, from_location_id: str, to_location_id: str, sku: str) -> TransferEnds:
    """Both ends and the product of a new transfer, checked in one query."""
    from_location_id, to_location_id, sku = clean_transfer_ends(
        from_location_id, to_location_id, sku)
    row = cur.execute(
        "SELECT lf.id AS from_id, lf.region AS from_region, lf.active AS from_active, "
        "lt.id AS to_id, lt.region AS to_region, lt.active AS to_active, "
        "p.sku, p.active AS product_active, "
        "sf.location_id IS NOT NULL AS stocked_at_source, "
        "st.location_id IS NOT NULL AS stocked_at_destination "
        "FROM (SELECT %s::TEXT AS from_id, %s::TEXT AS to_id, %s::TEXT AS sku) q "
        "LEFT JOIN locations lf ON lf.id = q.from_id "
        "LEFT JOIN locations lt ON lt.id = q.to_id "
        "LEFT JOIN products p ON p.sku = q.sku "
        "LEFT JOIN stock sf ON sf.location_id = q.from_id AND sf.sku = q.sku "
        "LEFT JOIN stock st ON st.location_id = q.to_id AND st.sku = q.sku",
        (from_location_id, to_location_id, sku),
    ).fetchone()
    _require_location(row["from_id"], row["from_active"], from_location_id)
    _require_location(row["to_id"], row["to_active"], to_location_id)
    _require_product(row["sku"], row["product_active"], sku)
    return TransferEnds(from_location_id, to_location_id, sku, row["from_region"],
                        row["to_region"], row["stocked_at_source"], row["stocked_at_destination"])


def add_stock_row(cur, location_id: str, sku: str) -> None:
    """Start stocking a product at a location (zero everywhere, the product's reorder point).

    A zero row needs no ledger row: the ledger sums of a new (location, sku) are zero too.
    """
    cur.execute(
        "INSERT INTO stock (location_id, sku, reorder_point) "
        "SELECT %s, sku, reorder_point FROM products WHERE sku = %s "
        "ON CONFLICT (location_id, sku) DO NOTHING",
        (location_id, sku),
    )


def products_by_sku(cur, skus: list[str]) -> dict[str, dict]:
    rows = cur.execute(
        "SELECT sku, active FROM products WHERE sku = ANY(%s)", (list(skus),)
    ).fetchall()
    return {row["sku"]: row for row in rows}


def stock_rows_for(cur, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """Stock rows of these (location_id, sku) pairs, keyed by the pair."""
    rows = cur.execute(
        "SELECT s.location_id, s.sku, s.on_hand, s.reserved, s.incoming "
        "FROM unnest(%s::TEXT[], %s::TEXT[]) AS q(location_id, sku) "
        "JOIN stock s ON s.location_id = q.location_id AND s.sku = q.sku",
        ([p[0] for p in pairs], [p[1] for p in pairs]),
    ).fetchall()
    return {(row["location_id"], row["sku"]): row for row in rows}
