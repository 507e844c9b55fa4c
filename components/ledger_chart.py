"""The ledger history of one (location, sku) as a step chart, with an as-of marker."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from queries.vocabulary import movement_label, reason_label

SERIES = (
    ("on_hand", "On hand", "#1f77b4"),
    ("available", "Available", "#2ca02c"),
    ("reserved", "Reserved", "#ff7f0e"),
    ("incoming", "Incoming", "#9467bd"),
)
LEDGER_COLUMNS = {
    "created_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "kind": st.column_config.TextColumn("Kind"),
    "reason": st.column_config.TextColumn("Reason"),
    "delta_on_hand": st.column_config.NumberColumn("Δ on hand", format="%+d"),
    "delta_reserved": st.column_config.NumberColumn("Δ reserved", format="%+d"),
    "delta_incoming": st.column_config.NumberColumn("Δ incoming", format="%+d"),
    "on_hand": st.column_config.NumberColumn("On hand after", format="localized"),
    "available": st.column_config.NumberColumn("Available after", format="localized"),
    "incoming": st.column_config.NumberColumn("Incoming after", format="localized"),
    "actor": st.column_config.TextColumn("Who"),
    "ref_type": st.column_config.TextColumn("Ref"),
    "ref_id": st.column_config.TextColumn("Reference"),
    "note": st.column_config.TextColumn("Note"),
}


def readable(history: list[dict]) -> list[dict]:
    """The rows with kind and reason as people read them (queries.vocabulary's labels; an old
    seed spelling shows the label of what it means)."""
    return [row | {"kind": movement_label(row["kind"], row.get("reason")),
                   "reason": reason_label(row["kind"], row.get("reason"))}
            for row in history]


def ledger_figure(history: list[dict], as_of: datetime | None = None,
                  reorder_point: int | None = None) -> go.Figure:
    frame = pd.DataFrame(readable(history))
    # The last balance holds until now (or the as-of moment, if later): extend the steps.
    end = max(datetime.now(UTC), as_of) if as_of is not None else datetime.now(UTC)
    if end > frame["created_at"].iloc[-1]:
        tail = frame.iloc[[-1]].copy()
        tail["created_at"], tail["kind"], tail["actor"] = end, "now", ""
        frame = pd.concat([frame, tail], ignore_index=True)
    figure = go.Figure()
    for column, label, color in SERIES:
        figure.add_trace(go.Scatter(
            x=frame["created_at"], y=frame[column], name=label, mode="lines+markers",
            line={"shape": "hv", "color": color}, marker={"size": 5},
            customdata=frame[["kind", "actor"]],
            hovertemplate=f"{label}: %{{y}}<br>%{{customdata[0]}} by %{{customdata[1]}}"
                          "<extra></extra>",
        ))
    if reorder_point is not None:
        figure.add_hline(y=reorder_point, line_dash="dot", line_color="#d62728",
                         annotation_text="reorder point", annotation_position="bottom right")
    if as_of is not None:
        figure.add_vline(x=as_of, line_dash="dash", line_color="#7f7f7f")
        figure.add_annotation(x=as_of, y=1, yref="paper", text="as of", showarrow=False,
                              yanchor="bottom")
    figure.update_layout(height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                         legend={"orientation": "h", "y": 1.12}, hovermode="x unified",
                         xaxis_title="time (UTC)", yaxis_title="units")
    return figure


def ledger_chart(history: list[dict], *, key: str, as_of: datetime | None = None,
                 reorder_point: int | None = None) -> None:
    if not history:
        st.info("No ledger rows for this SKU here yet.")
        return
    st.plotly_chart(ledger_figure(history, as_of, reorder_point), key=key)


def ledger_table(history: list[dict], *, key: str) -> None:
    frame = pd.DataFrame(list(reversed(readable(history))))  # newest first
    if frame.empty:
        return
    columns = [c for c in LEDGER_COLUMNS if c in frame.columns]
    st.dataframe(frame[columns], column_config=LEDGER_COLUMNS, hide_index=True, key=key)
