"""Order state across regions: how far the last week's orders got, orders per hour, late ones."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from components.csv_download import table_with_csv
from queries.hq_filters import HqFilters
from queries.order_states import FUNNEL, label, reached_counts
from queries.overview import FUNNEL_DAYS, HOURLY_HOURS, LATE_AGES
from queries.vocabulary import EventKind, OrderStatus

_MARGIN = {"l": 10, "r": 10, "t": 10, "b": 10}


def _stage(status: str) -> str:
    return EventKind.PLACED.label if status == OrderStatus.PENDING else label(status).capitalize()


def funnel_chart(rows: list[dict]) -> None:
    """Per region: how many of the last FUNNEL_DAYS days' orders reached each stage."""
    if not rows:
        st.caption(f"No orders placed in the last {FUNNEL_DAYS} days.")
        return
    figure = go.Figure()
    for region in sorted({row["region"] for row in rows}):
        counts = {row["status"]: row["orders"] for row in rows if row["region"] == region}
        reached = reached_counts(counts)
        figure.add_trace(go.Funnel(name=region, y=[_stage(s) for s in FUNNEL],
                                   x=[reached[s] for s in FUNNEL], textinfo="value"))
    figure.update_layout(height=320, margin=_MARGIN)
    st.plotly_chart(figure, width="stretch", key="hq_funnel")


def status_table(rows: list[dict]) -> pd.DataFrame:
    """Orders of the last FUNNEL_DAYS days by region (rows) and status now (columns)."""
    frame = pd.DataFrame(rows, columns=["region", "status", "orders"])
    table = frame.pivot_table(index="region", columns="status", values="orders", aggfunc="sum",
                              fill_value=0)
    order = [s for s in OrderStatus if s in table.columns]
    return table[order].rename(columns=lambda s: label(s)).reset_index().rename_axis(
        columns=None)


def per_hour_chart(rows: list[dict]) -> None:
    if not rows:
        st.caption(f"No orders in the last {HOURLY_HOURS} hours.")
        return
    figure = px.line(pd.DataFrame(rows), x="hour", y="orders", color="region", markers=True,
                     labels={"hour": "hour (UTC)", "orders": "orders placed"})
    figure.update_layout(height=320, margin=_MARGIN)
    st.plotly_chart(figure, width="stretch", key="hq_per_hour")


def late_chart(rows: list[dict]) -> None:
    if not rows:
        st.caption("No order is late.")
        return
    ages = [age for age, _ in LATE_AGES] + ["over 3 days"]
    figure = px.bar(pd.DataFrame(rows), x="region", y="orders", color="late_by",
                    barmode="stack", category_orders={"late_by": ages},
                    labels={"late_by": "late by", "orders": "late orders"})
    figure.update_layout(height=320, margin=_MARGIN)
    st.plotly_chart(figure, width="stretch", key="hq_late")


def order_panels(panels: dict, filters: HqFilters) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader(f"Orders of the last {FUNNEL_DAYS} days, by how far they got")
        funnel_chart(panels["funnel"])
    with right:
        st.subheader("Late orders by region and age")
        late_chart(panels["late"])
    st.subheader(f"Orders per hour, last {HOURLY_HOURS} hours")
    per_hour_chart(panels["hourly"])
    if panels["funnel"]:
        st.subheader(f"Orders of the last {FUNNEL_DAYS} days by region and status")
        table_with_csv(status_table(panels["funnel"]), "orders-by-region-and-status", filters,
                       key="csv_orders_by_status")
