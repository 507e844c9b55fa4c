"""One SKU's ledger at a location: its stock as of a chosen minute, the history chart and table."""

from __future__ import annotations

from datetime import UTC, date, datetime

import streamlit as st

from components.kpi import kpi_row
from components.ledger_chart import ledger_chart, ledger_table
from queries import stock
from queries.actor import Actor


def ledger_panel(actor: Actor, location_id: str, stocked: list[dict]) -> None:
    if not stocked:
        st.info("No stock here yet, so no ledger either.")
        return
    by_sku = {row["sku"]: row for row in stocked}
    sku = st.selectbox("SKU", list(by_sku), key="ledger_sku",
                       format_func=lambda s: f"{s} · {by_sku[s]['name']}")
    as_of = as_of_inputs()
    then = stock.stock_as_of(actor, location_id, sku, as_of)
    st.caption(f"Rebuilt from {then['movements']:,} ledger rows up to {as_of:%Y-%m-%d %H:%M} UTC.")
    kpi_row([
        ("On hand then", then["on_hand"], None),
        ("Available then", then["available"], None),
        ("Reserved then", then["reserved"], None),
        ("Incoming then", then["incoming"], None),
    ])
    history = stock.ledger_with_running_balance(actor, location_id, sku)
    ledger_chart(history, key="ledger_chart", as_of=as_of,
                 reorder_point=by_sku[sku]["reorder_point"])
    ledger_table(history, key="ledger_table")


def as_of_inputs(prefix: str = "asof") -> datetime:
    """The moment chosen with the date and time inputs (UTC); "Now" resets them. `prefix`
    names the widgets' keys, so two pages keep their own choice."""
    date_key, time_key, now_key = f"{prefix}_date", f"{prefix}_time", f"{prefix}_now"
    if date_key not in st.session_state or st.session_state.pop(now_key, False):
        now = datetime.now(UTC)
        st.session_state[date_key] = now.date()
        st.session_state[time_key] = now.time().replace(second=0, microsecond=0)
    date_col, time_col, now_col = st.columns([2, 2, 1], vertical_alignment="bottom")
    as_of_date = date_col.date_input("As of date (UTC)", key=date_key,
                                     min_value=date(2000, 1, 1))
    as_of_time = time_col.time_input("As of time (UTC)", key=time_key, step=60)
    if now_col.button("Now", key=f"{prefix}_reset"):
        st.session_state[now_key] = True
        st.rerun()
    # The whole chosen minute counts: "as of 10:42" includes 10:42:59.
    return datetime.combine(as_of_date, as_of_time.replace(second=59, microsecond=999999),
                            tzinfo=UTC)
