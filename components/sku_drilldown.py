"""One SKU across the locations under the filters: stock and cover at each, its history, its
stock at a chosen past moment (exact from the ledger), and where to send a transfer from."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from components.cached_reads import hq_sku
from components.csv_download import table_with_csv
from components.hq_filters_bar import kind_label
from components.ledger_panel import as_of_inputs
from queries import overview
from queries.actor import Actor
from queries.errors import InvalidInput
from queries.hq_filters import HqFilters
from queries.rollups import DEMAND_DAYS
from queries.text_input import MAX_IDENTIFIER, MAX_SEARCH_TEXT, optional_text

SEARCH_KEY = "hq_sku_search"
SKU_KEY = "hq_sku"

STOCK_COLUMNS = ["location_id", "name", "kind", "region", "country", "on_hand", "reserved",
                 "available", "incoming", "reorder_point", "sold_28d", "cover_days"]
AS_OF_COLUMNS = ["location_id", "name", "region", "on_hand", "reserved", "available",
                 "incoming"]
SOURCE_COLUMNS = ["location_id", "name", "region", "available", "reorder_point", "surplus"]
COVER_CONFIG = {
    "sold_28d": st.column_config.NumberColumn(f"sold {DEMAND_DAYS} d"),
    "cover_days": st.column_config.NumberColumn("cover (days)"),
}


def pick_sku(filters: HqFilters) -> str | None:
    """A search box, then a choice among the products it finds; the URL keeps the SKU (?sku=)."""
    if SEARCH_KEY not in st.session_state:
        st.session_state[SEARCH_KEY] = filters.search or ""
        try:
            st.session_state[SKU_KEY] = optional_text(st.query_params.get("sku"), "SKU",
                                                      MAX_IDENTIFIER)
        except InvalidInput as exc:
            st.error(str(exc))
            st.session_state[SKU_KEY] = None
    search_col, pick_col = st.columns([1, 2])
    search = search_col.text_input("Find a SKU or product", key=SEARCH_KEY,
                                   max_chars=MAX_SEARCH_TEXT,
                                   placeholder="SKU prefix or words of the name")
    try:
        search = optional_text(search, "search", MAX_SEARCH_TEXT)
    except InvalidInput as exc:
        st.error(str(exc))
        search = None
    found = overview.find_products(search) if search else []
    names = {p["sku"]: f"{p['sku']} · {p['name']} ({p['category']})" for p in found}
    chosen = st.session_state.get(SKU_KEY)
    options = list(names)
    if chosen and chosen not in names:
        options.insert(0, chosen)
    sku = pick_col.selectbox("SKU", options, index=None, key=SKU_KEY,
                             format_func=lambda s: names.get(s, s),
                             placeholder="Search, then pick a SKU" if not found
                             else f"{len(found)} product(s) found: pick one")
    if sku:
        if st.query_params.get("sku") != sku:
            st.query_params["sku"] = sku
    elif "sku" in st.query_params:
        del st.query_params["sku"]
    return sku


def stock_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=STOCK_COLUMNS)
    frame["kind"] = frame["kind"].map(kind_label)
    return frame


def history_chart(history: list[dict], sku: str) -> None:
    if not history:
        st.caption("No ledger rows for this SKU here.")
        return
    frame = pd.DataFrame(history).melt(id_vars="day", value_vars=["on_hand", "available",
                                                                  "incoming"],
                                       var_name="figure", value_name="units")
    figure = px.line(frame, x="day", y="units", color="figure", line_shape="hv", markers=True,
                     labels={"day": "end of day (UTC)"})
    figure.update_layout(height=320, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    st.plotly_chart(figure, width="stretch", key="hq_sku_history")


def sku_drilldown(actor: Actor, filters: HqFilters) -> None:
    sku = pick_sku(filters)
    if not sku:
        st.info("Find a SKU or product above to see it at every location.")
        return
    label = f"sku-{sku}"
    figures = hq_sku(actor, filters, sku)
    rows = figures["stock"]
    if not rows:
        st.info(f"No location under these filters stocks {sku}.")
        return
    st.subheader(f"{sku} at each location")
    table_with_csv(stock_frame(rows), f"{label}-by-location", filters, key="csv_sku_stock",
                   column_config=COVER_CONFIG)

    st.subheader("History, last 90 days")
    history_chart(figures["history"], sku)

    st.subheader("Stock as of a past moment")
    at = as_of_inputs("hq_asof")
    then = overview.sku_stock_as_of(actor, filters, sku, at)
    st.caption(f"Rebuilt from the ledger up to {at:%Y-%m-%d %H:%M} UTC.")
    if then:
        table_with_csv(pd.DataFrame(then, columns=AS_OF_COLUMNS), f"{label}-as-of-"
                       f"{at:%Y%m%d-%H%M}", filters, key="csv_sku_as_of")
    else:
        st.caption(f"No location under these filters had a movement of {sku} by then.")

    st.subheader("Where to send a transfer from")
    sources = overview.transfer_sources(rows)
    if sources:
        table_with_csv(pd.DataFrame(sources, columns=SOURCE_COLUMNS),
                       f"{label}-transfer-sources", filters, key="csv_sku_sources")
        st.caption("Locations holding more available than their reorder point, the largest "
                   "surplus first.")
    else:
        st.caption("No location holds more than its reorder point.")
    if actor.role == "admin":
        st.page_link("pages/inventory.py", label="Ship a transfer on the Inventory page",
                     icon=":material/local_shipping:", query_params={"tab": "Transfers"})
