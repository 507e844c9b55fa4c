"""Stock reads: per location, per (location, sku) ledger with running balance, as-of, low stock.

Every read takes the actor and shows only locations in the actor's regions.
"""

from __future__ import annotations

from datetime import datetime

from queries import permissions
from queries.actor import Actor
from queries.catalog import clean_id
from queries.db import read
from queries.locations import region_of
from queries.region_scope import region_condition

# available <= 0 is a stockout; available <= reorder point is low.
STATUS_SQL = (
    "CASE WHEN s.on_hand - s.reserved <= 0 THEN 'stockout' "
    "WHEN s.on_hand - s.reserved <= s.reorder_point THEN 'low' ELSE 'ok' END"
)


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _require_view(cur, actor: Actor, location_id: str) -> None:
    permissions.require(actor, "stock.view", region_of(cur, location_id))


STOCK_ROWS_LIMIT = 5000


def stock_at_location(actor: Actor, location_id: str, search: str | None = None,
                      limit: int = STOCK_ROWS_LIMIT, only_low: bool = False) -> list[dict]:
    """One row per SKU stocked at the location; search matches SKU or product name;
    only_low keeps the rows whose available is at or below the reorder point."""
    term = (search or "").strip()

    def body(cur) -> list[dict]:
        _require_view(cur, actor, location_id)
        return cur.execute(
            "SELECT s.sku, p.name, p.category, s.on_hand, s.reserved, "
            "s.on_hand - s.reserved AS available, s.incoming, s.reorder_point, "
            f"{STATUS_SQL} AS status, s.version, s.updated_at "
            "FROM stock s JOIN products p ON p.sku = s.sku WHERE s.location_id = %s "
            "AND (%s = '' OR s.sku ILIKE %s OR p.name ILIKE %s) "
            "AND (NOT %s OR s.on_hand - s.reserved <= s.reorder_point) ORDER BY s.sku LIMIT %s",
            (location_id, term, _like(term), _like(term), only_low, limit),
        ).fetchall()

    return read(body)


def location_totals(actor: Actor, location_id: str) -> dict:
    def body(cur) -> dict:
        _require_view(cur, actor, location_id)
        return cur.execute(
            "SELECT count(*) AS skus, COALESCE(sum(s.on_hand), 0)::INT8 AS on_hand, "
            "COALESCE(sum(s.reserved), 0)::INT8 AS reserved, "
            "COALESCE(sum(s.on_hand - s.reserved), 0)::INT8 AS available, "
            "COALESCE(sum(s.incoming), 0)::INT8 AS incoming, "
            "count(*) FILTER (WHERE s.on_hand - s.reserved <= s.reorder_point) AS low_or_out, "
            "count(*) FILTER (WHERE s.on_hand - s.reserved <= 0) AS stockouts "
            "FROM stock s WHERE s.location_id = %s",
            (location_id,),
        ).fetchone()

    return read(body)


def stock_of(actor: Actor, location_id: str, sku: str) -> dict | None:
    def body(cur) -> dict | None:
        _require_view(cur, actor, location_id)
        return cur.execute(
            "SELECT s.location_id, s.sku, s.on_hand, s.reserved, s.on_hand - s.reserved AS available, "
            f"s.incoming, s.reorder_point, {STATUS_SQL} AS status, s.version, s.updated_at "
            "FROM stock s WHERE s.location_id = %s AND s.sku = %s",
            (location_id, clean_id(sku, "SKU")),
        ).fetchone()

    return read(body)


def ledger_with_running_balance(actor: Actor, location_id: str, sku: str,
                                limit: int = 500) -> list[dict]:
    """The latest `limit` ledger rows of a (location, sku), oldest first, each with the
    on_hand / reserved / incoming / available balance after it (summed over the whole ledger).

    Rows are ordered by created_at (the transaction's start time), then id.
    """

    def body(cur) -> list[dict]:
        _require_view(cur, actor, location_id)
        rows = cur.execute(
            "SELECT * FROM (SELECT id::TEXT AS id, created_at, kind, reason, delta_on_hand, "
            "delta_reserved, delta_incoming, ref_type, ref_id, actor, note, "
            "(sum(delta_on_hand) OVER w)::INT8 AS on_hand, "
            "(sum(delta_reserved) OVER w)::INT8 AS reserved, "
            "(sum(delta_incoming) OVER w)::INT8 AS incoming "
            "FROM stock_movements WHERE location_id = %s AND sku = %s "
            "WINDOW w AS (ORDER BY created_at, id ROWS UNBOUNDED PRECEDING)) h "
            "ORDER BY created_at DESC, id DESC LIMIT %s",
            (location_id, clean_id(sku, "SKU"), limit),
        ).fetchall()
        rows.reverse()
        for row in rows:
            row["available"] = row["on_hand"] - row["reserved"]
        return rows

    return read(body)


def stock_as_of(actor: Actor, location_id: str, sku: str, at: datetime) -> dict:
    """The (location, sku) stock as it stood at `at`, rebuilt by summing the ledger up to it."""

    def body(cur) -> dict:
        _require_view(cur, actor, location_id)
        row = cur.execute(
            "SELECT COALESCE(sum(delta_on_hand), 0)::INT8 AS on_hand, "
            "COALESCE(sum(delta_reserved), 0)::INT8 AS reserved, "
            "COALESCE(sum(delta_incoming), 0)::INT8 AS incoming, "
            "count(*) AS movements, max(created_at) AS last_movement_at "
            "FROM stock_movements WHERE location_id = %s AND sku = %s AND created_at <= %s",
            (location_id, clean_id(sku, "SKU"), at),
        ).fetchone()
        return row | {"available": row["on_hand"] - row["reserved"], "as_of": at,
                      "location_id": location_id, "sku": sku}

    return read(body)


def _alerts(actor: Actor, location_id: str | None, condition: str, limit: int) -> list[dict]:
    permissions.require(actor, "stock.view")
    scope, params = region_condition(actor, "l.region")

    def body(cur) -> list[dict]:
        if location_id is not None:
            _require_view(cur, actor, location_id)
        return cur.execute(f"""
            SELECT s.location_id, l.region, s.sku, p.name, s.on_hand, s.reserved,
                   s.on_hand - s.reserved AS available, s.incoming, s.reorder_point,
                   {STATUS_SQL} AS status
              FROM stock s
              JOIN locations l ON l.id = s.location_id
              JOIN products p ON p.sku = s.sku
             WHERE {condition}
               AND l.active
               AND (%(location_id)s::TEXT IS NULL OR s.location_id = %(location_id)s::TEXT)
               AND {scope}
             ORDER BY s.on_hand - s.reserved - s.reorder_point, s.location_id, s.sku
             LIMIT %(limit)s
        """, {**params, "location_id": location_id, "limit": limit}).fetchall()

    return read(body)


def low_stock(actor: Actor, location_id: str | None = None, limit: int = 500) -> list[dict]:
    """(location, sku) whose available is at or below the reorder point, worst first."""
    return _alerts(actor, location_id, "s.on_hand - s.reserved <= s.reorder_point", limit)


def stockouts(actor: Actor, location_id: str | None = None, limit: int = 500) -> list[dict]:
    """(location, sku) with nothing available."""
    return _alerts(actor, location_id, "s.on_hand - s.reserved <= 0", limit)
