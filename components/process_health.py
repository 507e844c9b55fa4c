"""The long-running processes as their heartbeats show them, on any machine: a table of
instances and two charts (errors and retries per minute, the change stream's lag)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from queries.heartbeats import RELAY, STALE_AFTER_BEATS, ProcessHealth

SOURCE = (
    "Each process (relay, worker, simulator) records a heartbeat in the database every few "
    "seconds, wherever it runs, with counters it has kept since it started. Age is the time "
    f"since its last beat by the database's clock; after {STALE_AFTER_BEATS} missed beats it "
    "is not beating. Ops/s is the growth of its operations counter over about the last minute; "
    "errors and retries per minute are the growth of those counters summed over all processes "
    "(a restarted process counts again from zero, never backwards); lag is the relay's time "
    "from commit to the broker's acknowledgement of its latest batch, 0 when idle."
)


def relay_tile(health: ProcessHealth) -> tuple[str, str, str]:
    """The relay's state for the change stream's row of tiles, from its heartbeats: unlike a
    pid file, they tell from any machine whether a relay runs anywhere."""
    relays = [row for row in health.processes if row["process"] == RELAY]
    beating = sorted({row["host"] for row in relays if row["state"] == "beating"})
    if len(beating) == 1:
        value = f"beating on {beating[0]}"
    elif beating:
        value = f"beating on {len(beating)} hosts"
    else:
        value = "not beating" if relays else "no heartbeat yet"
    return ("Relay", value, "From the relay's heartbeats, wherever it runs (Processes below)")


def process_health_panel(health: ProcessHealth) -> None:
    if not health.ever_beaten:
        st.info("No process has sent a heartbeat in the last two hours. The relay, the worker "
                "and the simulator each send one every few seconds while they run "
                "(python manage.py up, python manage.py simulate).")
        return
    table = pd.DataFrame(health.processes)
    st.dataframe(
        table, hide_index=True, width="stretch",
        column_config={
            "started": st.column_config.DatetimeColumn("started", format="YYYY-MM-DD HH:mm:ss"),
            "last_beat_age_s": st.column_config.NumberColumn("last beat (s ago)", format="%.1f"),
            "ops_per_s": st.column_config.NumberColumn("ops/s", format="%.1f"),
            "errors": st.column_config.NumberColumn("errors", format="%d"),
            "retries": st.column_config.NumberColumn("retries", format="%d"),
        },
    )
    left, right = st.columns(2)
    with left:
        st.markdown("**Errors and retries per minute**")
        counts = pd.DataFrame(health.per_minute).melt(
            id_vars="minute", value_vars=["errors", "retries"], var_name="counter",
            value_name="per minute")
        figure = px.bar(counts, x="minute", y="per minute", color="counter", barmode="group")
        figure.update_layout(height=300, margin=dict(l=0, r=0, t=10, b=0), xaxis_title=None)
        st.plotly_chart(figure, width="stretch", key="ops_errors_retries")
    with right:
        st.markdown("**Change-stream lag, last hour**")
        if health.lag:
            figure = px.line(pd.DataFrame(health.lag), x="beat_at", y="lag_seconds",
                             color="instance", labels={"lag_seconds": "lag (s)"})
            figure.update_layout(height=300, margin=dict(l=0, r=0, t=10, b=0),
                                 xaxis_title=None, legend_title_text=None)
            st.plotly_chart(figure, width="stretch", key="ops_lag")
        else:
            st.caption("No relay has reported its lag in the last hour.")
    st.caption(SOURCE)
