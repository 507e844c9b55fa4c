"""Orders: find an order, read its history, and fix it (support and admin).

Only the open tab of an order runs, and it is kept in the URL (`?order_tab=History`)."""

import streamlit as st

from components.order_charts import funnel_chart, funnel_tiles, load_kpis, per_hour_chart
from components.order_detail import order_header, order_lines_table
from components.order_fixes import (
    address_fix,
    backorders_button,
    line_fixes,
    note_fix,
    return_fix,
    show_flash,
    stale_warning,
    status_actions,
)
from components.order_search_panel import results_table, search_form
from components.order_timeline import order_timeline
from components.session import require_actor
from queries.errors import DomainError
from queries.order_search import order_detail

ORDER_TABS = ["Lines", "Status", "History", "Address", "Note", "Return"]

actor = require_actor("orders")
st.title("Orders")
st.caption("Find an order, read its history, and fix it. Every change is checked, recorded and "
           "refused if someone else changed the order first.")

kpis = load_kpis(actor)
funnel_tiles(kpis["counts"], kpis["late"])
backorders_button(actor, kpis["counts"].get("pending", 0))
funnel, hourly = st.columns(2)
with funnel:
    st.markdown("**Order funnel**")
    funnel_chart(kpis["counts"])
with hourly:
    st.markdown("**Orders per hour, last 24 hours**")
    per_hour_chart(kpis["per_hour"])

st.subheader("Find orders")
filters = search_form(actor)
selected = results_table(actor, filters)

if selected:
    try:
        detail = order_detail(actor, selected)
    except DomainError as exc:
        st.error(str(exc))
        st.stop()
    order = detail["order"]
    st.divider()
    show_flash()
    order_header(order)
    stale_warning(order)
    lines_tab, status_tab, history_tab, address_tab, note_tab, return_tab = st.tabs(
        ORDER_TABS, key="order_tab", bind="query-params")
    if lines_tab.open:
        with lines_tab:
            order_lines_table(detail["lines"])
            line_fixes(actor, order, detail["lines"])
    if status_tab.open:
        with status_tab:
            status_actions(actor, order)
    if history_tab.open:
        with history_tab:
            order_timeline(detail["events"])
    if address_tab.open:
        with address_tab:
            address_fix(actor, order)
    if note_tab.open:
        with note_tab:
            note_fix(actor, order)
    if return_tab.open:
        with return_tab:
            return_fix(actor, order, detail["lines"])
