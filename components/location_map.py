"""A map of every location: sized by units on hand, coloured by its stockout rate.

Drawn with plotly's geo projection and its base layers switched off, so plotly.js fetches no
outlines and no tiles: the points draw with no internet access, on a latitude/longitude grid."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from components.csv_download import table_with_csv
from components.hq_filters_bar import kind_label
from queries.hq_filters import HqFilters

PLACE = ["location_id", "name", "region", "country", "kind", "lat", "lon"]
FIGURES = ["bins", "on_hand", "available", "incoming", "out_bins", "low_bins"]


def by_location(rows: list[dict]) -> pd.DataFrame:
    """One row per location: its place, units and stockout rate (out_bins / bins)."""
    frame = pd.DataFrame(rows, columns=[*PLACE, *FIGURES])
    frame = frame.astype({name: "int64" for name in FIGURES})
    frame = frame.groupby(PLACE, as_index=False, dropna=False)[FIGURES].sum()
    frame["kind"] = frame["kind"].map(kind_label)
    frame["lat"] = frame["lat"].astype(float)
    frame["lon"] = frame["lon"].astype(float)
    frame["stockout_rate"] = (frame["out_bins"] / frame["bins"].where(frame["bins"] > 0)) \
        .fillna(0.0).round(4)
    return frame.sort_values(["region", "location_id"], ignore_index=True)


def location_map(frame: pd.DataFrame) -> None:
    placed = frame.dropna(subset=["lat", "lon"])
    if placed.empty:
        st.info("No location under these filters has a place on the map.")
        return
    figure = px.scatter_geo(
        placed, lat="lat", lon="lon", size=placed["on_hand"].clip(lower=0) + 1, size_max=28,
        color="stockout_rate", color_continuous_scale="RdYlGn_r", range_color=(0.0, 0.5),
        hover_name="name",
        hover_data={"kind": True, "region": True, "on_hand": ":,", "stockout_rate": ":.0%",
                    "lat": False, "lon": False},
        labels={"stockout_rate": "stockout rate", "on_hand": "units on hand"},
    )
    figure.update_geos(showland=False, showocean=False, showlakes=False, showrivers=False,
                       showcountries=False, showcoastlines=False, showsubunits=False,
                       showframe=True, projection_type="natural earth",
                       lataxis_showgrid=True, lonaxis_showgrid=True,
                       lataxis_dtick=15, lonaxis_dtick=30, fitbounds="locations")
    figure.update_layout(height=460, margin={"l": 0, "r": 0, "t": 10, "b": 0})
    figure.update_coloraxes(colorbar_tickformat=".0%")
    st.plotly_chart(figure, width="stretch", key="hq_location_map")
    missing = len(frame) - len(placed)
    st.caption("Each point is a location, sized by units on hand and coloured by the share of "
               "its bins with nothing available."
               + (f" {missing} location(s) without coordinates are left off." if missing else ""))


def locations_table(frame: pd.DataFrame, filters: HqFilters) -> None:
    shown = frame[["location_id", "name", "kind", "region", "country", "on_hand", "available",
                   "incoming", "bins", "low_bins", "out_bins", "stockout_rate"]]
    table_with_csv(shown, "stock-by-location", filters, key="csv_stock_by_location",
                   column_config={"stockout_rate": st.column_config.NumberColumn(
                       "stockout rate", format="percent")})
