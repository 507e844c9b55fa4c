"""What a refused command must leave alone: every table of the schema, and the stock figures.

Counting every table (not the one a test expects to be written) is what makes "nothing was
written" mean nothing: a refusal that still wrote an idempotency key, an event or a ledger row
shows up here.
"""

from __future__ import annotations

from queries.db import fetch_all
from tests.table_counts import table_state


def every_table() -> dict:
    """Row count and digest of every table (tests/table_counts.py): an UPDATE that keeps the
    count, such as a stock row's reserved or an order's version, shows too."""
    return table_state()


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
