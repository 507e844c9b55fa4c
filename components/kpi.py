"""KPI tiles: a row of st.metric with thousands separators."""

from __future__ import annotations

import streamlit as st


def format_number(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, float) or hasattr(value, "as_integer_ratio") and not isinstance(value, int):
        return f"{float(value):,.0f}"
    return f"{value:,}"


def compact_number(value) -> str:
    """A large amount in a tile's width: 41,513,204.18 -> "41.5 M" (the exact figure is in the
    tables and CSVs)."""
    if value is None:
        return "—"
    number = float(value)
    for threshold, unit, suffix in ((1e9, 1e9, " B"), (1e6, 1e6, " M"), (1e4, 1e3, " k")):
        if abs(number) >= threshold:
            return f"{number / unit:,.1f}{suffix}"
    return f"{number:,.0f}"


def kpi_row(tiles: list[tuple]) -> None:
    """tiles: (label, value, help), or (label, value, help, delta) for a tile with a change."""
    for column, (label, value, help_text, *delta) in zip(st.columns(len(tiles)), tiles,
                                                         strict=True):
        column.metric(label, format_number(value), delta=delta[0] if delta else None,
                      help=help_text, border=True)
