"""What a refused command must leave alone: every table of the schema, and the stock figures.

Counting every table (not the one a test expects to be written) is what makes "nothing was
written" mean nothing: a refusal that still wrote an idempotency key, an event or a ledger row
shows up here.
"""

from __future__ import annotations

from queries.db import fetch_all, fetch_one

_TABLES = """
    SELECT table_name
      FROM information_schema.tables
     WHERE table_schema = 'public'
       AND table_type = 'BASE TABLE'
     ORDER BY table_name
"""


def every_table() -> dict:
    """Row count of every table, plus the stock figures and version sums an UPDATE changes."""
    counts = {}
    for row in fetch_all(_TABLES):
        table = row["table_name"]
        counts[table] = fetch_one(f'SELECT count(*) AS n FROM "{table}"')["n"]
    counts.update(fetch_one("""
        SELECT (SELECT coalesce(sum(on_hand), 0) FROM stock) AS stock_on_hand,
               (SELECT coalesce(sum(reserved), 0) FROM stock) AS stock_reserved,
               (SELECT coalesce(sum(incoming), 0) FROM stock) AS stock_incoming,
               (SELECT coalesce(sum(version), 0) FROM stock) AS stock_versions,
               (SELECT coalesce(sum(version), 0) FROM orders) AS order_versions,
               (SELECT coalesce(sum(qty + reserved_qty + returned_qty), 0)
                  FROM order_lines) AS line_units,
               (SELECT coalesce(sum(version), 0) FROM transfers) AS transfer_versions
    """))
    return counts


def reserved_by_bin() -> dict[tuple[str, str], int]:
    """{(location, sku): reserved} of every stock row holding something."""
    rows = fetch_all("""
        SELECT location_id, sku, reserved
          FROM stock
         WHERE reserved <> 0
         ORDER BY location_id, sku
    """)
    return {(row["location_id"], row["sku"]): row["reserved"] for row in rows}


def on_hand_by_bin() -> dict[tuple[str, str], int]:
    rows = fetch_all("""
        SELECT location_id, sku, on_hand
          FROM stock
         ORDER BY location_id, sku
    """)
    return {(row["location_id"], row["sku"]): row["on_hand"] for row in rows}
