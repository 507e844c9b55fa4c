"""Headquarters' stock: when the figures are from, the tiles, and stock by region and category."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import plotly.express as px
import streamlit as st

from components.csv_download import table_with_csv
from components.kpi import compact_number, kpi_row
from queries.hq_filters import HqFilters
from queries.overview import days_of_cover
from queries.rollups import DEMAND_DAYS, refresh_every

SUMMED = ("bins", "on_hand", "reserved", "available", "incoming", "stock_value", "out_bins",
          "low_bins", "sold_28d")


def totals(rows: list[dict]) -> dict:
    """Each figure summed over the rows of stock per location × category."""
    return {name: sum(row[name] for row in rows) for name in SUMMED}


def _when(moment: datetime | None) -> str:
    return "—" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def data_as_of(stock: dict, order_tiles: dict) -> None:
    """Which moment each figure describes."""
    if stock["live"]:
        stock_part = (f"stock live at {_when(stock['as_of'])} (a product search reads stock "
                      "directly)")
    else:
        stock_part = (f"stock as of {_when(stock['as_of'])} (headquarters' rollup, refreshed "
                      f"every {refresh_every():.0f} s)")
    st.caption(f"**Data as of** — {stock_part}; orders as of {_when(order_tiles['read_at'])}.")


def cover_text(available, sold_in_window) -> str:
    cover = days_of_cover(available, sold_in_window)
    return "—" if cover is None else f"{cover:,.1f}"


def hq_tiles(stock: dict, order_tiles: dict) -> None:
    total = totals(stock["rows"])
    today, last_week = order_tiles["today"], order_tiles["same_day_last_week"]
    kpi_row([
        ("Units on hand", total["on_hand"], "Every location under the filters"),
        ("Stock value", compact_number(total["stock_value"]),
         "Units on hand at unit cost (exact figures in the tables and their CSV)"),
        ("Available", total["available"], "On hand minus reserved for orders"),
        ("In transit", total["incoming"], "Incoming on open transfers"),
        ("Days of cover", cover_text(total["available"], total["sold_28d"]),
         f"Available ÷ average daily units sold over the last {DEMAND_DAYS} days "
         "(— when nothing sold)"),
    ])
    kpi_row([
        ("SKUs out somewhere", stock["out_somewhere"],
         "SKUs with nothing available in at least one location"),
        ("Low-stock positions", total["low_bins"],
         "Location × SKU bins at or below their reorder point"),
        ("Open orders", order_tiles["open_orders"], "Pending, allocated, picking or on hold"),
        ("Late orders", order_tiles["late_orders"], "Open and past their promised time"),
        ("Orders today", today, "Placed since midnight UTC; the change is against the same "
         f"weekday last week up to this time of day ({last_week:,})", today - last_week),
    ])


def by_region_and_category(rows: list[dict]) -> pd.DataFrame:
    """The table of stock per region × category, with days of cover."""
    columns = ["region", "category", *SUMMED]
    frame = pd.DataFrame(rows, columns=[*columns, "location_id"])[columns]
    frame = frame.groupby(["region", "category"], as_index=False).sum()
    frame["stock_value"] = frame["stock_value"].astype(float).round(2)
    frame["cover_days"] = [days_of_cover(a, s) for a, s in zip(frame["available"],
                                                               frame["sold_28d"], strict=True)]
    return frame[["region", "category", "on_hand", "available", "reserved", "incoming",
                  "stock_value", "bins", "low_bins", "out_bins", "sold_28d", "cover_days"]]


def stock_by_region_chart(frame: pd.DataFrame) -> None:
    figure = px.bar(frame, x="region", y="on_hand", color="category", barmode="stack",
                    labels={"on_hand": "units on hand"})
    figure.update_layout(height=360, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    st.plotly_chart(figure, width="stretch", key="hq_stock_by_region")


def stock_by_region_table(frame: pd.DataFrame, filters: HqFilters) -> None:
    table_with_csv(frame, "stock-by-region-and-category", filters, key="csv_stock_by_region",
                   column_config={
                       "stock_value": st.column_config.NumberColumn("stock value",
                                                                    format="localized"),
                       "sold_28d": st.column_config.NumberColumn(f"sold {DEMAND_DAYS} d"),
                       "cover_days": st.column_config.NumberColumn("cover (days)"),
                   })
