"""Search form with filters, and the results table with row selection and keyset paging."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import cached_reads
from queries import order_search
from queries.actor import Actor
from queries.customers import sees_personal_data
from queries.errors import DomainError
from queries.order_search import OrderFilters
from queries.order_states import STATUSES, label

FILTERS = "orders_filters"
PAGES = "orders_page_starts"     # cursors of the pages visited so far (None = first page)
SEARCH_NO = "orders_search_no"   # bumped per search, so the table's selection starts empty
SELECTED = "orders_selected"
ANY = "any"


def search_form(actor: Actor) -> OrderFilters:
    """The filters; submitting starts a new search from the first page."""
    with st.form("order_search", border=True):
        first = st.columns([2, 3, 2, 2, 2])
        id_prefix = first[0].text_input("Order id", key="search_id", placeholder="e.g. 3f2a9c")
        customer = first[1].text_input(
            "Customer name or email", key="search_customer",
            placeholder="starts with…, any case",
            disabled=not sees_personal_data(actor),
            help="Only support and admin may search by personal data.",
        )
        status = first[2].selectbox("Status", [ANY, *STATUSES], key="search_status",
                                    format_func=lambda s: label(s).capitalize())
        region = first[3].selectbox("Region", [ANY, *cached_reads.order_regions(actor)],
                                    key="search_region")
        sku = first[4].text_input("SKU", key="search_sku")
        second = st.columns([2, 2, 2, 6])
        created_from = second[0].date_input("Placed from", value=None, key="search_from")
        created_to = second[1].date_input("Placed until", value=None, key="search_to")
        late_only = second[2].checkbox("Late only", key="search_late")
        submitted = st.form_submit_button("Search", type="primary", key="search_submit")
    if submitted or FILTERS not in st.session_state:
        st.session_state[FILTERS] = OrderFilters(
            id_prefix=id_prefix, customer=customer or "",
            status=None if status == ANY else status, region=None if region == ANY else region,
            sku=sku, created_from=created_from, created_to=created_to, late_only=late_only,
        )
        st.session_state[PAGES] = [None]
        st.session_state[SEARCH_NO] = st.session_state.get(SEARCH_NO, 0) + 1
        if submitted:
            st.session_state[SELECTED] = None
    return st.session_state[FILTERS]


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{
        "order": row["id"][:8], "placed": row["created_at"], "status": label(row["status"]),
        "late": bool(row["late"]), "region": row["region"], "customer": row["customer_name"],
        "email": row["customer_email"], "lines": row["lines"], "units": row["units"],
        "total": float(row["total"]), "promised by": row["promised_by"],
    } for row in rows])


def results_table(actor: Actor, filters: OrderFilters) -> str | None:
    """Show one page of results; returns the id of the selected order (or None)."""
    starts = st.session_state.setdefault(PAGES, [None])
    try:
        page = order_search.search_orders(actor, filters, after=starts[-1])
    except DomainError as exc:
        st.error(str(exc))
        return st.session_state.get(SELECTED)
    if not page.rows:
        st.info("No orders match these filters.")
        return st.session_state.get(SELECTED)
    event = st.dataframe(
        _frame(page.rows), key=f"orders_table_{st.session_state.get(SEARCH_NO, 0)}_{len(starts)}",
        on_select="rerun", selection_mode="single-row", hide_index=True, width="stretch",
        height=560,
        column_config={
            "total": st.column_config.NumberColumn(format="%.2f"),
            "late": st.column_config.CheckboxColumn(),
        },
    )
    chosen = event.selection.rows if event and event.selection else []
    if chosen:
        st.session_state[SELECTED] = page.rows[chosen[0]]["id"]
    elif len(page.rows) == 1 and starts == [None]:
        st.session_state[SELECTED] = page.rows[0]["id"]
    left, middle, right = st.columns([1, 4, 1])
    if left.button("← Newer", key="orders_newer", disabled=len(starts) == 1):
        starts.pop()
        st.rerun()
    order = "most overdue first" if filters.late_only else "newest first"
    middle.caption(f"Page {len(starts)} · {len(page.rows)} orders, {order}. "
                   "Select a row to open the order.")
    if right.button("Older →", key="orders_older", disabled=page.next_after is None):
        starts.append(page.next_after)
        st.rerun()
    return st.session_state.get(SELECTED)
