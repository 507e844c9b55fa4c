"""Where stock runs short: share of bins at or below their reorder point, region × category."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st


def shortage_by_region_and_category(rows: list[dict]) -> pd.DataFrame:
    """region, category, bins, low_bins, out_bins, share (low_bins / bins), from rows of
    stock per location × category (overview.stock_groups)."""
    frame = pd.DataFrame(rows, columns=["region", "category", "bins", "low_bins", "out_bins"])
    frame = frame.astype({"bins": "int64", "low_bins": "int64", "out_bins": "int64"})
    cells = frame.groupby(["region", "category"], as_index=False)[
        ["bins", "low_bins", "out_bins"]].sum()
    cells["share"] = cells["low_bins"] / cells["bins"].where(cells["bins"] > 0)
    return cells.fillna({"share": 0.0})


def worst_cell_sentence(cells: pd.DataFrame) -> str:
    """The cell with the largest share of low bins (then the most bins out), in words."""
    worst = cells.sort_values(["share", "out_bins", "region", "category"],
                              ascending=[False, False, True, True]).iloc[0]
    return (f"Worst: {worst['category']} in {worst['region']}, {int(worst['low_bins']):,} of "
            f"{int(worst['bins']):,} bins low, {int(worst['out_bins']):,} out.")


def low_stock_heatmap(rows: list[dict]) -> None:
    if not rows:
        st.info("No stock under these filters.")
        return
    cells = shortage_by_region_and_category(rows)
    share = cells.pivot(index="category", columns="region", values="share").fillna(0.0)
    figure = px.imshow(
        # A fixed scale up to a quarter of bins low, so a calm day does not look alarming.
        share, color_continuous_scale="Reds", zmin=0.0, zmax=max(0.25, float(share.max().max())),
        aspect="auto", text_auto=".0%",
        labels={"color": "bins low", "x": "region", "y": "category"},
    )
    figure.update_coloraxes(colorbar_tickformat=".0%")
    st.plotly_chart(figure, width="stretch", key="low_stock_heatmap")
    st.caption("Share of location × SKU bins at or below their reorder point. "
               + worst_cell_sentence(cells))
