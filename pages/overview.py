"""Overview: headquarters' consolidated view of stock and orders across the regions one may see.

Filters (kept in the URL) apply to everything below them. The tiles and the data's age are
always drawn; each tab does its work only when open (`?view=` keeps it; not `tab`, which
is the Inventory page's, so the two pages never share a tab's state)."""

import streamlit as st

from components.cached_reads import hq_order_panels, hq_order_tiles, hq_stock, keep_rollup_fresh
from components.hq_filters_bar import filters_bar
from components.hq_orders import order_panels
from components.hq_stock import (
    by_region_and_category,
    data_as_of,
    hq_tiles,
    stock_by_region_chart,
    stock_by_region_table,
)
from components.location_map import by_location, location_map, locations_table
from components.low_stock_heatmap import low_stock_heatmap
from components.session import require_actor
from components.sku_drilldown import sku_drilldown

TABS = ["Stock", "Map", "Orders", "SKU drill-down"]

actor = require_actor("overview")
st.title("Overview")
scope = "every region" if actor.all_regions else ", ".join(actor.regions)
st.caption(f"Consolidated stock and orders across {scope}.")
keep_rollup_fresh()

filters = filters_bar(actor)
stock = hq_stock(actor, filters)  # cached a few seconds per scope and filters
order_tiles = hq_order_tiles(actor, filters)
data_as_of(stock, order_tiles)
if not stock["rows"] and not filters.any:
    st.info("No stock yet. Seed demo data with `python manage.py seed`.")
    st.stop()
hq_tiles(stock, order_tiles)

tab_stock, tab_map, tab_orders, tab_sku = st.tabs(
    TABS, key="view", bind="query-params",
    default="SKU drill-down" if "sku" in st.query_params else None)

if tab_stock.open:
    with tab_stock:
        table = by_region_and_category(stock["rows"])
        left, right = st.columns(2)
        with left:
            st.subheader("Stock by region and category")
            stock_by_region_chart(table)
        with right:
            st.subheader("Where stock runs short")
            low_stock_heatmap(stock["rows"])
        stock_by_region_table(table, filters)

if tab_map.open:
    with tab_map:
        st.subheader("Every location")
        places = by_location(stock["rows"])
        location_map(places)
        locations_table(places, filters)

if tab_orders.open:
    with tab_orders:
        order_panels(hq_order_panels(actor, filters), filters)

if tab_sku.open:
    with tab_sku:
        sku_drilldown(actor, filters)
