"""Order KPI tiles and charts: the status funnel, late orders, orders per hour."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components import cached_reads
from components.kpi import kpi_row
from queries.actor import Actor
from queries.order_states import FUNNEL, label, reached_counts
from queries.vocabulary import EventKind, OrderStatus


def load_kpis(actor: Actor) -> dict:
    """Funnel counts, late orders and orders per hour, cached a few seconds per scope
    (components.cached_reads)."""
    return cached_reads.order_kpis(actor)


def funnel_tiles(counts: dict[str, int], late: int) -> None:
    kpi_row([
        ("Pending", counts.get(OrderStatus.PENDING, 0), "Placed, waiting for stock (back-ordered)"),
        ("Allocated", counts.get(OrderStatus.ALLOCATED, 0), "Stock reserved, waiting to be picked"),
        ("Picking", counts.get(OrderStatus.PICKING, 0), "Being picked in the warehouse"),
        ("On hold", counts.get(OrderStatus.ON_HOLD, 0), "Paused by support"),
        ("Shipped", counts.get(OrderStatus.SHIPPED, 0), "On the way to the customer"),
        ("Late", late, "Past the promised date and not shipped yet"),
    ])


def funnel_chart(counts: dict[str, int]) -> None:
    """How far orders got: placed, then allocated, picked, shipped, delivered (or later)."""
    reached = reached_counts(counts)
    figure = go.Figure(go.Funnel(
        y=[EventKind.PLACED.label if status == OrderStatus.PENDING
           else label(status).capitalize() for status in FUNNEL],
        x=[reached[status] for status in FUNNEL],
        textinfo="value+percent initial",
    ))
    figure.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=260)
    st.plotly_chart(figure, width="stretch")


def per_hour_chart(rows: list[dict]) -> None:
    if not rows:
        st.caption("No orders in the last 24 hours.")
        return
    frame = pd.DataFrame(rows)
    figure = go.Figure(go.Bar(x=frame["hour"], y=frame["orders"]))
    figure.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=260,
                         yaxis_title="orders per hour")
    st.plotly_chart(figure, width="stretch")
