"""Inventory: stock at one location, adjustments, counts, transfers and the ledger.

Only the open tab runs: the tabs are bound to the URL (`?tab=Ledger`), so a tab can be
bookmarked, and switching tabs reruns the page with that tab's body alone."""

import streamlit as st

from components.bulk_count import bulk_count_panel
from components.cached_reads import inventory_locations
from components.kpi import kpi_row
from components.ledger_panel import ledger_panel
from components.replenishment import suggestions_panel
from components.session import require_actor
from components.stock_forms import adjust_form, count_form
from components.stock_search import stock_search_panel
from components.transfer_forms import open_transfers_panel, ship_transfer_form
from queries import stock

TABS = ["Stock", "Adjust & count", "Bulk count", "Transfers", "Suggestions", "Ledger"]

actor = require_actor("inventory")
st.title("Inventory")

locations = inventory_locations(actor)
if not locations:
    st.info("No active locations in your regions yet.")
    st.stop()
labels = {row["id"]: f"{row['id']} · {row['name']} ({row['region']})" for row in locations}
location_id = st.selectbox("Location", list(labels), format_func=labels.get, key="inv_location")

totals = stock.location_totals(actor, location_id)
kpi_row([
    ("SKUs", totals["skus"], "Products stocked here"),
    ("On hand", totals["on_hand"], None),
    ("Available", totals["available"], "On hand minus reserved for orders"),
    ("Incoming", totals["incoming"], "On its way here in open transfers"),
    ("Low or out", totals["low_or_out"], "Available at or below the reorder point"),
    ("Stockouts", totals["stockouts"], "Nothing available"),
])

tab_stock, tab_adjust, tab_bulk, tab_transfers, tab_suggestions, tab_ledger = st.tabs(
    TABS, key="tab", bind="query-params")

if tab_stock.open:
    with tab_stock:
        stock_search_panel(actor, location_id, totals["skus"])

if tab_adjust.open:
    with tab_adjust:
        left, right = st.columns(2)
        with left:
            adjust_form(actor, location_id)
        with right:
            count_form(actor, location_id)

if tab_bulk.open:
    with tab_bulk:
        bulk_count_panel(actor, location_id, stock.stock_at_location(actor, location_id))

if tab_transfers.open:
    with tab_transfers:
        create_col, open_col = st.columns([1, 2])
        with create_col:
            ship_transfer_form(actor, location_id)
        with open_col:
            open_transfers_panel(actor, location_id)

if tab_suggestions.open:
    with tab_suggestions:
        everywhere = st.toggle("All my locations", key="inv_suggestions_everywhere",
                               help="Off: only suggestions for the location picked above.")
        suggestions_panel(actor, None if everywhere else location_id)

if tab_ledger.open:
    with tab_ledger:
        ledger_panel(actor, location_id, stock.stock_at_location(actor, location_id))
