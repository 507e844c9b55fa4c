"""Overview: global stock and order state across regions."""

import pandas as pd
import plotly.express as px
import streamlit as st

from components.cached_reads import overview_figures
from components.kpi import kpi_row
from components.low_stock_heatmap import low_stock_heatmap
from components.session import require_actor
from queries.order_states import NOT_SHIPPED

actor = require_actor("overview")
st.title("Overview")
scope = "every region" if actor.all_regions else ", ".join(actor.regions)
st.caption(f"Consolidated stock and orders across {scope}.")

figures = overview_figures(actor)  # cached a few seconds for the actor's scope
stock = pd.DataFrame(figures["stock"])
orders = pd.DataFrame(figures["orders"])

if stock.empty:
    st.info("No stock yet. Seed demo data with `python manage.py seed`.")
    st.stop()

open_statuses = [str(status) for status in NOT_SHIPPED]
open_orders = int(orders[orders.status.isin(open_statuses)].orders.sum()) if not orders.empty else 0
kpi_row([
    ("Units on hand", int(stock.on_hand.sum()), "All locations, all regions"),
    ("Available", int(stock.available.sum()), "On hand minus reserved"),
    ("In transit", int(stock.incoming.sum()), "Incoming on open transfers"),
    ("Stockouts", int(stock.stockouts.sum()), "Location × SKU with nothing available"),
    ("Open orders", open_orders, "Pending, allocated, picking or on hold"),
])

left, right = st.columns(2)
with left:
    st.subheader("Stock by region")
    long = stock.melt(id_vars="region", value_vars=["available", "reserved", "incoming"],
                      var_name="state", value_name="units")
    long["units"] = long["units"].astype(float)
    st.plotly_chart(px.bar(long, x="region", y="units", color="state", barmode="stack"),
                    width="stretch")
with right:
    st.subheader("Orders by status")
    if orders.empty:
        st.info("No orders yet.")
    else:
        st.plotly_chart(px.bar(orders, x="status", y="orders", color="region"),
                        width="stretch")

daily = pd.DataFrame(figures["daily"])
if not daily.empty:
    st.subheader("Orders per day")
    st.plotly_chart(px.line(daily, x="day", y="orders", color="region"), width="stretch")

st.subheader("Where stock runs short")
low_stock_heatmap(figures["low_stock"])

st.subheader("Regions")
st.dataframe(stock, hide_index=True, width="stretch")
