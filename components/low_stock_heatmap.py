"""Where stock runs short: share of bins at or below their reorder point, region × category."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st


def low_stock_heatmap(rows: list[dict]) -> None:
    if not rows:
        st.info("No stock yet.")
        return
    frame = pd.DataFrame(rows)
    frame["share"] = frame["low"].astype(float) / frame["bins"].astype(float)
    share = frame.pivot(index="category", columns="region", values="share").fillna(0.0)
    figure = px.imshow(
        # A fixed scale up to a quarter of bins low, so a calm day does not look alarming.
        share, color_continuous_scale="Reds", zmin=0.0, zmax=max(0.25, float(share.max().max())),
        aspect="auto", text_auto=".0%",
        labels={"color": "bins low", "x": "region", "y": "category"},
    )
    figure.update_coloraxes(colorbar_tickformat=".0%")
    st.plotly_chart(figure, width="stretch", key="low_stock_heatmap")
    worst = frame.sort_values(["share", "out"], ascending=False).iloc[0]
    st.caption(f"Share of location × SKU bins at or below their reorder point. Worst: "
               f"{worst['category']} in {worst['region']}, {int(worst['low']):,} of "
               f"{int(worst['bins']):,} bins low, {int(worst['out']):,} out.")
