"""Reads the screens cache for a few seconds, keyed by who may see them: the one place with
st.cache_data over queries/.

What belongs here: reads that do not change per click and that nobody expects to see move the
moment their own form succeeds on the same page: pickers (locations, regions) and the
aggregates and charts of Overview (headquarters' page, from which nobody writes: its SKU
drill-down too) and of the Orders page. What does not: a location's stock,
its ledger, open transfers, suggestions, an order: those are read fresh on every rerun, since
people check them right after their own change.

TTL_SECONDS = 15: long enough that switching tabs, paging or moving between pages inside a few
seconds reuses the figures (a count over 1 M orders costs), short enough that a number never
lags the change stream's Live page by much more than a refresh. After a successful command,
`forget_after_write()` drops every cached read of this process, so a person's own write shows
at once on the next page they open.

Scope. Every cached function takes the database URL, the role and the regions as its
arguments (they are the cache key) and rebuilds the Actor from them alone, so a read can only
depend on what is in its key: results are never shared between roles or region sets (masking
of personal data depends on the role, row scope on the regions), and never between databases.
Users with the same role and regions share entries: their reads return the same rows.
"""

from __future__ import annotations

import time

import streamlit as st

from queries import locations, order_search, overview, rollups
from queries.actor import Actor
from queries.db import database_url
from queries.hq_filters import HqFilters

TTL_SECONDS = 15
SCOPE_USERNAME = "(cached read)"  # cached reads see the scope only, never who asked


def _scope(actor: Actor) -> tuple[str, str, tuple[str, ...]]:
    """The cache key part that says who may see a result: database, role and regions."""
    return database_url(), actor.role, tuple(sorted(actor.regions))


def _actor(role: str, regions: tuple[str, ...]) -> Actor:
    return Actor(SCOPE_USERNAME, role, regions)


def forget_after_write() -> None:
    """Drop every cached read of this module (all scopes) after a successful command, so
    nobody's own write waits out the ttl."""
    for cached in (_inventory_locations, _order_regions, _hq_choices, _hq_stock,
                   _hq_order_tiles, _hq_order_panels, _hq_sku, _order_kpis):
        cached.clear()


# ---------------------------------------------------------------- pickers


def inventory_locations(actor: Actor) -> list[dict]:
    """The Inventory page's location picker: active locations in the actor's regions."""
    return _inventory_locations(*_scope(actor))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _inventory_locations(url: str, role: str, regions: tuple[str, ...]) -> list[dict]:
    return locations.visible(_actor(role, regions))


def order_regions(actor: Actor) -> list[str]:
    """The order search form's region picker."""
    return _order_regions(*_scope(actor))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _order_regions(url: str, role: str, regions: tuple[str, ...]) -> list[str]:
    return locations.regions(_actor(role, regions))


# ---------------------------------------------------------------- Overview (headquarters)
#
# Keyed by scope and by the HqFilters (a frozen dataclass: hashed by its fields), so two people
# with the same scope and the same filters share an entry, and a filter never reuses another's.


def hq_choices(actor: Actor) -> dict[str, list[str]]:
    """The values each Overview filter offers this actor."""
    return _hq_choices(*_scope(actor))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _hq_choices(url: str, role: str, regions: tuple[str, ...]) -> dict[str, list[str]]:
    return overview.filter_choices(_actor(role, regions))


def hq_stock(actor: Actor, filters: HqFilters) -> dict:
    """Stock per location x category (overview.stock_groups: "as_of", "live", "rows") and the
    number of SKUs out of stock somewhere ("out_somewhere"), under the filters."""
    return _hq_stock(*_scope(actor), filters)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _hq_stock(url: str, role: str, regions: tuple[str, ...], filters: HqFilters) -> dict:
    actor = _actor(role, regions)
    return {**overview.stock_groups(actor, filters),
            "out_somewhere": overview.skus_out_somewhere(actor, filters)}


def hq_order_tiles(actor: Actor, filters: HqFilters) -> dict:
    """Open and late orders, orders today and the same weekday last week, under the filters."""
    return _hq_order_tiles(*_scope(actor), filters)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _hq_order_tiles(url: str, role: str, regions: tuple[str, ...], filters: HqFilters) -> dict:
    return overview.order_tiles(_actor(role, regions), filters)


def hq_order_panels(actor: Actor, filters: HqFilters) -> dict:
    """Funnel per region, orders per hour and late orders by age, under the filters."""
    return _hq_order_panels(*_scope(actor), filters)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _hq_order_panels(url: str, role: str, regions: tuple[str, ...], filters: HqFilters) -> dict:
    actor = _actor(role, regions)
    return {
        "funnel": overview.funnel_by_region(actor, filters),
        "hourly": overview.orders_per_hour(actor, filters),
        "late": overview.late_orders(actor, filters),
    }


def hq_sku(actor: Actor, filters: HqFilters, sku: str) -> dict:
    """One SKU under the filters: stock per location with cover ("stock") and the ledger
    history of the last 90 days ("history")."""
    return _hq_sku(*_scope(actor), filters, sku)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _hq_sku(url: str, role: str, regions: tuple[str, ...], filters: HqFilters,
            sku: str) -> dict:
    actor = _actor(role, regions)
    return {"stock": overview.sku_stock(actor, filters, sku),
            "history": overview.sku_history(actor, filters, sku)}


@st.cache_resource(show_spinner=False, max_entries=1, on_release=lambda k: k.stop(1.0))
def _rollup_keeper(url: str) -> rollups.RollupKeeper:
    """The one rollup refresher of this server process (for its one database; a new URL, as in
    tests, stops the previous keeper)."""
    return rollups.RollupKeeper(url).start()


ROLLUP_READY_KEY = "hq_rollup_ready"


def keep_rollup_fresh() -> None:
    """Start this process's rollup keeper (once) and, the first time a session asks, make sure
    the rollup has been built at all: a database that never had one gets it now, once, while
    the person waits (a spinner), instead of an empty page."""
    url = database_url()
    if st.session_state.get(ROLLUP_READY_KEY) != url:
        if rollups.state(url=url)["as_of"] is None:
            with st.spinner("Preparing headquarters' figures…"):
                if rollups.refresh(url=url) is None:
                    _wait_for_another_refresher(url)
            _hq_stock.clear()
        st.session_state[ROLLUP_READY_KEY] = url
    _rollup_keeper(url)


def _wait_for_another_refresher(url: str, seconds: float = 60.0) -> None:
    """Another process holds the claim and is building the rollup: wait for its as_of."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and rollups.state(url=url)["as_of"] is None:
        time.sleep(0.5)


# ---------------------------------------------------------------- Orders


def order_kpis(actor: Actor) -> dict:
    """Funnel counts, late orders and orders per hour (counting 1 M orders costs)."""
    return _order_kpis(*_scope(actor))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _order_kpis(url: str, role: str, regions: tuple[str, ...]) -> dict:
    actor = _actor(role, regions)
    return {
        "counts": order_search.status_counts(actor),
        "late": order_search.late_summary(actor)["late"],
        "per_hour": order_search.orders_per_hour(actor, hours=24),
    }
