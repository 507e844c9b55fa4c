"""The live view of the change stream: ticker, changes per second, lag, resolved watermark.

One ChangeTail per process (st.cache_resource) reads the topics in a background thread; the
fragment below re-renders from its snapshot every two seconds. `live_summary` holds all the
logic and is a plain function, so it can be tested without a browser timer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
import plotly.express as px
import streamlit as st

from changefeed.config import bootstrap_servers, topic_prefix
from changefeed.tail import ChangeEvent, ChangeTail, TailSnapshot

# Columns that change with every write and say nothing by themselves.
NOISE_COLUMNS = {"version", "updated_at", "home_region"}
STOCKOUT_SEEN_KEY = "live_stockouts_seen"


@dataclass(frozen=True)
class LiveSummary:
    status: str
    ticker: list[dict]               # newest first: table, key, change, age
    rates: pd.DataFrame              # second (datetime), table, changes — last `window` seconds
    rate_by_table: dict[str, float]  # mean changes per second over the window
    lag_seconds: float | None
    watermark_age_seconds: float | None
    partitions_without_resolved: int
    received: int
    duplicates_dropped: int


def _short(value) -> str:
    text = "null" if value is None else str(value)
    return text if len(text) <= 24 else text[:21] + "…"


def describe_change(event: ChangeEvent) -> str:
    """What changed, in one line: 'on_hand 100 → 99, reserved 0 → 1'."""
    if event.after is None:
        return "deleted"
    if event.before is None:
        shown = [f"{k} {_short(v)}" for k, v in event.after.items() if k not in NOISE_COLUMNS]
        return "new: " + ", ".join(shown[:6])
    changed = [f"{k} {_short(event.before.get(k))} → {_short(v)}"
               for k, v in event.after.items()
               if event.before.get(k) != v and k not in NOISE_COLUMNS]
    return ", ".join(changed) if changed else "touched (no visible change)"


def key_text(event: ChangeEvent) -> str:
    """The row's key without a REGIONAL BY ROW home region in front (the ticker shows the
    region-free identifier whichever source wrote the message)."""
    return " / ".join(str(part) for part in event.row_key)


def live_summary(snapshot: TailSnapshot, now: float, ticker_rows: int = 30,
                 window_seconds: int = 60) -> LiveSummary:
    ticker = [
        {"table": e.table, "key": key_text(e), "change": describe_change(e),
         "age_s": round(max(0.0, now - e.commit_seconds), 1)}
        for e in snapshot.recent[:ticker_rows]
    ]
    horizon = int(now) - window_seconds
    rows = [r for r in snapshot.rates if horizon < r["second"] <= int(now)]
    rates = pd.DataFrame(rows, columns=["second", "table", "changes"])
    if not rates.empty:
        rates["second"] = pd.to_datetime(rates["second"], unit="s")
    rate_by_table = {
        table: round(sum(r["changes"] for r in rows if r["table"] == table) / window_seconds, 2)
        for table in sorted({r["table"] for r in rows})
    }
    return LiveSummary(
        status=snapshot.status, ticker=ticker, rates=rates, rate_by_table=rate_by_table,
        lag_seconds=snapshot.lag_seconds(now), watermark_age_seconds=snapshot.watermark_age_seconds(now),
        partitions_without_resolved=snapshot.partitions_without_resolved,
        received=snapshot.received, duplicates_dropped=snapshot.duplicates_dropped,
    )


def new_stockouts(snapshot: TailSnapshot, seen_seq: int | None) -> tuple[list[ChangeEvent], int]:
    """Stockouts after seen_seq, and the new seen_seq. The first look only sets the baseline,
    so opening the page does not replay old toasts."""
    latest = max((e.seq for e in snapshot.stockouts), default=0)
    if seen_seq is None:
        return [], latest
    return [e for e in snapshot.stockouts if e.seq > seen_seq], max(latest, seen_seq)


def stockout_message(event: ChangeEvent) -> str:
    after = event.after or {}
    return f"{after.get('sku', '?')} is out of stock at {after.get('location_id', '?')}."


@st.cache_resource(show_spinner=False, on_release=lambda tail: tail.stop(1.0))
def shared_tail(bootstrap: str, prefix: str) -> ChangeTail:
    """The one tail of this process, shared by every session."""
    return ChangeTail(bootstrap, topic_prefix=prefix).start()


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.0f} min"


def render_live(summary: LiveSummary) -> None:
    if summary.status == "connecting":
        st.info("Connecting to the change stream…")
    elif summary.status != "live":
        st.warning(summary.status.capitalize())
    tiles = [
        ("Messages read", f"{summary.received:,}", "Changes and resolved markers read since the app started"),
        ("Lag", _seconds(summary.lag_seconds), "Now minus the commit time of the newest change"),
        ("Resolved watermark", _seconds(summary.watermark_age_seconds) + " ago",
         "Every change committed before this point has arrived (minimum over partitions)"),
        ("Duplicates dropped", f"{summary.duplicates_dropped:,}",
         "Repeats of a (topic, key, updated) already seen"),
    ]
    for column, (label, value, help_text) in zip(st.columns(len(tiles)), tiles, strict=True):
        column.metric(label, value, help=help_text, border=True)
    if summary.partitions_without_resolved:
        st.caption(f"{summary.partitions_without_resolved} partition(s) have not sent a "
                   "resolved marker yet.")
    left, right = st.columns([3, 2])
    with left:
        st.subheader("Latest changes")
        if summary.ticker:
            st.dataframe(pd.DataFrame(summary.ticker), hide_index=True, width="stretch",
                         column_config={"age_s": st.column_config.NumberColumn("age (s)")})
        else:
            st.caption("No changes yet. They appear here as soon as they are committed.")
    with right:
        st.subheader("Changes per second")
        if summary.rates.empty:
            st.caption("Nothing in the last minute.")
        else:
            figure = px.bar(summary.rates, x="second", y="changes", color="table")
            figure.update_layout(height=320, margin=dict(l=0, r=0, t=10, b=0), xaxis_title=None)
            st.plotly_chart(figure, width="stretch")
            st.caption(" · ".join(f"{t}: {r:g}/s" for t, r in summary.rate_by_table.items()))


@st.fragment(run_every="2s")
def live_panel() -> None:
    """The part of the Live page that refreshes itself."""
    bootstrap = bootstrap_servers()
    if not bootstrap:
        st.info("The change stream is not configured: set KAFKA_BOOTSTRAP_SERVERS "
                '(`eval "$(python manage.py env)"`) and start the relay with `python manage.py up`.')
        return
    snapshot = shared_tail(bootstrap, topic_prefix()).snapshot()
    render_live(live_summary(snapshot, time.time()))
    fresh, seen = new_stockouts(snapshot, st.session_state.get(STOCKOUT_SEEN_KEY))
    st.session_state[STOCKOUT_SEEN_KEY] = seen
    for event in fresh[-5:]:
        st.toast(stockout_message(event), icon=":material/warning:")
