"""Headquarters' figures counted straight from the base tables, for the tests to compare the
Overview's reads and page with (written independently of queries/hq_filters.py)."""

from __future__ import annotations

from queries.db import fetch_one
from queries.hq_filters import HqFilters


def direct_stock_totals(filters: HqFilters = HqFilters(),
                        regions: tuple[str, ...] = ()) -> dict:
    """Totals straight from stock under the same filters, written without queries/hq_filters."""
    conditions, params = ["TRUE"], {}
    if regions:
        conditions.append("l.region = ANY(%(regions)s)")
        params["regions"] = list(regions)
    for name in ("region", "country", "kind"):
        if getattr(filters, name):
            conditions.append(f"l.{name} = %({name})s")
            params[name] = getattr(filters, name)
    if filters.category:
        conditions.append("p.category = %(category)s")
        params["category"] = filters.category
    if filters.search:
        conditions.append("(p.sku ILIKE %(prefix)s OR p.name ILIKE %(words)s)")
        params["prefix"] = filters.search + "%"
        params["words"] = "%" + "%".join(filters.search.split()) + "%"
    return fetch_one(f"""
        SELECT count(*) AS bins, coalesce(sum(s.on_hand), 0) AS on_hand,
               coalesce(sum(s.on_hand - s.reserved), 0) AS available,
               coalesce(sum(s.incoming), 0) AS incoming,
               coalesce(sum(s.on_hand * p.unit_cost), 0) AS stock_value,
               count(*) FILTER (WHERE s.on_hand - s.reserved <= 0) AS out_bins,
               count(*) FILTER (WHERE s.on_hand - s.reserved <= s.reorder_point) AS low_bins,
               count(DISTINCT s.sku) FILTER (WHERE s.on_hand - s.reserved <= 0) AS out_skus
          FROM stock s
          JOIN locations l ON l.id = s.location_id
          JOIN products p ON p.sku = s.sku
         WHERE {" AND ".join(conditions)}
    """, params)
