"""The Overview's filters: region, country, location kind, category and a product search.

The URL keeps them (st.query_params, the names of HqFilters' fields), so a view can be
bookmarked and shared: a session's first run fills the widgets from the URL, and every run
writes the widgets' values back into it."""

from __future__ import annotations

import streamlit as st

from components.cached_reads import hq_choices
from queries.actor import Actor
from queries.errors import InvalidInput
from queries.hq_filters import HqFilters
from queries.text_input import MAX_SEARCH_TEXT
from queries.vocabulary import LocationKind

PICKERS = (("region", "Region"), ("country", "Country"), ("kind", "Location kind"),
           ("category", "Category"))
KEY_PREFIX = "hq_filter_"


def kind_label(kind: str) -> str:
    try:
        return LocationKind(kind).label
    except ValueError:
        return kind


def filters_bar(actor: Actor) -> HqFilters:
    """The filters bar; returns what it is set to (an over-long search is said and left out)."""
    choices = hq_choices(actor)
    _fill_from_url(choices)
    values = {}
    columns = st.columns([1, 1, 1, 1, 2])
    for column, (name, label) in zip(columns, PICKERS, strict=False):
        values[name] = column.selectbox(
            label, choices[name], index=None, placeholder="All", key=KEY_PREFIX + name,
            format_func=kind_label if name == "kind" else str)
    values["search"] = columns[-1].text_input(
        "SKU or product", key=KEY_PREFIX + "search", max_chars=MAX_SEARCH_TEXT,
        placeholder="SKU prefix or words of the product's name")
    try:
        filters = HqFilters.from_params(values)
    except InvalidInput as exc:
        st.error(str(exc))
        filters = HqFilters.from_params({**values, "search": None})
    _keep_in_url(filters)
    return filters


def _fill_from_url(choices: dict[str, list[str]]) -> None:
    """The session's first run: the widgets start from the URL (a bookmark, a shared link)."""
    if KEY_PREFIX + "search" in st.session_state:
        return
    params = st.query_params.to_dict()
    search = params.get("search", "")
    try:
        url = HqFilters.from_params(params)
    except InvalidInput:   # the search box keeps the text; the bar says why it is not used
        url = HqFilters.from_params({**params, "search": None})
    for name, label in PICKERS:
        value = getattr(url, name)
        if value is not None and value not in choices[name]:
            st.warning(f"The link's {label.lower()} “{value}” is not one you can choose, "
                       "so it is left out.")
            value = None
        st.session_state[KEY_PREFIX + name] = value
    st.session_state[KEY_PREFIX + "search"] = search


def _keep_in_url(filters: HqFilters) -> None:
    wanted = filters.as_params()
    for name in (*(name for name, _ in PICKERS), "search"):
        if name in wanted:
            if st.query_params.get(name) != wanted[name]:
                st.query_params[name] = wanted[name]
        elif name in st.query_params:
            del st.query_params[name]
