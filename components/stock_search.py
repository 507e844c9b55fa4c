"""The Stock tab: a location's stock table, narrowed by a search box and an only-low toggle."""

from __future__ import annotations

import streamlit as st

from components.stock_table import stock_table
from queries import stock
from queries.actor import Actor


def stock_search_panel(actor: Actor, location_id: str, sku_count: int) -> None:
    """The location's stock (up to STOCK_ROWS_LIMIT rows), narrowed by the search and toggle;
    read fresh on every rerun, so an adjustment made a moment ago shows."""
    search_col, low_col = st.columns([4, 1], vertical_alignment="bottom")
    search = search_col.text_input("Search SKU or product name", key="inv_search",
                                   placeholder="e.g. SKU-00042 or a product name")
    only_low = low_col.toggle("Only low or out", key="inv_only_low")
    shown = stock.stock_at_location(actor, location_id, search, only_low=only_low)
    if len(shown) >= stock.STOCK_ROWS_LIMIT:
        st.caption(f"Showing the first {len(shown):,} SKUs of {sku_count:,}; search to "
                   "narrow the list.")
    stock_table(shown, key="inv_stock_table", height=600,
                empty_message="Nothing matches." if search else "No stock here yet.")
